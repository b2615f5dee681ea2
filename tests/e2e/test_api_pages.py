"""In Chromium: /api/v1/docs/ renders Swagger UI from the portal's own assets (no CDN) with no
console error; the API tokens page makes a token that works, is shown once, and stops working
when revoked."""

import re

import pytest
import requests

from tests.e2e.helpers import sign_in

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


def test_a_token_made_on_its_page_works_until_it_is_revoked(page, live_server, make_login):
    make_login("token.maker", "auditor")
    sign_in(page, "token.maker")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("siem-pull")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create token").click()
    plain = page.locator("#new-token").inner_text().strip()
    assert plain.startswith("ppt_")
    headers = {"Authorization": f"Bearer {plain}"}
    url = f"{live_server.url}/api/v1/audit-events/"
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    # An auditor's token only reads.
    write = requests.post(
        f"{live_server.url}/api/v1/directory/groups/",
        json={"display_name": "x"},
        headers=headers,
        timeout=10,
    )
    assert write.status_code == 403
    page.goto("/account/api-tokens/")
    assert plain not in page.content()
    row = page.get_by_test_id("api-tokens").get_by_role("row", name="siem-pull")
    assert "Never" not in row.inner_text()  # last used is shown
    row.get_by_role("button", name="Revoke siem-pull").click()
    page.get_by_text("was revoked").wait_for()
    assert requests.get(url, headers=headers, timeout=10).status_code == 401
