"""Reconcile (DESIGN B4) against a real scim2-server: drift made by hand in the target is found,
classified and, when the job says so, repaired."""

import pytest

from provisioning.choices import (
    CycleKind,
    CycleState,
    LinkState,
    ProvisioningMode,
    ReconcileClass,
    ReconcileRepair,
)
from provisioning.engine.cycle import CycleBusy, run_cycle
from provisioning.engine.lease import acquire_lease, release_lease
from provisioning.models import (
    Assignment,
    GroupMembership,
    ProvisionedObject,
    ProvisioningLogEntry,
    ReconcileFinding,
)
from provisioning.reconcile.run import run_reconcile
from provisioning.services.applications import add_application
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, assign

pytestmark = pytest.mark.django_db

PATCH = {"Content-Type": "application/scim+json"}
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def app(scim):
    application = add_application("scim", "Reconciled app")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    return application


@pytest.fixture
def provisioned(app, make_connector):
    """Alice and Bob in group Team, provisioned by an initial cycle."""
    alice = DirectoryUserFactory(
        user_principal_name="alice@contoso.example",
        display_name="Alice Liddell",
        given_name="Alice",
        surname="Liddell",
    )
    bob = DirectoryUserFactory(user_principal_name="bob@contoso.example", display_name="Bob")
    team = DirectoryGroupFactory(display_name="Team")
    GroupMembership.objects.create(group=team, member_user=alice)
    GroupMembership.objects.create(group=team, member_user=bob)
    assign(app, alice)
    assign(app, bob)
    assign(app, team)
    cycle = run_cycle(app.provisioning_job, initial=True, connector=make_connector()).cycle
    assert cycle.state == CycleState.SUCCEEDED, cycle.error
    return {"alice": alice, "bob": bob, "team": team}


def target_id(app, source) -> str:
    return ProvisionedObject.objects.get(job=app.provisioning_job, source_id=source.pk).target_id


def patch(scim, endpoint, resource_id, *operations):
    response = scim.request(
        "PATCH",
        f"/{endpoint}/{resource_id}",
        json={"schemas": [PATCH_SCHEMA], "Operations": list(operations)},
        headers=PATCH,
    )
    assert response.status_code in (200, 204), response.text


def reconcile(app, make_connector, **options):
    job = app.provisioning_job
    job.refresh_from_db()
    return run_reconcile(job, connector=make_connector(), **options)


def findings(report, classification):
    return list(ReconcileFinding.objects.filter(cycle=report.cycle, classification=classification))


def test_a_target_untouched_is_all_in_sync(app, scim, make_connector, provisioned):
    report = reconcile(app, make_connector)

    assert report.cycle.kind == CycleKind.RECONCILE
    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert report.counts == {ReconcileClass.IN_SYNC: 3}
    assert not ReconcileFinding.objects.filter(cycle=report.cycle).exists()


def test_drift_made_by_hand_is_found_and_report_only_changes_nothing(
    app, scim, make_connector, provisioned
):
    alice_id = target_id(app, provisioned["alice"])
    patch(
        scim,
        "Users",
        alice_id,
        {"op": "replace", "path": "displayName", "value": "Changed by hand"},
        {"op": "replace", "path": "active", "value": False},
    )

    report = reconcile(app, make_connector)

    assert report.counts[ReconcileClass.DRIFTED] == 1
    (finding,) = findings(report, ReconcileClass.DRIFTED)
    assert finding.target_id == alice_id
    assert {d["name"]: (d["old"], d["new"]) for d in finding.differences} == {
        "displayName": ("Changed by hand", "Alice Liddell"),
        "active": (False, True),
    }
    assert finding.outcome == ""
    still = scim.get_resource("Users", alice_id)
    assert still["displayName"] == "Changed by hand" and still["active"] is False


