"""/healthz and /readyz (issue 12, item 12) and the security headers (item 9)."""

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse

from provisioning.security.encryption import ensure_sentinel
from provisioning.security.health import record_beat_heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_authentication(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_fails_until_beat_has_dispatched_then_is_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "checks": {
            "database": "ok",
            "broker": "ok",
            "beat": "failing",
            "encryption_keys": "ok",
        },
    }
    record_beat_heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_says_failing_for_a_stale_beat(client, settings):
    record_beat_heartbeat()
    settings.PROVISIONING_DISPATCH_SECONDS = 0.0  # three intervals: none
    assert client.get("/readyz").json()["checks"]["beat"] == "failing"


def test_readyz_says_failing_for_an_unreachable_broker_without_detail(client, settings):
    record_beat_heartbeat()
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "failing"
    assert "127.0.0.1" not in response.content.decode()


def test_readyz_says_failing_for_encryption_keys_that_cannot_read_the_sentinel(client, settings):
    record_beat_heartbeat()
    ensure_sentinel()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["encryption_keys"] == "failing"


def test_pages_carry_a_content_security_policy_without_inline_script(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode()


def test_health_endpoints_answer_a_host_not_in_allowed_hosts(client, settings):
    """Container health checks call http://127.0.0.1:8000/healthz whatever ALLOWED_HOSTS is."""
    settings.ALLOWED_HOSTS = ["provisioning.example.com"]
    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="127.0.0.1:8000").status_code in (200, 503)
    assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
