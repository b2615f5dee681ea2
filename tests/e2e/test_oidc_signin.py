"""OpenID Connect sign-in (issue 12, item 7), end to end in Chromium against a real OpenID
Provider on loopback (panva's certified ``oidc-provider``, tests/support/oidc_provider/): the
group claim gives the role, no group gives no access, local accounts still work."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from provisioning.models import ExternalIdentity
from provisioning.roles import ADMINISTRATORS, AUDITORS
from tests.e2e.helpers import E2E_PASSWORD, sign_in
from tests.support.oidc import start_openid_provider

ACCOUNTS = {
    "alice": {"email": "alice@contoso.example", "name": "Alice Admin", "groups": ["it-admins"]},
    "bob": {"email": "bob@contoso.example", "name": "Bob Auditor", "groups": ["auditors"]},
    "carol": {"email": "carol@contoso.example", "name": "Carol", "groups": ["sales"]},
    # Same name and address as the local administrator: must not become that account.
    "admin": {
        "email": "admin@contoso.example",
        "name": "Not the local admin",
        "groups": ["auditors"],
    },
}


@pytest.fixture
def provider(live_server, settings):
    started = start_openid_provider(f"{live_server.url}/oidc/callback/", ACCOUNTS)
    for name, value in started.settings.items():
        setattr(settings, name, value)
    settings.OIDC_ENABLED = True
    settings.OIDC_ADMINISTRATOR_GROUPS = ["it-admins"]
    settings.OIDC_AUDITOR_GROUPS = ["auditors"]
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "provisioning.security.oidc.PortalOIDCBackend",
    ]
    yield started
    started.stop()


def portal_errors(console_errors, live_server) -> list[str]:
    """Console errors of the portal's pages (the provider's dev pages load web fonts)."""
    origin = urlsplit(live_server.url).netloc
    return [error for error in console_errors if origin in error]


def sign_in_with_provider(page, login: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Sign in with your organisation").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


@pytest.fixture
def oidc_page(browser, live_server, console_errors):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("console", console_errors.record_console)
    yield page
    context.close()
    assert portal_errors(console_errors, live_server) == []


def test_an_administrators_group_member_signs_in_as_a_provisioning_administrator(
    provider, oidc_page
):
    sign_in_with_provider(oidc_page, "alice")
    oidc_page.get_by_role("heading", name="Home", exact=True).wait_for()
    user = ExternalIdentity.objects.get(subject="alice", issuer=provider.issuer).user
    assert user.username == "alice"
    assert list(user.groups.values_list("name", flat=True)) == [ADMINISTRATORS]
    assert not user.has_usable_password() and not user.is_staff


def test_an_auditors_group_member_signs_in_as_an_auditor(provider, oidc_page):
    sign_in_with_provider(oidc_page, "bob")
    oidc_page.get_by_role("heading", name="Home", exact=True).wait_for()
    user = ExternalIdentity.objects.get(subject="bob").user
    assert list(user.groups.values_list("name", flat=True)) == [AUDITORS]


def test_no_group_claim_no_access(provider, oidc_page):
    sign_in_with_provider(oidc_page, "carol")
    oidc_page.get_by_test_id("oidc-refused").wait_for()
    assert (
        "administrators or auditors group" in oidc_page.get_by_test_id("oidc-refused").inner_text()
    )
    assert not ExternalIdentity.objects.filter(subject="carol").exists()
    assert not get_user_model().objects.filter(email="carol@contoso.example").exists()


def test_a_provider_account_never_takes_over_a_local_account_and_local_sign_in_works(
    provider, oidc_page, make_login
):
    local = make_login("admin", "admin")
    sign_in_with_provider(oidc_page, "admin")
    oidc_page.get_by_role("heading", name="Home", exact=True).wait_for()
    linked = ExternalIdentity.objects.get(subject="admin").user
    assert linked.pk != local.pk and linked.username.startswith("admin~")
    assert list(linked.groups.values_list("name", flat=True)) == [AUDITORS]
    local.refresh_from_db()
    assert local.groups.filter(name=ADMINISTRATORS).exists()

    oidc_page.context.clear_cookies()
    sign_in(oidc_page, "admin", E2E_PASSWORD)