def test_repair_restores_mapped_values_and_nothing_else(app, scim, make_connector, provisioned):
    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    alice_id = target_id(app, provisioned["alice"])
    patch(
        scim,
        "Users",
        alice_id,
        {"op": "replace", "path": "displayName", "value": "Changed by hand"},
        {"op": "replace", "path": "active", "value": False},
        {"op": "replace", "path": "nickName", "value": "Ally"},  # not mapped: must survive
    )

    report = reconcile(app, make_connector)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    (finding,) = findings(report, ReconcileClass.DRIFTED)
    assert finding.outcome == "Repaired"
    repaired = scim.get_resource("Users", alice_id)
    assert repaired["displayName"] == "Alice Liddell"
    assert repaired["active"] is True
    assert repaired["nickName"] == "Ally"
    entry = ProvisioningLogEntry.objects.get(cycle_id=report.cycle.pk, action="Update")
    assert entry.status == "Success" and entry.reason == "Drift repaired"
    assert {p["name"]: (p["old"], p["new"]) for p in entry.modified_properties} == {
        "displayName": ("Changed by hand", "Alice Liddell"),
        "active": (False, True),
    }
    # A second reconcile finds nothing left to repair.
    assert reconcile(app, make_connector).counts == {ReconcileClass.IN_SYNC: 3}


def test_user_name_echoed_in_another_case_is_in_sync(app, scim, make_connector, provisioned):
    alice_id = target_id(app, provisioned["alice"])
    patch(
        scim,
        "Users",
        alice_id,
        {"op": "replace", "path": "userName", "value": "ALICE@Contoso.Example"},
    )
    assert scim.get_resource("Users", alice_id)["userName"] == "ALICE@Contoso.Example"

    report = reconcile(app, make_connector)

    assert report.counts == {ReconcileClass.IN_SYNC: 3}


def test_account_deleted_in_the_target_is_missing_and_recreated(
    app, scim, make_connector, provisioned
):
    bob_id = target_id(app, provisioned["bob"])
    assert scim.request("DELETE", f"/Users/{bob_id}").status_code == 204

    report = reconcile(app, make_connector)
    (finding,) = findings(report, ReconcileClass.MISSING)
    assert finding.target_id == bob_id and finding.display == "bob@contoso.example"
    # Bob's membership of Team went with him: that is not drift of Team (not ours to see).

    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    report = reconcile(app, make_connector)

    (finding,) = findings(report, ReconcileClass.MISSING)
    assert finding.outcome == "Repaired"
    new_id = target_id(app, provisioned["bob"])
    assert new_id != bob_id
    assert scim.get_resource("Users", new_id)["userName"] == "bob@contoso.example"


def test_account_created_by_hand_is_unmanaged_and_shows_who_would_claim_it(
    app, scim, make_connector, provisioned
):
    DirectoryUserFactory(user_principal_name="carol@contoso.example")  # not assigned
    for name in ("carol@contoso.example", "stranger@elsewhere.example"):
        response = scim.request(
            "POST",
            "/Users",
            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name},
            headers=PATCH,
        )
        assert response.status_code == 201, response.text

    report = reconcile(app, make_connector)

    unmanaged = {f.display: f for f in findings(report, ReconcileClass.UNMANAGED)}
    assert set(unmanaged) == {"carol@contoso.example", "stranger@elsewhere.example"}
    assert "carol@contoso.example" in unmanaged["carol@contoso.example"].detail
    assert unmanaged["stranger@elsewhere.example"].detail == ""
    assert report.counts[ReconcileClass.IN_SYNC] == 3


def test_account_out_of_scope_but_active_is_orphaned_and_disabled_when_repairing(
    app, scim, make_connector, provisioned
):
    # Bob leaves the application (assignment and group) and no cycle has run since.
    Assignment.objects.filter(user=provisioned["bob"]).delete()
    GroupMembership.objects.filter(member_user=provisioned["bob"]).delete()
    bob_id = target_id(app, provisioned["bob"])

    report = reconcile(app, make_connector)
    (finding,) = findings(report, ReconcileClass.ORPHANED)
    assert finding.target_id == bob_id and finding.target_active is True
    assert scim.get_resource("Users", bob_id)["active"] is True

    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    report = reconcile(app, make_connector)

    (finding,) = findings(report, ReconcileClass.ORPHANED)
    assert finding.outcome == "Disabled"
    assert scim.get_resource("Users", bob_id)["active"] is False
    link = ProvisionedObject.objects.get(job=job, source_id=provisioned["bob"].pk)
    assert link.state == LinkState.DISABLED


