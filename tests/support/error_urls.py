"""A URLconf for tests: the portal's, plus a view that fails."""

from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


def failing_view(request):
    raise RuntimeError("boom: secret-value-must-not-show")


urlpatterns = [path("test-failure/", failing_view), *portal_urlpatterns]
