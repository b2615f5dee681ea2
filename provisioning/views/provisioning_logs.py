"""APP > Provisioning logs (F24): the filtered list, one entry's details and the downloads.

Filters live in the query string (the failure e-mail links here as
``…/provisioning-logs/?cycle_id=<uuid>&status=Failure``); pages are keyset pages.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from ..models import ProvisioningLogEntry
from ..reports.detail import readable_properties
from ..reports.exports import download_entries
from ..reports.filters import ProvisioningLogFilterForm, bind, select_entries
from ..reports.paging import keyset_page, query_without_cursor
from ..reports.writers import FORMATS
from .access import portal_page
from .blade import blade_context, get_application

ENTRY_FORMATS = ("csv", "zip", "json", "ndjson")


def list_context(request: HttpRequest, *, application_id: int | None) -> dict:
    tenant_wide = application_id is None
    form = bind(ProvisioningLogFilterForm, request.GET, tenant_wide=tenant_wide)
    entries = select_entries(form, application_id=application_id)
    return {
        "form": form,
        "page": keyset_page(entries, request.GET),
        "query": query_without_cursor(request.GET),
        "filtered": form.is_bound,
        "retention_days": settings.PROVISIONING_LOG_RETENTION_DAYS,
        "formats": ENTRY_FORMATS,
        "tenant_wide": tenant_wide,
    }


def download(request: HttpRequest, *, application_id: int | None) -> HttpResponse:
    kind = request.GET.get("format", "csv")
    if kind not in ENTRY_FORMATS or kind not in FORMATS:
        return HttpResponseBadRequest(_("Unknown download format."))
    form = bind(ProvisioningLogFilterForm, request.GET, tenant_wide=application_id is None)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(_("The filters are not valid."))
    return download_entries(select_entries(form, application_id=application_id), kind)


@portal_page
def provisioning_logs(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    context = blade_context(
        request,
        application,
        "provisioning-logs",
        **list_context(request, application_id=application.pk),
    )
    return render(request, "provisioning/provisioning_logs.html", context)


@portal_page
def provisioning_logs_download(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    return download(request, application_id=application.pk)


def detail_context(entry: ProvisioningLogEntry, request: HttpRequest) -> dict:
    return {
        "entry": entry,
        "steps": [step for step in (entry.steps or []) if isinstance(step, dict)],
        "properties": readable_properties(entry),
        "back_query": request.GET.urlencode(),
    }


@portal_page
def provisioning_log_detail(request: HttpRequest, application_id: int, entry_id: int):
    application = get_application(application_id)
    entry = get_object_or_404(ProvisioningLogEntry, pk=entry_id, application_id=application.pk)
    context = blade_context(
        request,
        application,
        "provisioning-logs",
        page_title=_("Provisioning log details"),
        **detail_context(entry, request),
    )
    return render(request, "provisioning/provisioning_log_detail.html", context)