def test_group_member_removed_by_hand_is_drift_and_repaired(app, scim, make_connector, provisioned):
    team_id = target_id(app, provisioned["team"])
    bob_id = target_id(app, provisioned["bob"])
    patch(scim, "Groups", team_id, {"op": "remove", "path": f'members[value eq "{bob_id}"]'})

    report = reconcile(app, make_connector)
    (finding,) = findings(report, ReconcileClass.DRIFTED)
    assert finding.target_id == team_id
    assert finding.differences == [
        {"name": "members (added)", "old": None, "new": [bob_id], "count": 1}
    ]

    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    reconcile(app, make_connector)

    members = {m["value"] for m in scim.get_resource("Groups", team_id)["members"]}
    assert members == {bob_id, target_id(app, provisioned["alice"])}


def test_disable_unmanaged_respects_the_deletion_threshold(app, scim, make_connector, provisioned):
    created = []
    for number in range(3):
        response = scim.request(
            "POST",
            "/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"hand{number}@elsewhere.example",
                "active": True,
            },
            headers=PATCH,
        )
        created.append(response.json()["id"])
    job = app.provisioning_job
    job.reconcile_disable_unmanaged = True
    job.deletion_threshold = 2
    job.save()

    report = reconcile(app, make_connector)

    assert {f.outcome for f in findings(report, ReconcileClass.UNMANAGED)} == {"Held"}
    assert all(scim.get_resource("Users", i)["active"] is True for i in created)
    assert ProvisioningLogEntry.objects.filter(
        cycle_id=report.cycle.pk, action="StagedDelete"
    ).exists()

    job.deletion_threshold = 3
    job.save()
    report = reconcile(app, make_connector)

    assert {f.outcome for f in findings(report, ReconcileClass.UNMANAGED)} == {"Disabled"}
    assert all(scim.get_resource("Users", i)["active"] is False for i in created)
    assert (
        ProvisioningLogEntry.objects.filter(
            cycle_id=report.cycle.pk, action="Disable", status="Success"
        ).count()
        == 3
    )
    # Provisioned accounts were never touched.
    assert scim.get_resource("Users", target_id(app, provisioned["alice"]))["active"] is True


def test_dry_run_sends_nothing_and_keeps_nothing(app, scim, make_connector, provisioned):
    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    alice_id = target_id(app, provisioned["alice"])
    patch(scim, "Users", alice_id, {"op": "replace", "path": "displayName", "value": "X"})

    report = run_reconcile(job, dry_run=True)

    assert report.counts[ReconcileClass.DRIFTED] == 1
    assert [r.method for r in report.requests] == ["PATCH"]
    assert scim.get_resource("Users", alice_id)["displayName"] == "X"
    assert not ReconcileFinding.objects.exists()


def test_reconcile_never_overlaps_another_cycle_of_the_job(app, make_connector, provisioned):
    job = app.provisioning_job
    assert acquire_lease(job.pk, "someone-else")
    try:
        with pytest.raises(CycleBusy):
            reconcile(app, make_connector)
    finally:
        release_lease(job.pk, "someone-else")


def test_command_reconcile_dry_run_prints_the_drift_and_sends_nothing(
    app, scim, make_connector, provisioned
):
    from io import StringIO

    from django.core.management import call_command

    alice_id = target_id(app, provisioned["alice"])
    patch(scim, "Users", alice_id, {"op": "replace", "path": "displayName", "value": "Hand"})
    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    out = StringIO()

    call_command("provision", app.name, "--reconcile", "--dry-run", stdout=out)

    text = out.getvalue()
    assert "Drifted: 1" in text and "In sync: 2" in text
    assert "displayName: 'Hand' -> 'Alice Liddell'" in text
    assert f"PATCH {scim.url}/Users/{alice_id}" in text
    assert scim.get_resource("Users", alice_id)["displayName"] == "Hand"
    assert secret_free(text, scim.token)


def secret_free(text, token):
    return token not in text


