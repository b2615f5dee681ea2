"""Audit logs (F25): who changed what and when, and through what; before/after already redacted.

One application's events on its blade, every event under Monitoring → Audit logs; filters (date
range, activity, actor, application) in the query string, keyset pages, CSV/JSON downloads.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from ..reports.exports import download_events
from ..reports.filters import AuditLogFilterForm, bind, select_events
from ..reports.paging import keyset_page, query_without_cursor
from .access import portal_page
from .blade import blade_context, get_application

EVENT_FORMATS = ("csv", "json", "ndjson")


def _list_context(request: HttpRequest, *, application_id: int | None) -> dict:
    form = bind(AuditLogFilterForm, request.GET, tenant_wide=application_id is None)
    events = select_events(form, application_id=application_id).select_related("actor")
    return {
        "form": form,
        "page": keyset_page(events, request.GET),
        "query": query_without_cursor(request.GET),
        "filtered": form.is_bound,
        "formats": EVENT_FORMATS,
        "tenant_wide": application_id is None,
    }


def _download(request: HttpRequest, *, application_id: int | None) -> HttpResponse:
    kind = request.GET.get("format", "csv")
    if kind not in EVENT_FORMATS:
        return HttpResponseBadRequest(_("Unknown download format."))
    form = bind(AuditLogFilterForm, request.GET, tenant_wide=application_id is None)
    if form.is_bound and not form.is_valid():
        return HttpResponseBadRequest(_("The filters are not valid."))
    return download_events(select_events(form, application_id=application_id), kind)


@portal_page
def audit_logs(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    context = blade_context(
        request, application, "audit-logs", **_list_context(request, application_id=application.pk)
    )
    return render(request, "provisioning/audit_logs.html", context)


@portal_page
def audit_logs_download(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    return _download(request, application_id=application.pk)


@portal_page
def monitoring_audit_logs(request: HttpRequest) -> HttpResponse:
    context = {"page_title": _("Audit logs"), **_list_context(request, application_id=None)}
    return render(request, "provisioning/monitoring_audit_logs.html", context)


@portal_page
def monitoring_audit_logs_download(request: HttpRequest) -> HttpResponse:
    return _download(request, application_id=None)
