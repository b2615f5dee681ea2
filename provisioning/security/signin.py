"""Sign-in throttling, its page and the record of failed sign-ins (issue 12).

django-axes counts failed sign-ins per user name and per client address and locks either out
for ``AXES_COOLOFF_TIME`` after ``AXES_FAILURE_LIMIT`` failures. Every failure is logged (the
user name escaped, so a crafted name cannot forge a log line) and written to the audit log;
a lockout is audited too. The locked-out page is the sign-in page saying for how long.
"""

import logging
import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address, get_cool_off
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.dispatch import receiver
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

logger = logging.getLogger("provisioning.signin")


class ThrottledSignInBackend(AxesStandaloneBackend):
    """django-axes' check before the password backends.

    Sign-ins over HTTP always carry the request; ``authenticate()`` called without one (a shell,
    ``Client.login`` in tests) is not a sign-in attempt from an address, so it is not counted.
    """

    def authenticate(self, request=None, *args, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def _address(request) -> str:
    if request is None:
        return ""
    try:
        return get_client_ip_address(request) or ""
    except Exception:  # an unparsable forwarded header must not turn a failure into a 500
        return request.META.get("REMOTE_ADDR", "")


def _lockout_minutes(request) -> int:
    cool_off = get_cool_off(request)
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


def _record(activity_after: dict, username: str) -> None:
    from ..choices import AuditActivity
    from ..services.audit import record_audit

    record_audit(
        AuditActivity.FAILED_SIGN_IN,
        target=username[:150],
        after=activity_after,
        channel="sign-in",
    )


@receiver(user_login_failed)
def record_failed_sign_in(sender, credentials=None, request=None, **kwargs) -> None:
    username = str((credentials or {}).get("username") or "")
    address = _address(request)
    # django-axes marks the attempt that locks out, and those refused during a lockout, before
    # this receiver runs: logged, not audited one by one (the lockout is audited once), so a
    # locked-out attacker cannot flood the audit log.
    during_lockout = bool(getattr(request, "axes_locked_out", False))
    logger.warning(
        "Failed sign-in for user name %r from %s%s",
        username[:150],
        address or "?",
        " (locked out)" if during_lockout else "",
    )
    if not during_lockout:
        _record({"username": username[:150], "address": address}, username)


@receiver(user_locked_out)
def record_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    username = str(username or "")
    if _lockout_recorded(username, ip_address or ""):
        return  # recorded when it began; django-axes signals again for every refused attempt
    logger.warning(
        "Sign-in locked out for user name %r from %s after %d failures",
        username[:150],
        ip_address or "?",
        settings.AXES_FAILURE_LIMIT,
    )
    _record(
        {
            "username": username[:150],
            "address": ip_address or "",
            "locked_out": True,
            "failures": settings.AXES_FAILURE_LIMIT,
        },
        username,
    )


def _lockout_recorded(username: str, address: str) -> bool:
    """A lockout of this user name and address is already in the audit log, within the
    cool-off time."""
    from datetime import timedelta

    from django.utils import timezone

    from ..choices import AuditActivity
    from ..models import AuditEvent

    hours = float(getattr(settings, "AXES_COOLOFF_TIME", 0) or 0)
    since = timezone.now() - timedelta(hours=hours or 24)
    return AuditEvent.objects.filter(
        activity=AuditActivity.FAILED_SIGN_IN,
        created_at__gte=since,
        after__locked_out=True,
        after__username=username[:150],
        after__address=address,
    ).exists()


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page with the reason and how long the lockout lasts (HTTP 429)."""
    minutes = _lockout_minutes(request)
    message = ngettext(
        "Too many failed sign-ins: this account or address is locked for %(minutes)d minute.",
        "Too many failed sign-ins: this account or address is locked for %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    if not minutes:
        message = _("Too many failed sign-ins: this account or address is locked.")
    return render(
        request,
        "registration/login.html",
        {"locked_message": message, "next": request.POST.get("next", "")},
        status=429,
    )


class PortalLoginView(LoginView):
    """Django's sign-in page, plus "Sign in with your organisation" when OpenID Connect is
    configured, and why a provider sign-in was refused."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["oidc_enabled"] = getattr(settings, "OIDC_ENABLED", False)
        if self.request.GET.get("oidc") == "refused":
            context["oidc_refused"] = _(
                "Your organisation's sign-in did not give access to the portal: your account "
                "must be in an administrators or auditors group."
            )
        return context