def test_scheduled_reconcile_is_claimed_with_the_lease_and_runs(
    app, scim, make_connector, provisioned
):
    from datetime import timedelta

    from django.utils import timezone

    from provisioning.models import ProvisioningJob
    from provisioning.reconcile.schedule import dispatch_due_reconciles, run_claimed_reconcile

    job = app.provisioning_job
    job.status_on = True
    job.save()
    queued = []

    def enqueue(job_id, owner):
        queued.append((job_id, owner))

    # First seen: the first reconcile is one interval (24 h by default) away.
    assert dispatch_due_reconciles(enqueue=enqueue) == []
    job.refresh_from_db()
    assert job.next_reconcile_at > timezone.now() + timedelta(hours=23)

    later = timezone.now() + timedelta(hours=25)
    assert acquire_lease(job.pk, "a-running-cycle")
    assert dispatch_due_reconciles(now=later, enqueue=enqueue) == []  # never overlaps
    release_lease(job.pk, "a-running-cycle")
    ((job_id, owner),) = dispatch_due_reconciles(now=later, enqueue=enqueue)
    assert queued == [(job.pk, owner)]
    assert dispatch_due_reconciles(now=later, enqueue=enqueue) == []  # leased: not twice

    run_claimed_reconcile(job_id, owner)

    job.refresh_from_db()
    assert job.lease_owner == "" and job.next_reconcile_at > timezone.now() + timedelta(hours=23)
    assert job.cycles.filter(kind=CycleKind.RECONCILE, state=CycleState.SUCCEEDED).count() == 1

    ProvisioningJob.objects.filter(pk=job.pk).update(reconcile_interval_hours=0)
    assert dispatch_due_reconciles(now=later + timedelta(days=30), enqueue=enqueue) == []


@pytest.fixture
def smtp(settings):
    from tests.support.smtp import SmtpServer

    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.PORTAL_BASE_URL = "https://portal.example"
    yield server
    server.stop()


def test_drift_found_sends_one_summary_email_when_the_box_is_ticked(
    app, scim, make_connector, provisioned, smtp
):
    from tests.support.smtp import bodies

    job = app.provisioning_job
    alice_id = target_id(app, provisioned["alice"])
    patch(scim, "Users", alice_id, {"op": "replace", "path": "displayName", "value": "Hand"})
    job.notification_email = "ops@contoso.example"
    job.notify_on_failure = False
    job.save()
    reconcile(app, make_connector)
    assert smtp.messages == []  # the box is not ticked

    job.notify_on_failure = True
    job.save()
    reconcile(app, make_connector)

    [message] = smtp.messages
    assert "1 drifted, 0 unmanaged" in message["Subject"]
    text, html = bodies(message)
    assert "Drifted: 1" in text
    assert f"https://portal.example/apps/{app.pk}/provisioning/reconcile/" in text
    assert scim.token not in text and scim.token not in html

    smtp.clear()
    patch(
        scim, "Users", alice_id, {"op": "replace", "path": "displayName", "value": "Alice Liddell"}
    )
    reconcile(app, make_connector)
    assert smtp.messages == []  # nothing found, nothing sent


def test_a_listing_that_fails_part_way_finds_nothing_missing_and_disables_nothing(
    app, scim, make_connector, provisioned, fault_proxy
):
    from tests.support.fault_proxy import Fault

    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.reconcile_disable_unmanaged = True
    job.save()
    # The second page of users never comes (the target keeps failing it).
    fault_proxy.inject(Fault.passthrough(), method="GET", path="/Users")
    fault_proxy.inject(Fault.status(500), method="GET", path="/Users", times=20)
    job.refresh_from_db()

    report = run_reconcile(job, connector=make_connector(fault_proxy.url), page_size=1)

    assert report.cycle.state == CycleState.FAILED
    assert ReconcileClass.MISSING not in report.counts
    assert not ReconcileFinding.objects.filter(
        cycle=report.cycle, classification=ReconcileClass.MISSING
    ).exists()
    assert all(u["active"] is True for u in scim.all_resources("Users"))
    # No repair is recreated from partial knowledge: still exactly the two accounts.
    assert len(scim.all_resources("Users")) == 2


