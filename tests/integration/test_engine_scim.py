"""The sync engine against a real scim2-server: initial and incremental cycles (F15–F18, F21)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from provisioning.choices import CycleState, LinkState, ObjectType, ProvisioningMode
from provisioning.directory.changes import current_watermark
from provisioning.engine.cycle import run_cycle
from provisioning.models import (
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ProvisionedObject,
    ProvisioningJob,
    ProvisioningLogEntry,
)
from provisioning.services.applications import add_application
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, assign
from tests.support.fault_proxy import Fault

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

pytestmark = pytest.mark.django_db


class Requests:
    """Every request a connector sent (on_request hook), for counting."""

    def __init__(self):
        self.sent = []

    def __call__(self, recorded, status):
        self.sent.append((recorded.method, recorded.url, recorded.json_body, status))

    def writes(self):
        return [r for r in self.sent if r[0] in ("POST", "PUT", "PATCH", "DELETE")]

    def clear(self):
        self.sent.clear()


@pytest.fixture
def requests_seen():
    return Requests()


@pytest.fixture
def app(scim):
    application = add_application("scim", "Target app")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    return application


@pytest.fixture
def connector(make_connector, requests_seen):
    def build(url=None, **options):
        options.setdefault("on_request", requests_seen)
        return make_connector(url, **options)

    return build


def cycle(app, connector, **kwargs):
    job = app.provisioning_job
    job.refresh_from_db()
    return run_cycle(job, connector=connector, **kwargs).cycle


def target_users(scim):
    return {u["userName"]: u for u in scim.all_resources("Users")}


def target_groups(scim):
    return {g["displayName"]: g for g in scim.all_resources("Groups")}


def test_initial_cycle_creates_users_groups_and_memberships(app, scim, connector):
    boss = DirectoryUserFactory(
        user_principal_name="boss@contoso.example", given_name="Bo", surname="Ss"
    )
    alice = DirectoryUserFactory(
        user_principal_name="alice@contoso.example",
        given_name="Alice",
        surname="Liddell",
        display_name="Alice Liddell",
        department="Research",
        employee_id="42",
        mobile="+886 2 1234",
        country="TW",
        manager=boss,
    )
    bob = DirectoryUserFactory(user_principal_name="bob@contoso.example")
    outsider = DirectoryUserFactory(user_principal_name="outsider@contoso.example")
    team = DirectoryGroupFactory(display_name="Team")
    GroupMembership.objects.create(group=team, member_user=alice)
    GroupMembership.objects.create(group=team, member_user=bob)
    assign(app, team)
    assign(app, boss)
    default_only = DirectoryUserFactory(user_principal_name="guest@contoso.example")
    assign(app, default_only, "Default Access")

    result = cycle(app, connector(), initial=True)

    assert result.state == CycleState.SUCCEEDED, result.error
    users = target_users(scim)
    assert set(users) == {"boss@contoso.example", "alice@contoso.example", "bob@contoso.example"}
    a = users["alice@contoso.example"]
    assert a["active"] is True
    assert a["name"] == {
        "givenName": "Alice",
        "familyName": "Liddell",
        "formatted": "Alice Liddell",
    }
    assert a["emails"][0]["value"] == "alice@contoso.example"
    assert a["externalId"] == str(alice.pk)
    assert a[ENTERPRISE]["department"] == "Research"
    assert a[ENTERPRISE]["employeeNumber"] == "42"
    assert a[ENTERPRISE]["manager"]["value"] == users["boss@contoso.example"]["id"]
    assert a["roles"][0]["value"] == "User"
    groups = target_groups(scim)
    assert set(groups) == {"Team"}
    assert {m["value"] for m in groups["Team"]["members"]} == {
        a["id"],
        users["bob@contoso.example"]["id"],
    }
    assert outsider.user_principal_name not in users
    skipped = ProvisioningLogEntry.objects.get(source_id=default_only.pk)
    assert skipped.status == "Skipped" and "no valid app role" in skipped.reason
    # Alice's manager may be created after her in the same chunk: she is written again in the
    # references pass, and still counted once.
    assert result.counters["users"] == 4 and result.counters["groups"] == 1
    creates = ProvisioningLogEntry.objects.filter(
        cycle_id=result.pk, action="Create", status="Success"
    )
    assert creates.count() == 4
    assert {s["name"] for s in creates.first().steps} == {"Import", "Scope", "Match", "Action"}
    assert (
        ProvisionedObject.objects.filter(
            job=app.provisioning_job, state=LinkState.PROVISIONED
        ).count()
        == 4
    )
    job = app.provisioning_job
    job.refresh_from_db()
    assert job.watermark == current_watermark() and not job.full_sync_required


def test_one_changed_attribute_sends_one_patch_with_only_it_and_nothing_when_unchanged(
    app, scim, connector, requests_seen
):
    user = DirectoryUserFactory(user_principal_name="carol@contoso.example", job_title="Engineer")
    assign(app, user)
    assert cycle(app, connector(), initial=True).state == CycleState.SUCCEEDED

    requests_seen.clear()
    result = cycle(app, connector())
    assert result.kind == "incremental"
    assert requests_seen.writes() == []

    user.job_title = "Principal Engineer"
    user.save()
    requests_seen.clear()
    assert cycle(app, connector()).state == CycleState.SUCCEEDED
    writes = requests_seen.writes()
    assert len(writes) == 1
    method, url, body, status = writes[0]
    bulk_ops = body.get("Operations") if "Bulk" in url else None
    patch = bulk_ops[0]["data"] if bulk_ops else body
    assert method in ("PATCH", "POST")
    assert [op.get("path") for op in patch["Operations"]] == ["title"]
    assert target_users(scim)["carol@contoso.example"]["title"] == "Principal Engineer"
    entry = ProvisioningLogEntry.objects.filter(source_id=user.pk, action="Update").get()
    assert entry.modified_properties == [
        {"name": "title", "old": "Engineer", "new": "Principal Engineer"}
    ]

    requests_seen.clear()
    user.save()  # touched, nothing different
    assert cycle(app, connector()).state == CycleState.SUCCEEDED
    assert requests_seen.writes() == []


def test_unassign_disables_reassign_enables_and_hard_delete_deletes(app, scim, connector):
    user = DirectoryUserFactory(user_principal_name="dave@contoso.example")
    assignment = assign(app, user)
    cycle(app, connector(), initial=True)
    assert target_users(scim)["dave@contoso.example"]["active"] is True

    assignment.delete()
    assert cycle(app, connector()).state == CycleState.SUCCEEDED
    assert target_users(scim)["dave@contoso.example"]["active"] is False
    assert ProvisioningLogEntry.objects.filter(
        source_id=user.pk, action="Disable", status="Success"
    ).exists()

    assign(app, user)
    cycle(app, connector())
    assert target_users(scim)["dave@contoso.example"]["active"] is True

    user.soft_delete()
    cycle(app, connector())
    assert target_users(scim)["dave@contoso.example"]["active"] is False

    DirectoryUser.objects.filter(pk=user.pk).delete()
    cycle(app, connector())
    assert "dave@contoso.example" not in target_users(scim)
    assert ProvisioningLogEntry.objects.filter(
        source_id=user.pk, action="Delete", status="Success"
    ).exists()
    assert not ProvisionedObject.objects.filter(source_id=user.pk).exists()


def test_disabled_account_is_disabled_and_comes_back(app, scim, connector):
    user = DirectoryUserFactory(user_principal_name="erin@contoso.example")
    assign(app, user)
    cycle(app, connector(), initial=True)
    DirectoryUser.objects.filter(pk=user.pk).update(account_enabled=False)
    cycle(app, connector())
    assert target_users(scim)["erin@contoso.example"]["active"] is False
    DirectoryUser.objects.filter(pk=user.pk).update(account_enabled=True)
    cycle(app, connector())
    assert target_users(scim)["erin@contoso.example"]["active"] is True


def test_membership_changes_patch_only_the_difference(app, scim, connector, requests_seen):
    group = DirectoryGroupFactory(display_name="Ops")
    one, two, three = (
        DirectoryUserFactory(user_principal_name=f"ops{i}@contoso.example") for i in range(3)
    )
    GroupMembership.objects.create(group=group, member_user=one)
    GroupMembership.objects.create(group=group, member_user=two)
    assign(app, group)
    cycle(app, connector(), initial=True)

    GroupMembership.objects.filter(group=group, member_user=two).delete()
    GroupMembership.objects.create(group=group, member_user=three)
    requests_seen.clear()
    assert cycle(app, connector()).state == CycleState.SUCCEEDED
    users = target_users(scim)
    members = {m["value"] for m in target_groups(scim)["Ops"]["members"]}
    assert members == {users["ops0@contoso.example"]["id"], users["ops2@contoso.example"]["id"]}
    # ops1 lost the group and with it the assignment: disabled, not deleted.
    assert users["ops1@contoso.example"]["active"] is False


def test_group_unassigned_is_deleted_in_the_target(app, scim, connector):
    group = DirectoryGroupFactory(display_name="Temp")
    assignment = assign(app, group)
    cycle(app, connector(), initial=True)
    assert "Temp" in target_groups(scim)
    assignment.delete()
    cycle(app, connector())
    assert "Temp" not in target_groups(scim)


@pytest.mark.parametrize(
    "upn",
    ['o"brien@contoso.example', "back\\slash@contoso.example", "jürgen.müller@例え.jp"],
)
def test_matching_values_with_quotes_backslashes_and_non_ascii_match(app, scim, connector, upn):
    existing = scim.request(
        "POST",
        "/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": upn},
    ).json()
    user = DirectoryUser.objects.create(user_principal_name=upn, display_name="Special")
    assign(app, user)
    # An incremental cycle matches with one filtered GET per object (no prefetched index).
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        full_sync_required=False, watermark=0
    )
    assert cycle(app, connector()).state == CycleState.SUCCEEDED
    assert len(scim.all_resources("Users")) == 1
    link = ProvisionedObject.objects.get(source_id=user.pk)
    assert link.target_id == existing["id"]


def test_incremental_with_one_change_touches_one_object_with_constant_queries(app, scim, connector):
    def directory(count):
        group = DirectoryGroupFactory()
        users = DirectoryUser.objects.bulk_create(
            [
                DirectoryUser(
                    user_principal_name=f"bulk{count}-{i}@contoso.example", display_name=f"U{i}"
                )
                for i in range(count)
            ]
        )
        GroupMembership.objects.bulk_create(
            GroupMembership(group=group, member_user=u) for u in users
        )
        return group, users

    def queries_for_one_change(count):
        group, users = directory(count)
        assignment = assign(app, group)
        assert cycle(app, connector(), initial=True).state == CycleState.SUCCEEDED
        users[count // 2].job_title = "Changed"
        users[count // 2].save()
        with CaptureQueriesContext(connection) as queries:
            result = cycle(app, connector())
        assert result.counters["users"] == 1 and result.counters["Update"] == {"Success": 1}
        # Clean up for the next size.
        assignment.delete()
        DirectoryUser.objects.filter(pk__in=[u.pk for u in users]).delete()
        DirectoryGroup.objects.filter(pk=group.pk).delete()
        job = app.provisioning_job
        ProvisionedObject.objects.filter(job=job).delete()
        scim.wipe()
        return len(queries)

    small = queries_for_one_change(100)
    large = queries_for_one_change(2000)
    assert large == small


def test_dry_run_sends_no_write_and_changes_nothing(app, scim, make_connector):
    user = DirectoryUserFactory(user_principal_name="dry@contoso.example")
    assign(app, user)
    report = run_cycle(app.provisioning_job, connector=make_connector(dry_run=True), dry_run=True)
    assert report.cycle.state == CycleState.SUCCEEDED
    assert scim.all_resources("Users") == []
    assert not ProvisionedObject.objects.exists()
    assert not ProvisioningLogEntry.objects.exists()
    job = app.provisioning_job
    job.refresh_from_db()
    assert job.watermark is None and job.full_sync_required


def test_dry_run_command_prints_the_requests(app, scim, capsys):
    from django.core.management import call_command

    user = DirectoryUserFactory(user_principal_name="printed@contoso.example")
    assign(app, user)
    call_command("provision", app.name, "--dry-run")
    out = capsys.readouterr().out
    assert "printed@contoso.example" in out and ("POST" in out)
    assert scim.all_resources("Users") == []


def test_provision_command_runs_a_cycle_and_prints_a_summary(app, scim, capsys):
    from django.core.management import call_command

    assign(app, DirectoryUserFactory(user_principal_name="cmd@contoso.example"))
    call_command("provision", app.name, "--initial")
    out = capsys.readouterr().out
    assert "Initial cycle of Target app: Completed" in out
    assert "Create: Success 1" in out
    assert "cmd@contoso.example" in target_users(scim)


# -- errors (F21), through the fault-injecting proxy ---------------------------------------


def no_bulk(connector_factory, url):
    return connector_factory(url, capability_overrides={"bulk": False})


def test_409_on_create_matches_and_links_the_existing_account(app, scim, connector, fault_proxy):
    user = DirectoryUserFactory(user_principal_name="conflict@contoso.example")
    assign(app, user)
    # The create reaches the target but its answer is lost; the retry answers 409.
    fault_proxy.inject(Fault.reset(after_upstream=True), method="POST", path="/Users")
    result = cycle(app, no_bulk(connector, fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    assert list(target_users(scim)) == ["conflict@contoso.example"]
    assert (
        ProvisionedObject.objects.get(source_id=user.pk).target_id
        == scim.all_resources("Users")[0]["id"]
    )


def test_404_on_a_linked_account_creates_it_again(app, scim, connector):
    user = DirectoryUserFactory(user_principal_name="gone@contoso.example")
    assign(app, user)
    cycle(app, connector(), initial=True)
    scim.wipe()  # someone deleted it in the target
    user.job_title = "Back"
    user.save()
    assert cycle(app, connector()).state == CycleState.SUCCEEDED
    users = target_users(scim)
    assert users["gone@contoso.example"]["title"] == "Back"
    assert (
        ProvisionedObject.objects.get(source_id=user.pk).target_id
        == users["gone@contoso.example"]["id"]
    )


@pytest.mark.parametrize(
    "fault",
    [Fault.retry_after(1), Fault.status(500), Fault.status(503), Fault.reset()],
    ids=["429", "500", "503", "reset"],
)
def test_transient_faults_are_retried_and_the_cycle_succeeds(
    app, scim, connector, fault_proxy, sleeps, fault
):
    assign(app, DirectoryUserFactory(user_principal_name="flaky@contoso.example"))
    # A 429 is retried by the HTTP client; a POST that failed otherwise is not resent
    # blindly: the engine looks the object up, finds nothing, and creates it once more after
    # an answer (500, 503), or in a later cycle when no answer came (a reset: the create may
    # still be at work in the target).
    fault_proxy.inject(fault, method="POST", times=2 if fault.status_code == 429 else 1)
    result = cycle(app, connector(fault_proxy.url), initial=True)
    if fault.kind == "reset":
        assert result.state == CycleState.COMPLETED_WITH_FAILURES
        assert target_users(scim) == {}
        result = cycle(app, connector(fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    assert list(target_users(scim)) == ["flaky@contoso.example"]
    if fault.status == 429:
        assert 1.0 in sleeps.delays


def test_a_malformed_answer_fails_that_object_only_and_escrows_it(
    app, scim, connector, fault_proxy
):
    good = DirectoryUserFactory(user_principal_name="good@contoso.example")
    bad = DirectoryUserFactory(user_principal_name="bad@contoso.example")
    assign(app, good)
    assign(app, bad)
    fault_proxy.inject(Fault.malformed_json(201), method="POST", path="/Users", times=1)
    c = no_bulk(connector, fault_proxy.url)
    result = cycle(app, c, initial=True)
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    failed = ProvisioningLogEntry.objects.get(cycle_id=result.pk, status="Failure")
    assert failed.reason and failed.error_code
    link = ProvisionedObject.objects.get(source_id=failed.source_id)
    assert link.failure_count == 1 and link.next_retry_at is not None
    # The escrowed object is retried (its retry falls due) and the target converges.
    ProvisionedObject.objects.filter(pk=link.pk).update(next_retry_at=link.created_at)
    result = cycle(app, no_bulk(connector, fault_proxy.url))
    assert result.state == CycleState.SUCCEEDED, result.error
    assert set(target_users(scim)) == {"good@contoso.example", "bad@contoso.example"}
    assert len(scim.all_resources("Users")) == 2


def test_bad_credentials_stop_the_cycle_with_a_credentials_error(app, scim, connector):
    assign(app, DirectoryUserFactory())
    result = cycle(app, connector(token="wrong-token"), initial=True)
    assert result.state == CycleState.FAILED
    assert "401" in result.error or "credential" in result.error.lower()
    job = app.provisioning_job
    job.refresh_from_db()
    assert job.watermark is None and job.full_sync_required


class Crash(BaseException):
    """Stands for the process dying: nothing in the engine catches it."""


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_a_cycle_killed_after_k_requests_then_rerun_converges_without_duplicates(
    app, scim, connector, k, bulk
):
    group = DirectoryGroupFactory(display_name="Crashers")
    for i in range(12):
        GroupMembership.objects.create(
            group=group,
            member_user=DirectoryUserFactory(user_principal_name=f"crash{i}@contoso.example"),
        )
    assign(app, group)
    seen = []

    def die_after_k(recorded, status):
        if recorded.method != "GET":
            seen.append(recorded)
            if len(seen) >= k:
                raise Crash

    overrides = {"bulk_max_operations": 5} if bulk else {"bulk": False}
    with pytest.raises(Crash):
        cycle(app, connector(on_request=die_after_k, capability_overrides=overrides), initial=True)
    result = cycle(app, connector(capability_overrides=overrides), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    users = scim.all_resources("Users")
    assert sorted(u["userName"] for u in users) == sorted(
        f"crash{i}@contoso.example" for i in range(12)
    )
    groups = scim.all_resources("Groups")
    assert [g["displayName"] for g in groups] == ["Crashers"]
    assert {m["value"] for m in groups[0]["members"]} == {u["id"] for u in users}
    links = ProvisionedObject.objects.filter(job=app.provisioning_job, object_type=ObjectType.USER)
    assert {link.target_id for link in links} == {u["id"] for u in users}


def test_on_demand_provisions_one_user_and_keeps_the_watermark(app, scim, connector):
    one = DirectoryUserFactory(user_principal_name="ondemand@contoso.example")
    other = DirectoryUserFactory(user_principal_name="notnow@contoso.example")
    assign(app, one)
    assign(app, other)
    result = cycle(app, connector(), user_ids=[one.pk])
    assert result.kind == "on_demand" and result.state == CycleState.SUCCEEDED
    assert list(target_users(scim)) == ["ondemand@contoso.example"]
    job = app.provisioning_job
    job.refresh_from_db()
    assert job.watermark is None


def test_a_mapping_change_makes_the_next_cycle_initial(app, scim, connector):
    assign(app, DirectoryUserFactory())
    cycle(app, connector(), initial=True)
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(full_sync_required=True)
    assert cycle(app, connector()).kind == "initial"
    assert cycle(app, connector()).kind == "incremental"
