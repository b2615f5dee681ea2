"""The home page: a summary of the directory and of the enterprise applications."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import Application, DirectoryGroup, DirectoryUser
from .access import portal_page


@portal_page
def home(request: HttpRequest) -> HttpResponse:
    applications = Application.objects.select_related("provisioning_job").order_by("name")
    return render(
        request,
        "provisioning/home.html",
        {
            "user_count": DirectoryUser.objects.alive().count(),
            "group_count": DirectoryGroup.objects.alive().count(),
            "applications": applications,
        },
    )
