"""The audit log (F25, issue 11): append-only in every page and in the Django admin; changes made
through the admin, sign-ins and failed sign-ins are recorded; filters and downloads."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import AuditActivity, LogAction, LogStatus, ObjectType
from provisioning.models import Application, AuditEvent, DirectoryUser, ProvisioningLogEntry
from provisioning.roles import ensure_roles
from provisioning.services.audit import record_audit
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, make_application

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple 9"


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("root", "root@contoso.example", PASSWORD)
    client.force_login(user)
    return user


def log_entry(app):
    return ProvisioningLogEntry.objects.create(
        created_at=timezone.now(),
        application_id=app.pk,
        application_name=app.name,
        object_type=ObjectType.USER,
        source_display="ada@contoso.example",
        action=LogAction.CREATE,
        status=LogStatus.SUCCESS,
    )


@pytest.mark.parametrize("model", ["auditevent", "provisioninglogentry"])
def test_the_admin_shows_audit_events_and_log_entries_read_only(superuser, client, model):
    app = make_application("scim", "Admin app")
    obj = (
        record_audit(AuditActivity.RESTART, actor=superuser, application=app)
        if model == "auditevent"
        else log_entry(app)
    )
    base = f"/admin/provisioning/{model}/"
    assert client.get(base).status_code == 200
    page = client.get(f"{base}{obj.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "deletelink" not in html  # view only
    assert client.post(f"{base}{obj.pk}/change/", {}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    changelist = client.get(base).content.decode()
    assert "delete_selected" not in changelist
    client.post(base, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_changes_through_the_admin_are_audited_with_the_admin_channel(superuser, client):
    app = make_application("scim", "Before")
    response = client.post(
        f"/admin/provisioning/application/{app.pk}/change/",
        {
            "name": "After",
            "template_slug": app.template_slug,
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
            "roles-MIN_NUM_FORMS": "0",
            "roles-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Application.objects.get(pk=app.pk).name == "After"
    event = AuditEvent.objects.get(activity=AuditActivity.ADMIN_CHANGE)
    assert event.channel == "admin" and event.actor_name == "root"
    assert event.application_id == app.pk and "After" in event.target
    assert "Name" in json.dumps(event.after["change"])
    assert event.before["name"] == "Before" and event.after["name"] == "After"

    person = DirectoryUserFactory(display_name="Leaving Person")
    client.post(
        "/admin/provisioning/directoryuser/",
        {"action": "delete_selected", "_selected_action": [person.pk], "post": "yes"},
    )
    assert not DirectoryUser.objects.filter(pk=person.pk).exists()
    deleted = AuditEvent.objects.get(activity=AuditActivity.ADMIN_DELETE)
    assert deleted.channel == "admin" and deleted.actor_name == "root"
    assert str(person.pk) == deleted.after["object_id"]

    # One object deleted from its own page, and a portal login added: audited, no password kept.
    group = DirectoryGroupFactory(display_name="Gone Group")
    client.post(f"/admin/provisioning/directorygroup/{group.pk}/delete/", {"post": "yes"})
    assert AuditEvent.objects.filter(
        activity=AuditActivity.ADMIN_DELETE, target__contains="Gone Group"
    ).exists()
    client.post(
        "/admin/auth/user/add/",
        {
            "username": "newbie",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    )
    assert get_user_model().objects.filter(username="newbie").exists()
    added = AuditEvent.objects.get(activity=AuditActivity.ADMIN_ADD, target__contains="newbie")
    assert added.channel == "admin"
    audited = json.dumps([added.before, added.after])
    stored = get_user_model().objects.get(username="newbie").password
    assert PASSWORD not in audited
    assert stored not in audited and stored.split("$", 1)[0] + "$" not in audited


def test_sign_ins_and_failed_sign_ins_are_audited_without_the_password(client):
    get_user_model().objects.create_user("carol", password=PASSWORD)
    client.post(reverse("login"), {"username": "carol", "password": "not-" + PASSWORD})
    client.post(reverse("login"), {"username": "carol", "password": PASSWORD})

    failed = AuditEvent.objects.get(activity=AuditActivity.FAILED_SIGN_IN)
    assert failed.target == "carol" and failed.channel == "sign-in"
    signed_in = AuditEvent.objects.get(activity=AuditActivity.SIGN_IN)
    assert signed_in.actor_name == "carol"
    for event in (failed, signed_in):
        stored = json.dumps([event.target, event.before, event.after, event.actor_name])
        assert PASSWORD not in stored and "password" not in stored.lower()


@pytest.fixture
def auditor(client):
    _administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="audrey")
    user.groups.add(auditors)
    client.force_login(user)
    return user


def test_the_tenant_wide_audit_log_filters_and_downloads(auditor, client):
    alpha, beta = make_application("scim", "Alpha"), make_application("scim", "Beta")
    record_audit(AuditActivity.RESTART, actor="adam", application=alpha, target="alpha-restart")
    record_audit(AuditActivity.ALLOW_DELETES, actor="eve", application=beta, target="=beta-allow")
    old = record_audit(AuditActivity.RESTART, actor="adam", application=beta, target="beta-old")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=9))
    url = reverse("monitoring-audit-logs")

    def shown(query):
        html = client.get(url + "?" + query).content.decode()
        return {t for t in ("alpha-restart", "=beta-allow", "beta-old") if t in html}

    assert shown("") == {"alpha-restart", "=beta-allow", "beta-old"}
    assert shown("range=7d") == {"alpha-restart", "=beta-allow"}
    assert shown("activity=Enable%2Frestart+provisioning+configuration") == {
        "alpha-restart",
        "beta-old",
    }
    assert shown("actor=eve") == {"=beta-allow"}
    assert shown(f"application={beta.pk}") == {"=beta-allow", "beta-old"}

    response = client.get(reverse("monitoring-audit-logs-download") + "?range=7d&format=csv")
    rows = list(
        csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    )
    targets = {r["Target"] for r in rows}
    assert {"alpha-restart", "'=beta-allow"} <= targets and "beta-old" not in targets
    page = client.get(reverse("audit-logs", args=[beta.pk]) + "?actor=eve").content.decode()
    assert (
        f'href="{reverse("audit-logs-download", args=[beta.pk])}?actor=eve&amp;format=csv"' in page
    )
    response = client.get(reverse("audit-logs-download", args=[beta.pk]) + "?format=json")
    items = json.loads(b"".join(response.streaming_content))
    assert {"=beta-allow", "beta-old"} <= {i["target"] for i in items}
    assert "alpha-restart" not in {i["target"] for i in items}
    assert all(i["application_id"] == beta.pk for i in items)


def test_no_portal_page_changes_or_deletes_an_audit_event(auditor, client):
    app = make_application("scim", "Portal")
    event = record_audit(AuditActivity.RESTART, actor="adam", application=app)
    for url in (reverse("audit-logs", args=[app.pk]), reverse("monitoring-audit-logs")):
        assert client.post(url, {"delete": event.pk}).status_code in (403, 405)
    assert AuditEvent.objects.filter(pk=event.pk).exists()
