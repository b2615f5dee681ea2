"""Group memberships against a real scim2-server (issue 9, items 2–5).

- A failed match never strips members: a member the engine cannot place is left alone, and a
  cycle whose user matching mostly failed removes no member at all.
- One rule for disabled accounts (docs/architecture.md): only enabled accounts are members; a
  disabled account leaves its groups and comes back to them when enabled again.
- A user deleted with the Delete action on leaves its groups first (scim2-server does not cascade).
- Member removal falls back between the RFC filter form and Azure's value form, and the job
  remembers the one that works.
"""

import json

import pytest

from provisioning.choices import CycleState
from provisioning.engine.learnt import member_removal_form
from provisioning.models import (
    DirectoryUser,
    GroupMembership,
    ProvisioningJob,
    ProvisioningLogEntry,
)
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, assign
from tests.integration import test_engine_scim as engine
from tests.support.fault_proxy import Fault

pytestmark = pytest.mark.django_db

# The engine tests' fixtures (a SCIM application, connectors that record requests).
app = engine.app
connector = engine.connector
requests_seen = engine.requests_seen
cycle = engine.cycle
target_groups = engine.target_groups
target_users = engine.target_users

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def seed_target(scim, count, group_name="Sales", foreign=2):
    """A target that already holds ``count`` accounts, all members of ``group_name``."""
    ids = []
    for number in range(count):
        created = scim.request(
            "POST",
            "/Users",
            json={"schemas": [USER_SCHEMA], "userName": f"held{number}@contoso.example"},
        )
        created.raise_for_status()
        ids.append(created.json()["id"])
    for number in range(foreign):
        created = scim.request(
            "POST", "/Users", json={"schemas": [USER_SCHEMA], "userName": f"other{number}@x"}
        )
        ids.append(created.json()["id"])
    scim.request(
        "POST",
        "/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": group_name,
            "members": [{"value": i} for i in ids],
        },
    ).raise_for_status()
    return set(ids)


def directory_for(app, count, group_name="Sales"):
    group = DirectoryGroupFactory(display_name=group_name)
    for number in range(count):
        GroupMembership.objects.create(
            group=group,
            member_user=DirectoryUserFactory(user_principal_name=f"held{number}@contoso.example"),
        )
    assign(app, group)
    return group


def member_ids(scim, name):
    return {m["value"] for m in target_groups(scim)[name].get("members") or []}


def removals(requests_seen):
    found = []
    for method, url, body, _status in requests_seen.sent:
        text = json.dumps(body or {})
        if method in ("PATCH", "POST") and '"remove"' in text.lower() and "members" in text:
            found.append((method, url))
    return found


@pytest.mark.parametrize("initial", [True, False], ids=["initial", "incremental"])
def test_failed_user_lookups_remove_no_member_and_list_the_target_at_most_once(
    app, scim, connector, fault_proxy, requests_seen, initial
):
    held = seed_target(scim, 30)
    directory_for(app, 30)
    if not initial:
        ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
            full_sync_required=False, watermark=0
        )
    # Every read of /Users fails: filtered lookups and listings alike. Groups still match.
    fault_proxy.inject(Fault.status(500), method="GET", path="/Users", times=None)
    result = cycle(app, connector(fault_proxy.url), initial=initial or None)
    assert result.state == CycleState.COMPLETED_WITH_FAILURES, result.error
    assert member_ids(scim, "Sales") == held
    assert removals(requests_seen) == []
    # One filtered lookup and one listing (each with its retries), then every other user is
    # escrowed without a request: not one listing per object.
    assert fault_proxy.count("GET", "/Users") <= 8
    warning = ProvisioningLogEntry.objects.filter(
        cycle_id=result.pk, status="Warning", source_id__isnull=True
    )
    assert warning.exists()


