"""Lost answers (issue 9, item 1): a write the target applied but whose answer never came back.

The fault proxy forwards the write to the real scim2-server and then answers 502, or drops the
connection. The engine must never resend such a create blindly: it looks the object up (groups by
externalId, then displayName) and links it. Whatever share of answers is lost, the target ends
with exactly one of every user and group, and the right members.
"""

import pytest

from provisioning.choices import CycleState, LinkState, ObjectType
from provisioning.models import GroupMembership, ProvisionedObject, ProvisioningLogEntry
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, assign
from tests.integration import test_engine_scim as engine
from tests.support.fault_proxy import WRITES, Fault
from tests.support.processes import wait_until

pytestmark = pytest.mark.django_db

# The engine tests' fixtures (a SCIM application, connectors that record requests).
app = engine.app
connector = engine.connector
requests_seen = engine.requests_seen
cycle = engine.cycle

GROUP_NAMES = ("Sales", "Engineering", "Support")
CYCLES_UNDER_FAULTS = 4


def small_directory(app, users=20):
    people = [
        DirectoryUserFactory(user_principal_name=f"lost{i}@contoso.example") for i in range(users)
    ]
    for number, name in enumerate(GROUP_NAMES):
        group = DirectoryGroupFactory(display_name=name)
        for person in people[number :: len(GROUP_NAMES)]:
            GroupMembership.objects.create(group=group, member_user=person)
        assign(app, group)
    return people


def assert_no_duplicates(scim):
    names = [g["displayName"] for g in scim.all_resources("Groups")]
    assert len(names) == len(set(names)), sorted(names)
    user_names = [u["userName"] for u in scim.all_resources("Users")]
    assert len(user_names) == len(set(user_names)), sorted(user_names)


def assert_converged(scim, people):
    users = {u["userName"]: u for u in scim.all_resources("Users")}
    assert sorted(users) == sorted(p.user_principal_name for p in people)
    groups = scim.all_resources("Groups")
    assert sorted(g["displayName"] for g in groups) == sorted(GROUP_NAMES)
    for group in groups:
        number = GROUP_NAMES.index(group["displayName"])
        expected = {users[p.user_principal_name]["id"] for p in people[number :: len(GROUP_NAMES)]}
        assert {m["value"] for m in group.get("members") or []} == expected, group["displayName"]


def overrides(bulk):
    return {"bulk_max_operations": 4} if bulk else {"bulk": False}


@pytest.mark.parametrize("answer", ["502", "dropped"])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5], ids=["10%", "30%", "50%"])
@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
def test_lost_answers_to_writes_never_duplicate_and_the_cycles_converge(
    app, scim, connector, fault_proxy, bulk, rate, answer
):
    people = small_directory(app)
    lost = Fault.lost_answer(502) if answer == "502" else Fault.dropped_answer()
    # At least one group create, whatever the draw (a user's second POST would meet a 409).
    fault_proxy.inject(lost, method="POST", body='"displayName": "Sales"')
    fault_proxy.set_random_faults(rate, [lost], method=WRITES, seed=int(rate * 100) + len(answer))
    for _number in range(CYCLES_UNDER_FAULTS):
        result = cycle(
            app, connector(fault_proxy.url, capability_overrides=overrides(bulk)), initial=True
        )
        assert result.state != CycleState.FAILED, result.error
        assert_no_duplicates(scim)
    assert sum(fault_proxy.faults.values()) > 0
    fault_proxy.clear()
    result = cycle(
        app, connector(fault_proxy.url, capability_overrides=overrides(bulk)), initial=True
    )
    assert result.state == CycleState.SUCCEEDED, result.error
    assert_converged(scim, people)
    links = ProvisionedObject.objects.filter(job=app.provisioning_job)
    assert links.filter(object_type=ObjectType.USER, state=LinkState.PROVISIONED).count() == 20
    assert links.filter(object_type=ObjectType.GROUP, state=LinkState.PROVISIONED).count() == 3


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
@pytest.mark.parametrize("answer", ["502", "dropped"])
def test_a_group_create_whose_answer_is_lost_is_found_linked_and_logged_as_create(
    app, scim, connector, fault_proxy, requests_seen, bulk, answer
):
    group = DirectoryGroupFactory(display_name="Sales")
    assign(app, group)
    lost = Fault.lost_answer(502) if answer == "502" else Fault.dropped_answer()
    fault_proxy.inject(lost, method="POST", path="/Bulk" if bulk else "/Groups")
    result = cycle(
        app, connector(fault_proxy.url, capability_overrides=overrides(bulk)), initial=True
    )
    assert result.state == CycleState.SUCCEEDED, result.error
    groups = scim.all_resources("Groups")
    assert [g["displayName"] for g in groups] == ["Sales"]
    assert groups[0]["externalId"] == str(group.pk)  # what finds it again
    assert ProvisionedObject.objects.get(source_id=group.pk).target_id == groups[0]["id"]
    # The create reached the target once: no blind resend.
    posts = [r for r in requests_seen.sent if r[0] == "POST"]
    assert len(posts) == 1
    entries = ProvisioningLogEntry.objects.filter(cycle_id=result.pk, source_id=group.pk)
    assert [(e.action, e.status) for e in entries] == [("Create", "Success")]
    steps = entries.get().steps
    assert any("lost" in step["detail"] for step in steps)


