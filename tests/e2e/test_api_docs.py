"""/api/v1/docs/ renders Swagger UI in Chromium from the portal's own assets (no CDN), with no
console error, and lists the API's operations."""

import re

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_render_from_local_assets(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs/")
    page.get_by_text("Provisioning Portal API").first.wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/applications/").first.wait_for()
    assert requested
    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert not outside, outside
    assert any(re.search(r"swagger-ui.*\.js", url) for url in requested)
