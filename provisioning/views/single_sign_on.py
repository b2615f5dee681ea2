"""APP > Single sign-on: configured independently of provisioning (not part of this portal)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .access import portal_page
from .blade import blade_context, get_application


@portal_page
def single_sign_on(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    return render(
        request,
        "provisioning/single_sign_on.html",
        blade_context(request, application, "single-sign-on"),
    )