def test_a_lost_create_that_did_not_happen_is_created_once_more(app, scim, connector, fault_proxy):
    user = DirectoryUserFactory(user_principal_name="never@contoso.example")
    assign(app, user)
    # The target never saw it: the answer is a 502 from the proxy itself.
    fault_proxy.inject(Fault.status(502), method="POST", path="/Users")
    result = cycle(
        app, connector(fault_proxy.url, capability_overrides={"bulk": False}), initial=True
    )
    assert result.state == CycleState.SUCCEEDED, result.error
    assert [u["userName"] for u in scim.all_resources("Users")] == ["never@contoso.example"]
    entry = ProvisioningLogEntry.objects.get(cycle_id=result.pk, source_id=user.pk)
    assert (entry.action, entry.status) == ("Create", "Success")


def test_a_group_mapping_without_externalid_still_sends_it_on_create(app, scim, connector):
    mapping = app.provisioning_job.mappings.get(object_type=ObjectType.GROUP)
    mapping.attributes.filter(target_attribute="externalId").delete()
    group = DirectoryGroupFactory(display_name="Plain")
    assign(app, group)
    assert cycle(app, connector(), initial=True).state == CycleState.SUCCEEDED
    assert scim.all_resources("Groups")[0]["externalId"] == str(group.pk)


def test_a_bulk_answer_without_results_is_resolved_operation_by_operation(
    app, scim, connector, fault_proxy
):
    people = small_directory(app, users=6)
    empty = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"], "Operations": []}
    # The target applies every Bulk, and answers two of them with no operation results.
    fault_proxy.inject(Fault.json(200, empty, after_upstream=True), method="POST", times=2)
    result = cycle(app, connector(fault_proxy.url, capability_overrides=overrides(True)))
    assert result.state == CycleState.SUCCEEDED, result.error
    assert_converged(scim, people)
    creates = ProvisioningLogEntry.objects.filter(cycle_id=result.pk, action="Create")
    assert creates.filter(status="Success").count() == 6 + len(GROUP_NAMES)


