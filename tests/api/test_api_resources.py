"""The API's resources behave as the pages do: same services, same audit events (with the token
as channel), no secret ever in an answer, one error shape with the right status."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.api.directory_writes import directory_service
from provisioning.choices import (
    AuditActivity,
    CycleKind,
    CycleState,
    JobState,
    LinkState,
    LogAction,
    LogStatus,
    ObjectType,
    ProvisioningMode,
)
from provisioning.models import (
    Application,
    Assignment,
    AuditEvent,
    DirectoryChange,
    DirectoryUser,
    GroupMembership,
    ProvisionedObject,
    ProvisioningJob,
    ProvisioningLogEntry,
    SyncCycle,
)
from tests.api.conftest import assert_error
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, make_application

pytestmark = pytest.mark.django_db

SECRET = "very-secret-bearer-value-1234"
API = "/api/v1"


@pytest.fixture
def app():
    application = make_application("scim", "Contoso SCIM")
    return application


def configure(app, *, secret=SECRET):
    job = app.provisioning_job
    job.credentials = {"tenant_url": "https://scim.contoso.example/v2", "secret_token": secret}
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.NOT_RUN)
    job.refresh_from_db()
    return job


# -- gallery and applications ----------------------------------------------------------------


def test_gallery_lists_templates_with_credential_names_and_roles(admin_api):
    everything = admin_api.get(f"{API}/gallery/").json()
    listed = admin_api.get(f"{API}/gallery/", {"search": "goto"}).json()
    assert "gotomeeting" in [t["slug"] for t in listed]
    assert len(listed) < len(everything)
    assert all("goto" in f"{t['name']} {t['publisher']} {t['description']}".lower() for t in listed)
    detail = admin_api.get(f"{API}/gallery/gotomeeting/").json()
    assert {f["name"] for f in detail["credential_fields"]} >= {"admin_username", "admin_password"}
    assert_error(admin_api.get(f"{API}/gallery/nope/"), 404, "not_found")


def test_creating_an_application_writes_the_page_audit_event_with_the_token_channel(admin_api):
    response = admin_api.post(
        f"{API}/applications/", {"template": "gotomeeting", "name": "GoTo"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "GoTo" and body["template"] == "gotomeeting"
    assert body["provisioning_status"] == "Off"
    assert {r["name"] for r in body["roles"]} >= {"User", "Default Access"}
    event = AuditEvent.objects.get(activity=AuditActivity.ADD_APPLICATION)
    assert event.channel == "api:deploy-script"
    assert event.actor_name == "ada.admin"


def test_a_taken_name_is_a_conflict_and_a_bad_template_a_field_error(admin_api, app):
    taken = admin_api.post(
        f"{API}/applications/", {"template": "scim", "name": app.name}, format="json"
    )
    assert_error(taken, 409, "conflict")
    bad = assert_error(
        admin_api.post(f"{API}/applications/", {"template": "nope"}, format="json"), 400, "invalid"
    )
    assert [d["field"] for d in bad["details"]] == ["template"]
    assert Application.objects.count() == 1


def test_application_list_searches_and_pages_with_a_cursor(admin_api):
    for n in range(5):
        make_application("scim", f"App {n}")
    make_application("scim", "Other")
    first = admin_api.get(f"{API}/applications/", {"search": "App", "limit": 2}).json()
    names = [a["name"] for a in first["results"]]
    seen = list(names)
    next_url = first["next"]
    while next_url:
        page = admin_api.get(next_url).json()
        seen += [a["name"] for a in page["results"]]
        next_url = page["next"]
    assert names == ["App 0", "App 1"]
    assert seen == [f"App {n}" for n in range(5)]


def test_deleting_an_application_records_the_audit_event(admin_api, app):
    assert admin_api.delete(f"{API}/applications/{app.pk}/").status_code == 204
    assert not Application.objects.filter(pk=app.pk).exists()
    event = AuditEvent.objects.get(activity=AuditActivity.DELETE_APPLICATION)
    assert event.channel == "api:deploy-script"
    assert_error(admin_api.get(f"{API}/applications/{app.pk}/"), 404, "not_found")


# -- assignments -----------------------------------------------------------------------------


def test_default_access_is_accepted_but_flagged_invalid(admin_api, app):
    user = DirectoryUserFactory()
    response = admin_api.post(
        f"{API}/applications/{app.pk}/assignments/",
        {"user": str(user.pk), "role": "Default Access"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["valid_for_provisioning"] is False
    assert "Default Access" in body["invalid_reason"]
    assert body["principal_name"] == user.user_principal_name
    again = admin_api.post(
        f"{API}/applications/{app.pk}/assignments/",
        {"user": str(user.pk), "role": "Default Access"},
        format="json",
    )
    assert_error(again, 409, "conflict")


def test_assign_a_group_then_remove_it_with_audit_events(admin_api, app):
    group = DirectoryGroupFactory()
    created = admin_api.post(
        f"{API}/applications/{app.pk}/assignments/",
        {"group": str(group.pk), "role": "User"},
        format="json",
    ).json()
    assert created["principal_type"] == "Group" and created["valid_for_provisioning"] is True
    listed = admin_api.get(f"{API}/applications/{app.pk}/assignments/").json()["results"]
    assert [a["id"] for a in listed] == [created["id"]]
    deleted = admin_api.delete(f"{API}/applications/{app.pk}/assignments/{created['id']}/")
    assert deleted.status_code == 204
    assert not Assignment.objects.exists()
    channels = set(
        AuditEvent.objects.filter(
            activity__in=[AuditActivity.ADD_ASSIGNMENT, AuditActivity.REMOVE_ASSIGNMENT]
        ).values_list("channel", flat=True)
    )
    assert channels == {"api:deploy-script"}


def test_assignment_input_errors_name_their_fields(admin_api, app):
    both = assert_error(
        admin_api.post(
            f"{API}/applications/{app.pk}/assignments/",
            {"user": str(uuid.uuid4()), "group": str(uuid.uuid4()), "role": "User"},
            format="json",
        ),
        400,
        "invalid",
    )
    assert both["details"]
    missing_user = assert_error(
        admin_api.post(
            f"{API}/applications/{app.pk}/assignments/",
            {"user": str(uuid.uuid4()), "role": "User"},
            format="json",
        ),
        400,
    )
    assert [d["field"] for d in missing_user["details"]] == ["user"]
    user = DirectoryUserFactory()
    bad_role = assert_error(
        admin_api.post(
            f"{API}/applications/{app.pk}/assignments/",
            {"user": str(user.pk), "role": "Owner"},
            format="json",
        ),
        400,
    )
    assert [d["field"] for d in bad_role["details"]] == ["role"]


# -- the provisioning job ------------------------------------------------------------------


def test_the_job_shows_credentials_by_name_only_never_their_values(admin_api, auditor_api, app):
    configure(app)
    for client in (admin_api, auditor_api):
        response = client.get(f"{API}/applications/{app.pk}/provisioning/")
        assert response.status_code == 200
        assert SECRET not in response.content.decode()
        assert "scim.contoso.example" not in response.content.decode()
        body = response.json()
        assert body["credentials"] == [
            {
                "name": "tenant_url",
                "label": "Tenant URL",
                "secret": False,
                "required": True,
                "stored": True,
            },
            {
                "name": "secret_token",
                "label": "Secret Token",
                "secret": True,
                "required": True,
                "stored": True,
            },
        ]
        assert body["mode"] == "Automatic" and body["status"] == "Off"
        assert body["state"] == "NotRun" and body["quarantine"] is None


def test_setting_credentials_is_write_only_audited_and_redacted(admin_api, app):
    url = f"{API}/applications/{app.pk}/provisioning/credentials/"
    response = admin_api.put(
        url,
        {"credentials": {"tenant_url": "https://t.example/scim", "secret_token": SECRET}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.credentials == {"tenant_url": "https://t.example/scim", "secret_token": SECRET}
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS)
    assert event.channel == "api:deploy-script"
    assert SECRET not in json.dumps([event.before, event.after])
    # A later change of the URL alone keeps the stored secret.
    admin_api.put(url, {"credentials": {"tenant_url": "https://u.example/scim"}}, format="json")
    job.refresh_from_db()
    assert job.credentials["secret_token"] == SECRET
    audit = admin_api.get(f"{API}/audit-events/").content.decode()
    assert SECRET not in audit


def test_unknown_or_invalid_credentials_are_field_errors_and_change_nothing(admin_api, app):
    url = f"{API}/applications/{app.pk}/provisioning/credentials/"
    unknown = assert_error(
        admin_api.put(url, {"credentials": {"password": "x"}}, format="json"), 400, "invalid"
    )
    assert [d["field"] for d in unknown["details"]] == ["credentials.password"]
    bad_url = assert_error(
        admin_api.put(url, {"credentials": {"tenant_url": "ftp://x"}}, format="json"), 400
    )
    assert [d["field"] for d in bad_url["details"]] == ["credentials.tenant_url"]
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).credentials == {}
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_SETTINGS).exists()


def test_settings_update_validates_as_the_page_does(admin_api, app):
    url = f"{API}/applications/{app.pk}/provisioning/"
    # Automatic without credentials: the page's own message, on the credential fields.
    refused = assert_error(admin_api.patch(url, {"mode": "Automatic"}, format="json"), 400)
    assert {d["field"] for d in refused["details"]} == {
        "credentials.tenant_url",
        "credentials.secret_token",
    }
    notify = assert_error(admin_api.patch(url, {"notify_on_failure": True}, format="json"), 400)
    assert [d["field"] for d in notify["details"]] == ["notification_email"]
    typo = assert_error(admin_api.patch(url, {"intervalMinutes": 5}, format="json"), 400)
    assert [(d["field"], d["code"]) for d in typo["details"]] == [("intervalMinutes", "unknown")]
    low = assert_error(admin_api.patch(url, {"interval_minutes": 0}, format="json"), 400)
    assert [d["field"] for d in low["details"]] == ["interval_minutes"]
    ok = admin_api.patch(
        url,
        {"notify_on_failure": True, "notification_email": "ops@contoso.example", "scope": "all"},
        format="json",
    )
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["settings"]["notification_email"] == "ops@contoso.example"
    assert body["scope"] == "all" and body["full_sync_required"] is True
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS)
    assert event.after["scope"] == "all" and event.channel == "api:deploy-script"


def test_start_without_credentials_is_a_conflict_and_start_pause_are_audited(admin_api, app):
    base = f"{API}/applications/{app.pk}/provisioning"
    refused = assert_error(admin_api.post(f"{base}/start/"), 409, "conflict")
    assert "credentials" in refused["message"]
    configure(app)
    started = admin_api.post(f"{base}/start/")
    assert started.status_code == 200 and started.json()["status"] == "On"
    paused = admin_api.post(f"{base}/pause/")
    assert paused.status_code == 200 and paused.json()["status"] == "Off"
    assert paused.json()["state"] == "Paused"
    activities = list(
        AuditEvent.objects.filter(activity__in=[AuditActivity.ENABLE, AuditActivity.DISABLE])
        .order_by("id")
        .values_list("activity", "channel")
    )
    assert activities == [
        (AuditActivity.ENABLE, "api:deploy-script"),
        (AuditActivity.DISABLE, "api:deploy-script"),
    ]


def test_restart_with_reset_scopes(admin_api, app):
    job = configure(app)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        watermark=42,
        full_sync_required=False,
        state=JobState.QUARANTINE,
        quarantine_reason="EncounteredBaseEscrowThreshold",
        quarantine_since=timezone.now(),
    )
    failed = ProvisionedObject.objects.create(
        job=job,
        object_type=ObjectType.USER,
        source_id=uuid.uuid4(),
        target_id="t-9",
        state=LinkState.FAILED,
        failure_count=3,
    )
    url = f"{API}/applications/{app.pk}/provisioning/restart/"
    body = admin_api.post(url, {"reset_scope": ["Watermark"]}, format="json").json()
    assert body["full_sync_required"] is True and body["state"] == "Quarantine"
    job.refresh_from_db()
    assert job.watermark is None
    failed.refresh_from_db()
    assert failed.failure_count == 3
    body = admin_api.post(url, {"reset_scope": ["Escrows"]}, format="json").json()
    failed.refresh_from_db()
    assert failed.failure_count == 0 and failed.state == LinkState.PROVISIONED
    assert body["quarantine"] is not None
    body = admin_api.post(url, {}, format="json").json()
    assert body["quarantine"] is None
    events = AuditEvent.objects.filter(activity=AuditActivity.RESTART)
    assert events.count() == 3
    assert set(events.values_list("channel", flat=True)) == {"api:deploy-script"}
    bad = assert_error(admin_api.post(url, {"reset_scope": ["Everything"]}, format="json"), 400)
    assert bad["details"][0]["field"].startswith("reset_scope")


def test_provision_on_demand_queues_a_cycle_and_refuses_big_groups(admin_api, app):
    configure(app)
    user = DirectoryUserFactory()
    url = f"{API}/applications/{app.pk}/provisioning/provision-on-demand/"
    response = admin_api.post(url, {"user": str(user.pk)}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["cycle"]["kind"] == "on_demand" and body["cycle"]["state"] == "Queued"
    assert body["steps"] == []
    cycle_id = body["cycle"]["id"]
    detail = admin_api.get(f"{API}/applications/{app.pk}/provisioning/cycles/{cycle_id}/")
    assert detail.status_code == 200 and detail.json()["entries"] == []
    group = DirectoryGroupFactory()
    for _n in range(6):
        GroupMembership.objects.create(group=group, member_user=DirectoryUserFactory())
    big = assert_error(admin_api.post(url, {"group": str(group.pk)}, format="json"), 409)
    assert "5" in big["message"]
    event = AuditEvent.objects.get(activity=AuditActivity.PROVISION_ON_DEMAND)
    assert event.channel == "api:deploy-script"


def test_allow_deletes_releases_the_held_deletions(admin_api, app):
    job = configure(app)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        state=JobState.QUARANTINE, quarantine_reason="TooManyDeletes"
    )
    body = admin_api.post(f"{API}/applications/{app.pk}/provisioning/allow-deletes/").json()
    assert body["deletes_allowed_once"] is True and body["quarantine"] is None
    assert AuditEvent.objects.get(activity=AuditActivity.ALLOW_DELETES).channel.startswith("api:")


def test_test_connection_reports_failure_without_saving(admin_api, app):
    url = f"{API}/applications/{app.pk}/provisioning/test-connection/"
    missing = admin_api.post(url, {}, format="json").json()
    assert missing["success"] is False and "Tenant URL" in missing["message"]
    refused = admin_api.post(
        url,
        {"credentials": {"tenant_url": "http://127.0.0.1:9/scim", "secret_token": SECRET}},
        format="json",
    ).json()
    assert refused["success"] is False
    assert SECRET not in json.dumps(refused)
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).credentials == {}


def test_cycles_list_newest_first_with_counters_and_progress(admin_api, app):
    job = app.provisioning_job
    old = SyncCycle.objects.create(job=job, kind=CycleKind.INITIAL, state=CycleState.SUCCEEDED)
    SyncCycle.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(hours=1))
    new = SyncCycle.objects.create(
        job=job,
        kind=CycleKind.INCREMENTAL,
        state=CycleState.RUNNING,
        progress_total=10,
        progress_done=4,
        counters={"Create": {"Success": 4}},
    )
    body = admin_api.get(f"{API}/applications/{app.pk}/provisioning/cycles/").json()
    assert [c["id"] for c in body["results"]] == [str(new.pk), str(old.pk)]
    assert body["results"][0]["percent_complete"] == 40
    assert body["results"][0]["counters"] == {"Create": {"Success": 4}}
    job_body = admin_api.get(f"{API}/applications/{app.pk}/provisioning/").json()
    assert job_body["last_cycle"]["id"] == str(new.pk)
    other = make_application("scim", "Other")
    other_cycle = SyncCycle.objects.create(job=other.provisioning_job, kind=CycleKind.INITIAL)
    assert_error(
        admin_api.get(f"{API}/applications/{app.pk}/provisioning/cycles/{other_cycle.pk}/"), 404
    )


# -- logs and audit events ----------------------------------------------------------------


def make_entry(app, *, minutes_ago=0, status=LogStatus.SUCCESS, action=LogAction.CREATE, **extra):
    values = {
        "created_at": timezone.now() - timedelta(minutes=minutes_ago),
        "job": app.provisioning_job,
        "application_id": app.pk,
        "application_name": app.name,
        "object_type": ObjectType.USER,
        "source_id": uuid.uuid4(),
        "source_display": "someone@contoso.example",
        "action": action,
        "status": status,
    }
    values.update(extra)
    return ProvisioningLogEntry.objects.create(**values)


def test_provisioning_logs_filter_like_the_pages_and_page_with_a_cursor(auditor_api, app):
    other = make_application("scim", "Other")
    cycle = uuid.uuid4()
    wanted = [
        make_entry(app, minutes_ago=n, status=LogStatus.FAILURE, cycle_id=cycle) for n in range(5)
    ]
    make_entry(app, minutes_ago=1, status=LogStatus.SUCCESS, cycle_id=cycle)
    make_entry(other, minutes_ago=1, status=LogStatus.FAILURE, cycle_id=cycle)
    make_entry(app, minutes_ago=60 * 48, status=LogStatus.FAILURE, cycle_id=cycle)
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    ids = []
    url = f"{API}/applications/{app.pk}/provisioning-logs/"
    page = auditor_api.get(
        url, {"status": "Failure", "cycle_id": str(cycle), "from": since, "limit": 2}
    ).json()
    while True:
        ids += [e["id"] for e in page["results"]]
        if not page["next"]:
            break
        page = auditor_api.get(page["next"]).json()
    assert ids == [e.pk for e in wanted]
    everywhere = auditor_api.get(
        f"{API}/provisioning-logs/", {"status": "Failure", "from": since}
    ).json()
    assert {e["application_name"] for e in everywhere["results"]} == {"Contoso SCIM", "Other"}
    only_other = auditor_api.get(f"{API}/provisioning-logs/", {"application_id": other.pk}).json()[
        "results"
    ]
    assert [e["application_name"] for e in only_other] == ["Other"]
    by_identity = auditor_api.get(url, {"identity": str(wanted[2].source_id)}).json()["results"]
    assert [e["id"] for e in by_identity] == [wanted[2].pk]
    bad = assert_error(auditor_api.get(url, {"status": "Bogus", "from": "yesterday"}), 400)
    assert {d["field"] for d in bad["details"]} == {"status", "from"}


def test_provisioning_logs_stream_as_ndjson(auditor_api, app):
    entries = [make_entry(app, minutes_ago=n) for n in range(3)]
    make_entry(app, minutes_ago=5, action=LogAction.DELETE)
    response = auditor_api.get(
        f"{API}/applications/{app.pk}/provisioning-logs/stream/", {"action": "Create"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [e.pk for e in entries]
    everything = auditor_api.get(f"{API}/provisioning-logs/stream/")
    assert len(b"".join(everything.streaming_content).decode().splitlines()) == 4


def test_audit_events_filter_by_activity_channel_and_application(admin_api, auditor_api, app):
    admin_api.post(f"{API}/applications/", {"template": "scim", "name": "Second"}, format="json")
    body = auditor_api.get(f"{API}/audit-events/", {"channel": "api:deploy-script"}).json()
    assert [e["target"] for e in body["results"]] == ["Second"]
    assert body["results"][0]["initiated_by"] == "ada.admin"
    portal = auditor_api.get(
        f"{API}/audit-events/", {"application_id": app.pk, "activity": "Add application"}
    ).json()["results"]
    assert [e["channel"] for e in portal] == ["portal"]
    assert_error(auditor_api.get(f"{API}/audit-events/", {"activity": "Nope"}), 400)


# -- directory -------------------------------------------------------------------------------


def test_directory_users_create_update_soft_delete_restore_reach_the_change_log(admin_api):
    before = DirectoryChange.objects.count()
    created = admin_api.post(
        f"{API}/directory/users/",
        {"user_principal_name": "grace@contoso.example", "display_name": "Grace Hopper"},
        format="json",
    )
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    dup = assert_error(
        admin_api.post(
            f"{API}/directory/users/",
            {"user_principal_name": "GRACE@contoso.example", "display_name": "Grace"},
            format="json",
        ),
        400,
    )
    assert [d["field"] for d in dup["details"]] == ["user_principal_name"]
    patched = admin_api.patch(
        f"{API}/directory/users/{user_id}/", {"department": "Navy"}, format="json"
    ).json()
    assert patched["department"] == "Navy"
    # What the API answered can be sent back as it is (read-only fields are known).
    round_trip = admin_api.patch(f"{API}/directory/users/{user_id}/", patched, format="json")
    assert round_trip.status_code == 200, round_trip.content
    assert admin_api.delete(f"{API}/directory/users/{user_id}/").status_code == 204
    assert DirectoryUser.objects.get(pk=user_id).deleted_at is not None
    alive = admin_api.get(f"{API}/directory/users/").json()["results"]
    assert user_id not in [u["id"] for u in alive]
    binned = admin_api.get(f"{API}/directory/users/", {"deleted": "true"}).json()["results"]
    assert [u["id"] for u in binned] == [user_id]
    restored = admin_api.post(f"{API}/directory/users/{user_id}/restore/").json()
    assert restored["deleted_at"] is None
    assert DirectoryChange.objects.count() - before >= 4  # insert, update, delete, restore


def test_objects_in_the_recycle_bin_are_restored_before_they_change(admin_api):
    user = DirectoryUserFactory()
    group = DirectoryGroupFactory()
    url = f"{API}/directory/users/{user.pk}/"
    assert_error(admin_api.post(f"{url}restore/"), 409, "conflict")
    assert admin_api.delete(url).status_code == 204
    assert_error(admin_api.delete(url), 409, "conflict")
    assert_error(admin_api.patch(url, {"department": "X"}, format="json"), 409, "conflict")
    user.refresh_from_db()
    assert user.department != "X"
    group_url = f"{API}/directory/groups/{group.pk}/"
    assert admin_api.delete(group_url).status_code == 204
    other = DirectoryUserFactory()
    assert_error(
        admin_api.post(f"{group_url}members/", {"user": str(other.pk)}, format="json"), 409
    )
    assert admin_api.post(f"{group_url}restore/").json()["deleted_at"] is None


def test_restoring_too_late_is_a_conflict(admin_api):
    user = DirectoryUserFactory()
    DirectoryUser.objects.filter(pk=user.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    assert_error(admin_api.post(f"{API}/directory/users/{user.pk}/restore/"), 409, "conflict")


def test_group_members_add_list_remove(admin_api):
    group = admin_api.post(
        f"{API}/directory/groups/", {"display_name": "Sales"}, format="json"
    ).json()
    inner = DirectoryGroupFactory()
    user = DirectoryUserFactory()
    url = f"{API}/directory/groups/{group['id']}/members/"
    assert admin_api.post(url, {"user": str(user.pk)}, format="json").status_code == 201
    assert admin_api.post(url, {"group": str(inner.pk)}, format="json").status_code == 201
    assert_error(admin_api.post(url, {"user": str(user.pk)}, format="json"), 409, "conflict")
    assert_error(admin_api.post(url, {"group": group["id"]}, format="json"), 400)
    members = admin_api.get(url).json()["results"]
    assert {(m["member_type"], m["member_id"]) for m in members} == {
        ("User", str(user.pk)),
        ("Group", str(inner.pk)),
    }
    assert admin_api.delete(f"{url}{user.pk}/").status_code == 204
    assert [m["member_id"] for m in admin_api.get(url).json()["results"]] == [str(inner.pk)]
    assert_error(admin_api.delete(f"{url}{user.pk}/"), 404)


# -- errors ------------------------------------------------------------------------------------


def test_unknown_paths_and_methods_answer_in_the_error_shape(admin_api, app):
    assert_error(admin_api.get(f"{API}/nothing-here/"), 404, "not_found")
    assert_error(admin_api.put(f"{API}/applications/", {}, format="json"), 405)
    malformed = admin_api.generic(
        "POST", f"{API}/applications/", "{not json", content_type="application/json"
    )
    assert_error(malformed, 400, "parse_error")
    assert_error(admin_api.post(f"{API}/applications/", "x=1", content_type="text/plain"), 415)


@pytest.mark.skipif(
    directory_service() is None,
    reason="provisioning.services.directory (issue 15) is not merged in this tree",
)
def test_directory_writes_record_the_directory_pages_audit_events_with_the_token(admin_api):
    user = admin_api.post(
        f"{API}/directory/users/",
        {"user_principal_name": "audited@contoso.example", "display_name": "Audited"},
        format="json",
    ).json()
    admin_api.patch(f"{API}/directory/users/{user['id']}/", {"department": "X"}, format="json")
    group = admin_api.post(f"{API}/directory/groups/", {"display_name": "G"}, format="json").json()
    admin_api.post(
        f"{API}/directory/groups/{group['id']}/members/", {"user": user["id"]}, format="json"
    )
    admin_api.delete(f"{API}/directory/users/{user['id']}/")
    events = AuditEvent.objects.filter(channel="api:deploy-script")
    assert events.count() >= 5
    assert "audited@contoso.example" in set(events.values_list("target", flat=True))


def test_a_body_over_the_size_limit_is_413_and_changes_nothing(admin_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"template": "scim", "name": "x" * 2000}
    assert_error(admin_api.post(f"{API}/applications/", body, format="json"), 413, "too_large")
    assert not Application.objects.exists()
