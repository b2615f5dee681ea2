"""Test Connection on the Provisioning tab against a real SCIM server (scim2-server)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.models import AuditEvent, ProvisioningJob
from provisioning.roles import ensure_roles
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    administrators, _auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="adam")
    user.groups.add(administrators)
    client.force_login(user)
    return client


def post_test_connection(client, app, tenant_url: str, token: str):
    return client.post(
        reverse("test-connection", args=[app.pk]),
        {
            "mode": "Automatic",
            "credential_tenant_url": tenant_url,
            "credential_secret_token": token,
            "deletion_threshold": "500",
            "scope": "assigned",
            "interval_minutes": "20",
            "status": "off",
        },
        HTTP_HX_REQUEST="true",
    )


def test_test_connection_succeeds_with_the_servers_url_and_token(admin_client, scim):
    app = make_application("scim", "Live SCIM")
    html = post_test_connection(admin_client, app, scim.url, scim.token).content.decode()
    assert "Testing connection succeeded." in html
    assert "The SCIM endpoint answered as expected." in html
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).credentials == {}


def test_a_blank_token_tests_with_the_stored_one(admin_client, scim):
    app = make_application("scim", "Live SCIM")
    job = app.provisioning_job
    job.credentials = {"tenant_url": scim.url, "secret_token": scim.token}
    job.save()
    html = post_test_connection(admin_client, app, scim.url, "").content.decode()
    assert "Testing connection succeeded." in html


def test_a_blank_token_never_follows_a_changed_tenant_url(admin_client, scim):
    app = make_application("scim", "Live SCIM")
    job = app.provisioning_job
    job.credentials = {"tenant_url": "https://old.example/v2", "secret_token": scim.token}
    job.save()
    html = post_test_connection(admin_client, app, scim.url, "").content.decode()
    assert "Testing connection failed." in html
    assert "Tenant URL changed: enter Secret Token again" in html


def test_a_wrong_token_fails_precisely_with_the_hint_and_saves_nothing(admin_client, scim):
    app = make_application("scim", "Live SCIM")
    html = post_test_connection(admin_client, app, scim.url, "wrong-token").content.decode()
    assert "Testing connection failed." in html
    assert "The target rejected the secret token (HTTP 401)." in html
    assert app.template.test_connection_hint in html
    assert "wrong-token" not in html
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).credentials == {}
    assert not AuditEvent.objects.filter(activity__startswith="Update").exists()