def test_a_member_whose_user_failed_to_be_created_is_left_in_the_group(
    app, scim, connector, fault_proxy, requests_seen
):
    held = seed_target(scim, 0, foreign=0)
    group = DirectoryGroupFactory(display_name="Sales")
    people = [
        DirectoryUserFactory(user_principal_name=f"p{number}@contoso.example")
        for number in range(40)
    ]
    for person in people:
        GroupMembership.objects.create(group=group, member_user=person)
    assign(app, group)
    # The target already has p0 in Sales under another userName (the engine cannot place it),
    # and refuses p0's create.
    stranger = scim.request(
        "POST", "/Users", json={"schemas": [USER_SCHEMA], "userName": "p0-old@contoso.example"}
    ).json()["id"]
    sales = target_groups(scim)["Sales"]
    scim.request(
        "PATCH",
        f"/Groups/{sales['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": stranger}]}],
        },
    ).raise_for_status()
    fault_proxy.inject(
        Fault.status(400, detail="refused"),
        method="POST",
        path="/Users",
        body='"p0@contoso.example"',
        times=None,
    )
    result = cycle(
        app, connector(fault_proxy.url, capability_overrides={"bulk": False}), initial=True
    )
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    users = target_users(scim)
    assert "p0@contoso.example" not in users
    expected = {stranger} | held | {users[f"p{n}@contoso.example"]["id"] for n in range(1, 40)}
    assert member_ids(scim, "Sales") == expected
    assert removals(requests_seen) == []


def azure_member_removal_only(body: bytes) -> bytes:
    """A target that takes only Azure's removal form: translate it for scim2-server."""
    try:
        patch = json.loads(body)
    except ValueError:
        return body
    operations = []
    for op in patch.get("Operations") or []:
        if str(op.get("op")).lower() == "remove" and op.get("path") == "members":
            for item in op.get("value") or []:
                operations.append({"op": "remove", "path": f'members[value eq "{item["value"]}"]'})
        else:
            operations.append(op)
    patch["Operations"] = operations
    return json.dumps(patch).encode()


@pytest.mark.parametrize("target", ["scim2-server", "azure-form-only"])
def test_membership_lifecycle_disable_enable_unassign_delete(
    app, scim, connector, fault_proxy, requests_seen, target
):
    if target == "azure-form-only":
        fault_proxy.inject(
            Fault.status(501, detail="filtered paths are not implemented"),
            method="PATCH",
            path="/Groups",
            body="members[value eq",
            times=None,
        )
        fault_proxy.inject(
            Fault.rewrite(azure_member_removal_only), method="PATCH", path="/Groups", times=None
        )
    team = DirectoryGroupFactory(display_name="Team")
    alice, bob, carol = (
        DirectoryUserFactory(user_principal_name=f"{name}@contoso.example")
        for name in ("alice", "bob", "carol")
    )
    for person in (alice, bob, carol):
        GroupMembership.objects.create(group=team, member_user=person)
    assign(app, team)
    assign(app, carol)  # carol has her own assignment too

    def run():
        result = cycle(app, connector(fault_proxy.url))
        assert result.state == CycleState.SUCCEEDED, result.error
        return target_users(scim)

    users = run()
    ids = {name: users[f"{name}@contoso.example"]["id"] for name in ("alice", "bob", "carol")}
    assert member_ids(scim, "Team") == set(ids.values())

    # Disabled: out of the group (the rule in docs/architecture.md), account inactive.
    DirectoryUser.objects.filter(pk=alice.pk).update(account_enabled=False)
    users = run()
    assert users["alice@contoso.example"]["active"] is False
    assert member_ids(scim, "Team") == {ids["bob"], ids["carol"]}

    # Enabled again: back in the group, with no other change needed.
    DirectoryUser.objects.filter(pk=alice.pk).update(account_enabled=True)
    users = run()
    assert users["alice@contoso.example"]["active"] is True
    assert member_ids(scim, "Team") == set(ids.values())

    # Unassigned (bob's only way into scope was Team): disabled and out of the group.
    GroupMembership.objects.filter(group=team, member_user=bob).delete()
    users = run()
    assert users["bob@contoso.example"]["active"] is False
    assert member_ids(scim, "Team") == {ids["alice"], ids["carol"]}

    # Deleted with the Delete action on: its memberships go first (no cascade in the target).
    requests_seen.clear()
    DirectoryUser.objects.filter(pk=carol.pk).delete()
    users = run()
    assert "carol@contoso.example" not in users
    assert member_ids(scim, "Team") == {ids["alice"]}
    writes = [(m, url) for m, url, _b, _s in requests_seen.sent if m != "GET"]
    delete_at = next(i for i, (m, url) in enumerate(writes) if m == "DELETE")
    assert any(m == "PATCH" and "/Groups/" in url for m, url in writes[:delete_at])

    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    expected_form = "value" if target == "azure-form-only" else "filter"
    assert member_removal_form(job) == expected_form
    if target == "azure-form-only":
        # Remembered: the next removal goes straight to the form that works.
        fault_proxy.reset_counters()
        GroupMembership.objects.filter(group=team, member_user=alice).delete()
        run()
        assert member_ids(scim, "Team") == set()
        assert fault_proxy.faults["respond:501"] == 0


