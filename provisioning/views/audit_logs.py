"""APP > Audit logs (F25): who changed what and when, before/after already redacted."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..forms.logs import AuditLogFilterForm
from ..models import AuditEvent
from .access import portal_page
from .blade import blade_context, get_application
from .paging import paginate, query_without_page


@portal_page
def audit_logs(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    form = AuditLogFilterForm(request.GET or None)
    events = AuditEvent.objects.filter(application_id=application.pk)
    if form.is_bound and form.is_valid() and form.cleaned_data.get("activity"):
        events = events.filter(activity=form.cleaned_data["activity"])
    page = paginate(events.select_related("actor").order_by("-created_at", "-id"), request)
    context = blade_context(
        request,
        application,
        "audit-logs",
        form=form if form.is_bound else AuditLogFilterForm(),
        page=page,
        query=query_without_page(request),
    )
    return render(request, "provisioning/audit_logs.html", context)
