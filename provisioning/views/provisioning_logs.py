"""APP > Provisioning logs (F24): the filtered list and one entry's details.

The notification e-mails link here as ``…/provisioning-logs/?cycle_id=<uuid>&status=Failure``.
"""

import uuid

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from ..forms.logs import ProvisioningLogFilterForm
from ..models import ProvisioningLogEntry
from .access import portal_page
from .blade import blade_context, get_application
from .paging import paginate, query_without_page


@portal_page
def provisioning_logs(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    form = ProvisioningLogFilterForm(request.GET or None)
    entries = ProvisioningLogEntry.objects.filter(application_id=application.pk)
    valid = form.is_valid() if form.is_bound else True
    if form.is_bound and valid:
        data = form.cleaned_data
        if data.get("cycle_id"):
            entries = entries.filter(cycle_id=data["cycle_id"])
        if data.get("status"):
            entries = entries.filter(status=data["status"])
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("identity"):
            text = data["identity"].strip()
            match = Q(source_display__icontains=text) | Q(target_id=text)
            object_id = _as_uuid(text)
            if object_id is not None:
                match |= Q(source_id=object_id) | Q(change_id=object_id)
            entries = entries.filter(match)
    page = (
        paginate(entries.order_by("-created_at", "-id"), request)
        if valid
        else paginate(entries.none(), request)
    )
    context = blade_context(
        request,
        application,
        "provisioning-logs",
        form=form if form.is_bound else ProvisioningLogFilterForm(),
        page=page,
        query=query_without_page(request),
        filtered=form.is_bound,
    )
    return render(request, "provisioning/provisioning_logs.html", context)


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@portal_page
def provisioning_log_detail(request: HttpRequest, application_id: int, entry_id: int):
    application = get_application(application_id)
    entry = get_object_or_404(ProvisioningLogEntry, pk=entry_id, application_id=application.pk)
    steps = [step for step in (entry.steps or []) if isinstance(step, dict)]
    context = blade_context(
        request,
        application,
        "provisioning-logs",
        page_title=_("Provisioning log details"),
        entry=entry,
        steps=steps,
        back_query=request.GET.urlencode(),
    )
    return render(request, "provisioning/provisioning_log_detail.html", context)
