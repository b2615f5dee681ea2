"""``/favicon.ico``: browsers ask for it whatever the page's ``<link rel="icon">`` says."""

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@require_safe
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    path = finders.find("img/favicon.ico") or (settings.STATIC_ROOT / "img" / "favicon.ico")
    try:
        with open(path, "rb") as icon:
            return HttpResponse(icon.read(), content_type="image/x-icon")
    except OSError as missing:
        raise Http404 from missing
