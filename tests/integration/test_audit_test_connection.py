"""Test Connection is audited (F25, issue 11): who, when, against which URL, and the result —
against a real SCIM server; the secret never reaches the audit log."""

import json

import pytest

from provisioning.choices import AuditActivity
from provisioning.models import AuditEvent
from tests.factories import make_application
from tests.integration.test_pages_provisioning import admin_client, post_test_connection  # noqa

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("token_ok", "result"), [(True, "Success"), (False, "Failure")])
def test_test_connection_writes_who_when_url_and_result(admin_client, scim, token_ok, result):  # noqa: F811
    app = make_application("scim", "Audited SCIM")
    token = scim.token if token_ok else "wrong-token-123"
    post_test_connection(admin_client, app, scim.url, token)

    event = AuditEvent.objects.get(activity=AuditActivity.TEST_CONNECTION)
    assert event.actor_name == "adam" and event.created_at is not None
    assert event.application_id == app.pk and event.target == scim.url
    assert event.after["result"] == result and event.after["tenant_url"] == scim.url
    stored = json.dumps([event.before, event.after, event.target])
    assert token not in stored and "secret_token" not in event.after
