"""APP > Overview: the application's properties and a provisioning summary."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .access import portal_page
from .blade import blade_context, get_application
from .sync_details import sync_details_context


@portal_page
def overview(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    assignments = application.assignments.select_related("role")
    context = blade_context(
        request,
        application,
        "overview",
        assignment_count=assignments.count(),
        invalid_assignment_count=assignments.filter(role__is_default_access=True).count(),
        **sync_details_context(application),
    )
    return render(request, "provisioning/overview.html", context)
