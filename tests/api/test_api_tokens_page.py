"""The API tokens page under the user menu: create with a name and an expiry, shown once, stored
hashed, revoke, last used."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from provisioning.models import ApiToken
from provisioning.models.api_tokens import hash_token
from tests.api.conftest import make_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    user = make_login("tokens.admin", "admin")
    client.force_login(user)
    client.user = user
    return client


def test_the_user_menu_links_to_the_tokens_page(signed_in):
    assert 'href="/account/api-tokens/"' in signed_in.get("/").content.decode()


def test_a_new_token_is_shown_once_stored_hashed_and_works(signed_in):
    page = signed_in.post("/account/api-tokens/", {"name": "backup", "expires_in_days": "30"})
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    plain = re.search(r'<code id="new-token">([^<]+)</code>', page.content.decode()).group(1)
    token = ApiToken.objects.get(user=signed_in.user, name="backup")
    assert token.digest == hash_token(plain) and plain not in (token.digest, token.prefix)
    assert 29 <= (token.expires_at - token.created_at).days <= 30
    again = signed_in.get("/account/api-tokens/").content.decode()
    assert plain not in again and "backup" in again and "Never" in again
    response = signed_in.get(
        "/api/v1/applications/", HTTP_AUTHORIZATION=f"Bearer {plain}", HTTP_COOKIE=""
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_duplicate_name_is_refused(signed_in):
    signed_in.post("/account/api-tokens/", {"name": "ci", "expires_in_days": "7"})
    page = signed_in.post("/account/api-tokens/", {"name": "ci", "expires_in_days": "7"})
    assert "already have a token" in page.content.decode()
    assert ApiToken.objects.filter(name="ci").count() == 1


def test_revoking_a_token_refuses_it_at_once(signed_in):
    token, plain = ApiToken.issue(signed_in.user, "old", timezone.now() + timedelta(days=1))
    response = signed_in.post(f"/account/api-tokens/{token.pk}/revoke/", follow=True)
    assert "was revoked" in response.content.decode()
    assert "Revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert api.get("/api/v1/applications/").status_code == 401


def test_only_the_owner_can_revoke(signed_in):
    other = make_login("someone.else", "admin")
    token, _plain = ApiToken.issue(other, "theirs", timezone.now() + timedelta(days=1))
    response = signed_in.post(f"/account/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_users_without_a_role_get_no_tokens(client):
    client.force_login(make_login("nobody", None))
    assert client.get("/account/api-tokens/").status_code == 403
    assert (
        client.post("/account/api-tokens/", {"name": "x", "expires_in_days": "7"}).status_code
        == 403
    )
    assert not ApiToken.objects.exists()
