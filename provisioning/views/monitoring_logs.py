"""Monitoring → Provisioning logs: every application's entries on one page, with an application
filter, the same details and downloads as an application's own page (F24)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from ..models import ProvisioningLogEntry
from .access import portal_page
from .provisioning_logs import detail_context, download, list_context


@portal_page
def monitoring_provisioning_logs(request: HttpRequest) -> HttpResponse:
    context = {"page_title": _("Provisioning logs"), **list_context(request, application_id=None)}
    return render(request, "provisioning/monitoring_logs.html", context)


@portal_page
def monitoring_provisioning_logs_download(request: HttpRequest) -> HttpResponse:
    return download(request, application_id=None)


@portal_page
def monitoring_provisioning_log_detail(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(ProvisioningLogEntry, pk=entry_id)
    context = {"page_title": _("Provisioning log details"), **detail_context(entry, request)}
    return render(request, "provisioning/monitoring_log_detail.html", context)
