"""APP > Provisioning (F7–F10, F12–F14): mode, admin credentials, mappings, settings, status and
the synchronization details. Administrators get the form; auditors a read-only summary without
any credential value."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ..choices import ProvisioningMode
from ..connectors.base import ConnectionTestResult
from ..connectors.goto_settings import goto_settings
from ..forms.provisioning import ProvisioningSettingsForm
from ..models import Application
from ..services.configuration import (
    connection_check_needed,
    save_provisioning_settings,
    try_connection,
)
from ..services.operations import OperationRefused
from .access import can_change, portal_page
from .blade import blade_context, get_application
from .sync_details import sync_details_context


@portal_page
def provisioning_tab(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    job = application.provisioning_job
    form = None
    if request.method == "POST":
        form = ProvisioningSettingsForm(request.POST, job=job)
        if form.is_valid():
            values = form.settings()
            failed_test = None
            if connection_check_needed(job, values):
                result = try_connection(job, values.credentials)
                failed_test = None if result.ok else result
            if failed_test is not None and not form.cleaned_data.get("save_anyway"):
                # Warn before saving (Azure tests the credentials on save); nothing is saved.
                form.ask_to_save_anyway()
                return render_tab(
                    request,
                    form,
                    provisioning_tab_context(request, application, form, test_result=failed_test),
                )
            warning = (
                _("Saved although Test Connection failed: %(message)s")
                % {"message": failed_test.message}
                if failed_test is not None
                else ""
            )
            try:
                outcome = save_provisioning_settings(
                    job, values, actor=request.user, connection_warning=warning
                )
            except OperationRefused as refusal:
                # In Manual mode the Settings section (with the status) is hidden.
                manual = values.mode == ProvisioningMode.MANUAL
                form.add_error(None if manual else "status", str(refusal))
            else:
                if outcome.changed:
                    messages.success(request, _("Your changes have been saved."))
                else:
                    messages.info(request, _("There were no changes to save."))
                if warning:
                    messages.warning(request, warning)
                return redirect("provisioning", application.pk)
    elif can_change(request.user):
        form = ProvisioningSettingsForm(job=job)
    return render_tab(request, form, provisioning_tab_context(request, application, form))


def render_tab(request: HttpRequest, form, context: dict) -> HttpResponse:
    """Render the tab. Its Authorize button (GoTo) posts to the portal, which redirects to GoTo's
    authorization endpoint: the Content-Security-Policy's ``form-action`` must allow that origin
    on this page, or the browser blocks the redirect."""
    response = render(request, "provisioning/provisioning_tab.html", context)
    if form is not None and getattr(form, "authorize_field", None) is not None:
        parts = urlsplit(goto_settings().authorize_url)
        if parts.scheme in ("https", "http") and parts.netloc:
            response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    return response


def provisioning_tab_context(
    request: HttpRequest,
    application: Application,
    form: ProvisioningSettingsForm | None,
    test_result: ConnectionTestResult | None = None,
) -> dict:
    job = application.provisioning_job
    template = application.template
    # Users first: the tutorial's step 9 opens "Synchronize … Users to APP".
    mappings = job.mappings.annotate(attribute_count=Count("attributes")).order_by("-object_type")
    credentials = [
        {
            "label": _(field.label),
            "secret": field.secret,
            "stored": bool(job.credentials.get(field.name)),
            # Only non-secret values (a tenant URL, an admin user name) are ever rendered.
            "value": "" if field.secret else job.credentials.get(field.name, ""),
        }
        for field in template.credential_fields
    ]
    return blade_context(
        request,
        application,
        "provisioning",
        form=form,
        mappings=mappings,
        credential_summary=credentials,
        test_result=test_result,
        test_hint=_(template.test_connection_hint) if template.test_connection_hint else "",
        **sync_details_context(application),
    )