def test_a_create_still_in_flight_after_a_read_timeout_is_not_created_twice(
    app, scim, connector, fault_proxy
):
    group = DirectoryGroupFactory(display_name="Slow")
    assign(app, group)
    # The proxy holds the create past the client's read timeout, then forwards it: when the
    # engine looks it up, the target has not seen it yet.
    fault_proxy.inject(Fault.delay(3), method="POST", path="/Groups")
    slow = connector(fault_proxy.url, capability_overrides={"bulk": False}, timeout=(2.0, 1.0))
    result = cycle(app, slow, initial=True)
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    wait_until(lambda: fault_proxy.count("POST", "/Groups", forwarded=True) == 1, timeout=30)
    assert [g["displayName"] for g in scim.all_resources("Groups")] == ["Slow"]
    result = cycle(app, connector(fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    assert [g["displayName"] for g in scim.all_resources("Groups")] == ["Slow"]
    assert (
        ProvisionedObject.objects.get(source_id=group.pk).target_id
        == (scim.all_resources("Groups")[0]["id"])
    )


def test_a_group_renamed_after_its_create_went_unanswered_is_found_by_externalid(
    app, scim, connector, fault_proxy
):
    group = DirectoryGroupFactory(display_name="Before")
    assign(app, group)
    fault_proxy.inject(Fault.delay(3), method="POST", path="/Groups")
    slow = connector(fault_proxy.url, capability_overrides={"bulk": False}, timeout=(2.0, 1.0))
    assert cycle(app, slow, initial=True).state == CycleState.COMPLETED_WITH_FAILURES
    wait_until(lambda: fault_proxy.count("POST", "/Groups", forwarded=True) == 1, timeout=30)
    group.display_name = "After"
    group.save()
    result = cycle(app, connector(fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    groups = scim.all_resources("Groups")
    assert [g["displayName"] for g in groups] == ["After"]
    assert ProvisionedObject.objects.get(source_id=group.pk).target_id == groups[0]["id"]


@pytest.mark.parametrize("answer", ["502", "dropped"])
def test_member_additions_go_in_bulk_and_a_lost_answer_is_read_back_not_resent(
    app, scim, connector, fault_proxy, requests_seen, answer
):
    """Issue 16: with Bulk, every group's member additions are PATCH operations of Bulk requests
    (no PATCH /Groups of their own). When that Bulk request's answer is lost, the groups are
    failed and their members read back from the target by the next cycle, which sends only
    what is missing — here nothing, since the target had applied it."""
    people = small_directory(app, users=9)
    fault_proxy.inject(
        Fault.lost_answer(502) if answer == "502" else Fault.dropped_answer(),
        method="POST",
        path="/Bulk",
        body='"path": "members"',
    )
    first = cycle(app, connector(fault_proxy.url), initial=True)
    assert first.state == CycleState.COMPLETED_WITH_FAILURES, first.error
    member_bulks = [
        r
        for r in requests_seen.sent
        if r[0] == "POST"
        and r[1].endswith("/Bulk")
        and any(op["method"] == "PATCH" for op in r[2]["Operations"])
    ]
    assert len(member_bulks) == 1  # one Bulk request, never resent
    assert {op["path"].split("/")[1] for op in member_bulks[0][2]["Operations"]} == {"Groups"}
    assert len(member_bulks[0][2]["Operations"]) == len(GROUP_NAMES)
    assert not [r for r in requests_seen.sent if r[0] == "PATCH"]
    failed = ProvisioningLogEntry.objects.filter(
        cycle_id=first.pk, object_type=ObjectType.GROUP, action="Update", status="Failure"
    )
    assert failed.count() == len(GROUP_NAMES)
    assert_converged(scim, people)  # the target applied it: the answer only was lost

    requests_seen.clear()
    # A full cycle (the failed groups are in escrow for a few minutes).
    second = cycle(app, connector(fault_proxy.url), initial=True)
    assert second.state == CycleState.SUCCEEDED, second.error
    reads = [r for r in requests_seen.sent if r[0] == "GET" and "/Groups/" in r[1]]
    assert len(reads) == len(GROUP_NAMES)  # each group's members read back
    assert not requests_seen.writes()  # nothing was missing: nothing sent again
    assert_converged(scim, people)
    assert_no_duplicates(scim)
