"""The home page: a summary of the directory and of the enterprise applications."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import Application, DirectoryGroup, DirectoryUser


@login_required
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
