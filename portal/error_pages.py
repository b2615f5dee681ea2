"""The portal's own 404 and 500 pages, also while ``DEBUG`` is on (issue 15).

With ``DEBUG`` off Django renders ``templates/404.html`` and ``templates/500.html`` itself. With
``DEBUG`` on (``make run``'s default) it shows its technical pages instead: a settings dump and a
traceback that an administrator trying the portal should never meet. This middleware renders the
portal's pages in that case too; a developer who wants Django's pages sets ``DEBUG_ERROR_PAGES=true``.
Exceptions are still logged, with their traceback, by the ``django.request`` logger.
"""

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader
from django.urls import Resolver404, resolve

logger = logging.getLogger("django.request")


def render_not_found(request: HttpRequest) -> HttpResponse:
    content = loader.render_to_string("404.html", {"request_path": request.path}, request)
    return HttpResponse(content, status=404)


def render_server_error(request: HttpRequest) -> HttpResponse:
    # No request context: the failure may lie in whatever a context processor needs.
    return HttpResponse(loader.render_to_string("500.html"), status=500)


class PortalErrorPagesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def active() -> bool:
        return settings.DEBUG and not settings.DEBUG_ERROR_PAGES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.active():
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404:
                # CommonMiddleware (outside this one) still adds a missing slash.
                return render_not_found(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not self.active():
            return None
        if isinstance(exception, Http404):
            return render_not_found(request)
        from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation

        if isinstance(exception, PermissionDenied | BadRequest | SuspiciousOperation):
            return None  # Django renders 403.html / 400 itself, DEBUG or not
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=exception,
            extra={"status_code": 500, "request": request},
        )
        return render_server_error(request)
