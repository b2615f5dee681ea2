"""Provisioning > Admin Credentials > Test Connection (F8).

Builds the connector from the values typed on the page (a blank secret means the stored one),
runs its test and shows the precise result, with the template's hint on failure. Saves nothing.
htmx swaps the result in; without JavaScript the whole tab is shown again with it.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms.provisioning import ProvisioningSettingsForm
from ..reports.audit_events import record_test_connection
from ..services.configuration import try_connection
from .access import portal_page
from .blade import get_application
from .provisioning_tab import provisioning_tab_context


def translated_hint(application) -> str:
    hint = application.template.test_connection_hint
    return _(hint) if hint else ""


@require_POST
@portal_page
def test_connection(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    job = application.provisioning_job
    form = ProvisioningSettingsForm(request.POST, job=job)
    submitted = form.credentials_input()
    result = try_connection(job, submitted)
    record_test_connection(job, request.user, submitted, result)
    if request.htmx:
        return render(
            request,
            "provisioning/partials/test_connection_result.html",
            {"test_result": result, "test_hint": translated_hint(application)},
        )
    return render(
        request,
        "provisioning/provisioning_tab.html",
        provisioning_tab_context(request, application, form, test_result=result),
    )
