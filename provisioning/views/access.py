"""Who may see and change what (F27), for every portal page.

Provisioning administrators change things; auditors read everything except secrets. Any request
that is not a read (GET, HEAD, OPTIONS) needs an administrator, so every POST of an auditor is
refused with 403 whatever the page. Signed-in users in neither role see nothing.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from ..roles import is_administrator, is_auditor

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def can_read(user) -> bool:
    return is_administrator(user) or is_auditor(user)


def can_change(user) -> bool:
    return is_administrator(user)


def sign_in_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``login_required``, except that an htmx request (a polling fragment whose session
    expired) sends the whole page to the sign-in page instead of swapping it into a fragment."""
    protected = login_required(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if getattr(request, "htmx", False) and not request.user.is_authenticated:
            page = request.htmx.current_url_abs_path or request.get_full_path()
            login = redirect_to_login(page, resolve_url(settings.LOGIN_URL))
            return HttpResponseClientRedirect(login["Location"])
        return protected(request, *args, **kwargs)

    return wrapped


def portal_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required; readers may GET; only administrators may POST."""

    @sign_in_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_read(request.user):
            raise PermissionDenied
        if request.method not in READ_METHODS and not can_change(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def administrator_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page that exists only to change something (a form): administrators only, even to GET."""

    @sign_in_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_change(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