def test_a_target_whose_paging_misbehaves_is_matched_by_filter_and_keeps_its_members(
    app, scim, connector, fault_proxy, requests_seen
):
    held = seed_target(scim, 30, foreign=0)
    directory_for(app, 30)
    # The listing of users repeats its first page whatever startIndex says.
    page = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 170,
        "Resources": [
            {"id": "page-1", "userName": "held0@contoso.example", "schemas": [USER_SCHEMA]}
        ],
    }
    fault_proxy.inject(
        Fault.json(200, page), method="GET", path="/Users", query="count=1000", times=None
    )
    result = cycle(app, connector(fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    assert member_ids(scim, "Sales") == held
    assert removals(requests_seen) == []
    # One listing (two pages, then the loop is noticed), then one filtered GET per user.
    searches = [r for r in fault_proxy.requests if r.method == "GET" and r.path.endswith("/Users")]
    assert len(searches) <= 2 + 30
    assert len(scim.all_resources("Users")) == 30


def test_removals_withheld_by_a_failed_matching_are_made_by_the_next_cycle(
    app, scim, connector, fault_proxy, requests_seen
):
    team = DirectoryGroupFactory(display_name="Team")
    people = [
        DirectoryUserFactory(user_principal_name=f"t{number}@contoso.example")
        for number in range(6)
    ]
    for person in people:
        GroupMembership.objects.create(group=team, member_user=person)
    assign(app, team)
    assert cycle(app, connector(fault_proxy.url)).state == CycleState.SUCCEEDED
    leaver = target_users(scim)["t0@contoso.example"]["id"]
    # t0 leaves Team; a newcomer's lookups fail (filtered GETs and the listing alike).
    GroupMembership.objects.filter(group=team, member_user=people[0]).delete()
    GroupMembership.objects.create(
        group=team, member_user=DirectoryUserFactory(user_principal_name="new@contoso.example")
    )
    fault_proxy.inject(Fault.status(500), method="GET", path="/Users", query="new", times=None)
    fault_proxy.inject(Fault.status(500), method="GET", path="/Users", query="count=1000")
    fault_proxy.inject(Fault.status(500), method="GET", path="/Users", query="count=1000", times=3)
    result = cycle(app, connector(fault_proxy.url))
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    assert leaver in member_ids(scim, "Team")  # withheld: the matching mostly failed
    # The next cycle, with no directory change and the target well again, removes it.
    fault_proxy.clear()
    result = cycle(app, connector(fault_proxy.url))
    assert result.state != CycleState.FAILED, result.error
    assert leaver not in member_ids(scim, "Team")
    result = cycle(app, connector(fault_proxy.url))
    assert result.counters.get("groups", 0) == 0  # no longer due
