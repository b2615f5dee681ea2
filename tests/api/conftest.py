"""Fixtures of the REST API tests: logins in each role, their API tokens, and clients that send
them as ``Authorization: Bearer``."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from provisioning.models import ApiToken
from provisioning.roles import ensure_roles


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Throttle counts live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def make_login(username: str, role: str | None):
    administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username=username, password="pw-" + username)
    if role == "admin":
        user.groups.add(administrators)
    elif role == "auditor":
        user.groups.add(auditors)
    return user


def token_client(user, name: str = "script", *, expires_in=timedelta(days=30)):
    token, plain = ApiToken.issue(user, name, timezone.now() + expires_in)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    client.token = token
    client.plain = plain
    return client


@pytest.fixture
def admin_user(db):
    return make_login("ada.admin", "admin")


@pytest.fixture
def auditor_user(db):
    return make_login("alan.auditor", "auditor")


@pytest.fixture
def admin_api(admin_user):
    return token_client(admin_user, "deploy-script")


@pytest.fixture
def auditor_api(auditor_user):
    return token_client(auditor_user, "siem-pull")


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error shape: {"error": {"code", "message", "details": [...]}}."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["details"], list)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
