"""GoTo's Authorize step in Chromium (issue 17): the Provisioning tab's Authorize button sends
the administrator to the fake GoTo's sign-in and consent page (built from GoTo's documentation;
not GoTo), which redirects back to the portal's own callback; the refresh token is stored, the
tab shows who authorized and when, and Test Connection succeeds with it."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from provisioning.models import ProvisioningJob
from provisioning.services.applications import add_application
from tests.e2e.helpers import sign_in
from tests.fakes.goto_api import FAKE_ADMIN_EMAIL, FAKE_ADMIN_PASSWORD

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_authorize_round_trip_then_test_connection_succeeds(
    page, live_server, goto, make_login, screenshot
):
    goto.register_redirect_uri(f"{live_server.url}/goto/authorize/callback/")
    make_login("alex", "admin")
    application = add_application("gotomeeting", f"Contoso GoTo {uuid.uuid4().hex[:4]}")
    sign_in(page, "alex")
    page.goto(f"/apps/{application.pk}/provisioning/")
    page.get_by_label("Provisioning Mode").select_option("Automatic")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("authorization-status")).to_have_text("Not authorized yet.")

    page.get_by_role("button", name="Authorize", exact=True).click()

    # GoTo's (fake) sign-in and consent page, on GoTo's host.
    expect(page.get_by_role("heading", name="Sign in to GoTo")).to_be_visible()
    assert page.url.startswith(goto.authorize_url)
    assert "code_challenge=" in page.url and "state=" in page.url
    page.get_by_label("Email").fill(FAKE_ADMIN_EMAIL)
    page.get_by_label("Password").fill(FAKE_ADMIN_PASSWORD)
    screenshot(page, "goto-consent")
    page.get_by_role("button", name="Allow").click()

    # Back on the portal's Provisioning tab, through its own callback.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Provisioning")
    assert page.url.startswith(live_server.url)
    status = page.get_by_test_id("authorization-status")
    expect(status).to_contain_text("Authorized by alex on")
    expect(status).to_contain_text(FAKE_ADMIN_EMAIL)
    job = ProvisioningJob.objects.get(application=application)
    refresh_token = job.credentials["refresh_token"]
    assert goto.refresh_token_valid(refresh_token)
    assert refresh_token not in page.content()

    page.get_by_role("button", name="Test Connection").click()
    result = page.get_by_test_id("test-connection-result")
    expect(result).to_contain_text("Testing connection succeeded.")
    expect(result).to_contain_text("the Authorize step")
    screenshot(page, "goto-authorized")