def test_a_target_that_refuses_excluded_attributes_is_listed_in_full(
    app, scim, make_connector, provisioned, fault_proxy
):
    from tests.support.fault_proxy import Fault

    fault_proxy.inject(Fault.status(400, detail="excludedAttributes"), method="GET", path="/Groups")
    job = app.provisioning_job
    job.refresh_from_db()

    report = run_reconcile(job, connector=make_connector(fault_proxy.url))

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert report.counts == {ReconcileClass.IN_SYNC: 3}


def test_group_deleted_in_the_target_is_recreated_with_its_members(
    app, scim, make_connector, provisioned
):
    team_id = target_id(app, provisioned["team"])
    assert scim.request("DELETE", f"/Groups/{team_id}").status_code == 204
    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()

    report = reconcile(app, make_connector)

    (finding,) = findings(report, ReconcileClass.MISSING)
    assert finding.object_type == "Group" and finding.outcome == "Repaired"
    new_id = target_id(app, provisioned["team"])
    group = scim.get_resource("Groups", new_id)
    assert group["displayName"] == "Team"
    assert {m["value"] for m in group["members"]} == {
        target_id(app, provisioned["alice"]),
        target_id(app, provisioned["bob"]),
    }
    assert reconcile(app, make_connector).counts == {ReconcileClass.IN_SYNC: 3}


def test_the_beat_dispatcher_also_claims_due_reconciles(app, provisioned):
    from datetime import timedelta

    from django.utils import timezone

    from provisioning.models import ProvisioningJob
    from provisioning.services.dispatch import dispatch_due_jobs

    job = app.provisioning_job
    job.status_on = True
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(
        next_run_at=timezone.now() + timedelta(hours=1),
        next_reconcile_at=timezone.now() - timedelta(minutes=1),
    )
    cycles, reconciles = [], []

    claimed = dispatch_due_jobs(
        enqueue=lambda *a: cycles.append(a), enqueue_reconcile=lambda *a: reconciles.append(a)
    )

    assert claimed == [] and cycles == []
    assert [job_id for job_id, _owner in reconciles] == [job.pk]
    job.refresh_from_db()
    assert job.lease_owner == reconciles[0][1]


def test_a_reconcile_refused_by_the_target_quarantines_the_job(
    app, scim, make_connector, provisioned
):
    from provisioning.choices import JobState, QuarantineReason

    job = app.provisioning_job
    job.refresh_from_db()

    report = run_reconcile(job, connector=make_connector(token="wrong-token"))

    assert report.cycle.state == CycleState.FAILED
    job.refresh_from_db()
    assert job.state == JobState.QUARANTINE
    assert job.quarantine_reason == QuarantineReason.QUARANTINE_EXCEPTION
    assert "wrong-token" not in report.cycle.error


# -- memory stays bounded: what the listing returned is marked in the database ------------------


def more_users(app, make_connector, count):
    """``count`` more assigned users, provisioned by an initial cycle; their target ids."""
    users = [
        DirectoryUserFactory(user_principal_name=f"user{n:02d}@contoso.example")
        for n in range(count)
    ]
    for user in users:
        assign(app, user)
    cycle = run_cycle(app.provisioning_job, initial=True, connector=make_connector()).cycle
    assert cycle.state == CycleState.SUCCEEDED, cycle.error
    return [target_id(app, user) for user in users]


class ListingRequests:
    """The connector's ``on_request`` hook: which threads sent the GET /Users pages."""

    def __init__(self, then=None):
        self.threads: list[str] = []
        self.then = then  # called once, after the first page of users came back

    def __call__(self, recorded, status):
        import threading

        if recorded.method == "GET" and "/Users?" in recorded.url:
            self.threads.append(threading.current_thread().name)
            if self.then is not None and len(self.threads) == 1:
                self.then()


