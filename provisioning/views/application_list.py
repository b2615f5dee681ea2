"""Enterprise applications > All applications (F4): the list, with search."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import Application
from .access import can_change, portal_page

LIST_LIMIT = 200


@portal_page
def application_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    applications = Application.objects.select_related("provisioning_job").order_by("name")
    if search:
        applications = applications.filter(name__icontains=search)
    applications = list(applications[: LIST_LIMIT + 1])
    return render(
        request,
        "provisioning/application_list.html",
        {
            "applications": applications[:LIST_LIMIT],
            "truncated": len(applications) > LIST_LIMIT,
            "search": search,
            "can_change": can_change(request.user),
        },
    )
