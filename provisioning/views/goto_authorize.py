"""Provisioning > Admin Credentials > Authorize (GoTo apps), and the portal's OAuth callback.

``goto_authorize`` (POST, administrators) sends the browser to GoTo's authorization endpoint
(``goto_deauthorize`` forgets the stored authorization);
``goto_authorize_callback`` (GET, where GoTo redirects back) completes the grant and returns to
the application's Provisioning tab with the outcome. Both only call
:mod:`provisioning.services.goto_authorization`.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from ..services.goto_authorization import (
    AuthorizationRefused,
    begin_authorization,
    complete_authorization,
    remove_authorization,
)
from .access import administrator_page, portal_page
from .blade import get_application


def callback_url(request: HttpRequest) -> str:
    """The redirect URI registered on GoTo's OAuth client: this portal's callback."""
    return request.build_absolute_uri(reverse("goto-authorize-callback"))


@require_POST
@portal_page
def goto_authorize(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    try:
        url = begin_authorization(request.session, application, callback_url(request))
    except AuthorizationRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("provisioning", application.pk)
    return redirect(url)


@require_POST
@portal_page
def goto_deauthorize(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    if remove_authorization(application, request.user):
        messages.success(request, _("The authorization was removed."))
    return redirect("provisioning", application.pk)


@never_cache
@require_GET
@administrator_page
def goto_authorize_callback(request: HttpRequest) -> HttpResponse:
    try:
        outcome = complete_authorization(
            request.session,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
            actor=request.user,
        )
    except AuthorizationRefused as refusal:
        return render(
            request, "provisioning/goto_authorize.html", {"refusal": str(refusal)}, status=400
        )
    messages.success(
        request,
        _("Authorized: GoTo accepted the portal for %(principal)s.")
        % {"principal": outcome.principal or "GoTo"},
    )
    return redirect("provisioning", outcome.application.pk)
