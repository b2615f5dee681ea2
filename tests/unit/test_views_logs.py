"""Provisioning logs (F24) and audit logs (F25) of one application."""

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import AuditActivity, LogAction, LogStatus, ObjectType
from provisioning.models import ProvisioningLogEntry
from provisioning.roles import ensure_roles
from provisioning.services.audit import record_audit
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(client):
    _administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="audrey")
    user.groups.add(auditors)
    client.force_login(user)
    return user


@pytest.fixture
def app():
    return make_application("scim", "Contoso SCIM")


def entry(app, *, cycle_id=None, status=LogStatus.SUCCESS, action=LogAction.CREATE, who="ada"):
    return ProvisioningLogEntry.objects.create(
        created_at=timezone.now(),
        job=app.provisioning_job,
        application_id=app.pk,
        application_name=app.name,
        cycle_id=cycle_id,
        object_type=ObjectType.USER,
        source_id=uuid.uuid4(),
        source_display=f"{who}@contoso.example",
        target_id=f"target-{who}",
        action=action,
        status=status,
        reason="The target refused the request (HTTP 400)." if status == "Failure" else "",
        steps=[
            {"name": "Import", "status": "Success", "detail": "Imported from the directory"},
            {"name": "Scope", "status": "Success", "detail": "Assigned with role User"},
            {"name": "Match", "status": "Success", "detail": "No match on userName"},
            {"name": "Action", "status": status, "detail": "POST /Users"},
        ],
        modified_properties=[{"name": "displayName", "old": None, "new": "Ada Lin"}],
    )


def logs_url(app):
    return reverse("provisioning-logs", args=[app.pk])


def test_the_notification_link_filters_one_cycles_failures(auditor, client, app):
    cycle = uuid.uuid4()
    entry(app, cycle_id=cycle, status=LogStatus.FAILURE, who="failed")
    entry(app, cycle_id=cycle, status=LogStatus.SUCCESS, who="fine")
    entry(app, cycle_id=uuid.uuid4(), status=LogStatus.FAILURE, who="othercycle")
    response = client.get(logs_url(app) + f"?cycle_id={cycle}&status=Failure")
    html = response.content.decode()
    assert response.status_code == 200
    assert "failed@contoso.example" in html
    assert "fine@contoso.example" not in html and "othercycle@contoso.example" not in html
    assert "The target refused the request (HTTP 400)." in html


def test_the_logs_filter_by_action_and_identity(auditor, client, app):
    entry(app, action=LogAction.CREATE, who="created")
    entry(app, action=LogAction.DISABLE, who="disabled")
    html = client.get(logs_url(app) + "?action=Disable").content.decode()
    assert "disabled@contoso.example" in html and "created@contoso.example" not in html
    html = client.get(logs_url(app) + "?identity=created").content.decode()
    assert "created@contoso.example" in html and "disabled@contoso.example" not in html


def test_the_logs_show_only_this_applications_entries(auditor, client, app):
    other = make_application("scim", "Other app")
    entry(other, who="elsewhere")
    entry(app, who="here")
    html = client.get(logs_url(app)).content.decode()
    assert "here@contoso.example" in html and "elsewhere@contoso.example" not in html


def test_a_malformed_cycle_id_is_a_filter_error(auditor, client, app):
    entry(app, who="someone")
    html = client.get(logs_url(app) + "?cycle_id=nope").content.decode()
    assert "Enter a valid UUID." in html and "someone@contoso.example" not in html


def test_the_logs_page_in_pages_without_counting(auditor, client, app):
    now = timezone.now()
    ProvisioningLogEntry.objects.bulk_create(
        ProvisioningLogEntry(
            created_at=now - timedelta(seconds=i),
            application_id=app.pk,
            application_name=app.name,
            object_type=ObjectType.USER,
            source_display=f"user{i:03}@contoso.example",
            action=LogAction.CREATE,
            status=LogStatus.SUCCESS,
        )
        for i in range(60)
    )
    first = client.get(logs_url(app) + "?status=Success").content.decode()
    assert "user000@contoso.example" in first and "user055@contoso.example" not in first
    # Keyset pages: the next link carries the filters and the key of the last row, no page number.
    next_link = re.search(r'href="\?([^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "status=Success" in next_link and "after=" in next_link and "page=" not in next_link
    second = client.get(logs_url(app) + "?" + next_link).content.decode()
    assert "user055@contoso.example" in second and "user000@contoso.example" not in second
    assert 'rel="next"' not in second
    back = re.search(r'href="\?([^"]*)" rel="prev"', second).group(1).replace("&amp;", "&")
    again = client.get(logs_url(app) + "?" + back).content.decode()
    assert "user000@contoso.example" in again and "user049@contoso.example" in again
    assert "user050@contoso.example" not in again


def test_the_detail_shows_steps_and_modified_properties(auditor, client, app):
    item = entry(app, status=LogStatus.FAILURE, who="ada")
    html = client.get(reverse("provisioning-log-detail", args=[app.pk, item.pk])).content.decode()
    for text in (
        "Import",
        "Determine if in scope",
        "Match between source and target system",
        "Perform action",
        "POST /Users",
        "displayName",
        "Ada Lin",
        str(item.change_id),
        "target-ada",
    ):
        assert text in html, text


def test_the_detail_of_another_applications_entry_is_404(auditor, client, app):
    other = make_application("scim", "Other app")
    item = entry(other)
    assert client.get(reverse("provisioning-log-detail", args=[app.pk, item.pk])).status_code == 404


def test_the_audit_log_shows_who_did_what_with_redacted_values(auditor, client, app):
    record_audit(
        AuditActivity.UPDATE_SETTINGS,
        actor="adam",
        application=app,
        target=app.name,
        before={"credentials": {"secret_token": "old-secret"}, "interval_minutes": 20},
        after={"credentials": {"secret_token": "new-secret"}, "interval_minutes": 30},
    )
    html = client.get(reverse("audit-logs", args=[app.pk])).content.decode()
    assert "Update provisioning setting or credentials" in html and "adam" in html
    assert "••••" in html and "interval_minutes" in html
    assert "old-secret" not in html and "new-secret" not in html


def test_the_audit_log_filters_by_activity(auditor, client, app):
    record_audit(AuditActivity.RESTART, actor="adam", application=app, target="restarted-it")
    record_audit(AuditActivity.ALLOW_DELETES, actor="adam", application=app, target="allowed-it")
    html = client.get(
        reverse("audit-logs", args=[app.pk]) + "?activity=Allow+deletes"
    ).content.decode()
    assert "allowed-it" in html and "restarted-it" not in html