@pytest.mark.parametrize("in_flight", [1, 8], ids=["page-after-page", "pages-in-flight"])
def test_missing_accounts_are_found_across_many_small_pages(
    app, scim, make_connector, provisioned, in_flight
):
    ids = more_users(app, make_connector, 10)
    gone = ids[1:8:3]  # three accounts deleted by hand, on different pages
    for resource_id in gone:
        assert scim.request("DELETE", f"/Users/{resource_id}").status_code == 204
    job = app.provisioning_job
    job.max_requests_in_flight = in_flight
    job.save()
    listing = ListingRequests()

    report = run_reconcile(job, connector=make_connector(on_request=listing), page_size=2)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert report.counts == {ReconcileClass.IN_SYNC: 10, ReconcileClass.MISSING: 3}
    missing = findings(report, ReconcileClass.MISSING)
    assert sorted(f.target_id for f in missing) == sorted(gone)
    # The listing's marks, not a set of every id in memory, told them apart.
    links = ProvisionedObject.objects.filter(job=job)
    assert {link.target_id for link in links if link.reconciled_in != report.cycle.pk} == set(gone)
    assert len(listing.threads) == 5  # 9 users in pages of 2: each page asked for once
    in_pool = [name for name in listing.threads if name.startswith("target-request")]
    if in_flight == 1:
        assert in_pool == []
    else:
        assert len(in_pool) == 4  # the pages after the first came through the request pool
        assert report.cycle.counters["requests_max_in_flight"] == 8


def test_a_listing_changed_while_read_reports_nothing_missing_and_recreates_nothing(
    app, scim, make_connector, provisioned
):
    more_users(app, make_connector, 6)
    listed = [r["id"] for r in scim.all_resources("Users")]
    job = app.provisioning_job
    job.max_requests_in_flight = 1
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()

    def delete_one_already_read():
        # Every later startIndex page shifts by one: an account is skipped by the listing.
        assert scim.request("DELETE", f"/Users/{listed[0]}").status_code == 204

    listing = ListingRequests(then=delete_one_already_read)
    report = run_reconcile(job, connector=make_connector(on_request=listing), page_size=3)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert ReconcileClass.MISSING not in report.counts
    assert report.counts["listing incomplete"] == 1
    # Nothing was re-created from the incomplete listing: the target has 7 accounts, not 8.
    assert len(scim.all_resources("Users")) == len(listed) - 1
    warning = ProvisioningLogEntry.objects.get(cycle_id=report.cycle.pk, status="Warning")
    assert "did not add up" in warning.reason


def test_groups_are_compared_in_batches_of_memberships(
    app, scim, make_connector, provisioned, monkeypatch
):
    from provisioning.reconcile import run

    alice, bob = provisioned["alice"], provisioned["bob"]
    teams = [provisioned["team"]]
    for name in ("Red", "Blue"):
        team = DirectoryGroupFactory(display_name=name)
        GroupMembership.objects.create(group=team, member_user=alice)
        GroupMembership.objects.create(group=team, member_user=bob)
        assign(app, team)
        teams.append(team)
    cycle = run_cycle(app.provisioning_job, initial=True, connector=make_connector()).cycle
    assert cycle.state == CycleState.SUCCEEDED, cycle.error
    red_id, bob_id = target_id(app, teams[1]), target_id(app, provisioned["bob"])
    patch(scim, "Groups", red_id, {"op": "remove", "path": f'members[value eq "{bob_id}"]'})
    monkeypatch.setattr(run, "MEMBERS_BATCH", 1)  # one group per batch
    batches = []
    member_batches = run.Reconciler.member_batches
    monkeypatch.setattr(
        run.Reconciler,
        "member_batches",
        lambda self, linked: batches.extend(b := list(member_batches(self, linked))) or b,
    )
    job = app.provisioning_job
    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()

    report = reconcile(app, make_connector)

    assert [len(batch) for batch in batches] == [1, 1, 1]
    (finding,) = findings(report, ReconcileClass.DRIFTED)
    assert finding.target_id == red_id and finding.outcome == "Repaired"
    assert finding.differences == [
        {"name": "members (added)", "old": None, "new": [bob_id], "count": 1}
    ]
    assert report.counts[ReconcileClass.IN_SYNC] == 4  # two users, two groups
    members = {m["value"] for m in scim.get_resource("Groups", red_id)["members"]}
    assert members == {bob_id, target_id(app, alice)}
