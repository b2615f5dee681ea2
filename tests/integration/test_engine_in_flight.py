"""Requests in flight (issue 16): many at once, in the order that matters, adapting to the target.

Against the real scim2-server behind the fault proxy, which records when each request arrived
and when its answer left, and with the target's Bulk switched off (its ServiceProviderConfig
answered by the proxy with ``bulk.supported: false``), so every create, update and membership
change is its own request.
"""

import json
import re
import time
from collections import defaultdict

import pytest

from provisioning.choices import CycleKind, CycleState, LinkState, ObjectType
from provisioning.models import GroupMembership, ProvisionedObject, ProvisioningJob
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, assign
from tests.integration import test_engine_scim as engine
from tests.support.fault_proxy import Fault

pytestmark = pytest.mark.django_db

app = engine.app
connector = engine.connector
requests_seen = engine.requests_seen
cycle = engine.cycle

GROUP_NAMES = ("Sales", "Engineering", "Support", "Finance")
MAX_CYCLES = 10


def without_bulk(scim, proxy):
    """The proxy answers the target's ServiceProviderConfig with Bulk switched off."""
    config = scim.request("GET", "/ServiceProviderConfig").json()
    config["bulk"] = {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    proxy.inject(Fault.json(200, config), path="/ServiceProviderConfig", times=None)


def set_in_flight(app, number, **fields):
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        max_requests_in_flight=number, **fields
    )


def directory(app, users, *, managers=False):
    people = [
        DirectoryUserFactory(user_principal_name=f"flight{i:03d}@contoso.example")
        for i in range(users)
    ]
    if managers:
        # Every fifth person manages the four after them (managers created in the same cycle).
        for number, person in enumerate(people):
            if number % 5:
                person.manager = people[number - number % 5]
                person.save()
    for number, name in enumerate(GROUP_NAMES):
        group = DirectoryGroupFactory(display_name=name)
        for person in people[number :: len(GROUP_NAMES)]:
            GroupMembership.objects.create(group=group, member_user=person)
        assign(app, group)
    return people


def assert_exactly(scim, people, *, managers=False):
    users = {u["userName"]: u for u in scim.all_resources("Users")}
    names = [u["userName"] for u in scim.all_resources("Users")]
    assert len(names) == len(set(names)), "a user was created twice"
    assert sorted(users) == sorted(p.user_principal_name for p in people)
    groups = scim.all_resources("Groups")
    assert sorted(g["displayName"] for g in groups) == sorted(GROUP_NAMES)
    for group in groups:
        number = GROUP_NAMES.index(group["displayName"])
        expected = {users[p.user_principal_name]["id"] for p in people[number :: len(GROUP_NAMES)]}
        assert {m["value"] for m in group.get("members") or []} == expected, group["displayName"]
    if managers:
        ext = engine.ENTERPRISE
        for number, person in enumerate(people):
            manager = (users[person.user_principal_name].get(ext) or {}).get("manager")
            if number % 5:
                boss = people[number - number % 5].user_principal_name
                assert manager and manager["value"] == users[boss]["id"], person
    return users


def object_key(seen):
    """Which object a request is about: the path's id, or the name a create carries."""
    match = re.match(r".*/(Users|Groups)/([^/?]+)$", seen.path)
    if match:
        return match.group(2)
    if seen.method == "POST" and seen.body:
        body = json.loads(seen.body)
        return body.get("userName") or body.get("externalId") or body.get("displayName")
    return None


def assert_one_request_per_object_at_a_time(proxy):
    by_object = defaultdict(list)
    for seen in list(proxy.requests):
        key = object_key(seen)
        if key is not None and seen.method != "GET":
            by_object[key].append((seen.started, seen.finished or seen.started))
    for key, spans in by_object.items():
        spans.sort()
        for (_start, end), (next_start, _end) in zip(spans, spans[1:], strict=False):
            assert next_start >= end, f"two requests in flight at once for {key}"


def most_in_flight(proxy):
    events = []
    for seen in list(proxy.requests):
        events.append((seen.started, 1))
        events.append((seen.finished or seen.started, -1))
    level = peak = 0
    for _at, step in sorted(events, key=lambda e: (e[0], e[1])):
        level += step
        peak = max(peak, level)
    return peak


def test_order_constraints_hold_with_16_in_flight(app, scim, connector, fault_proxy):
    """Groups exist before members are added; a manager's account before a user points at it;
    one object never has two requests in flight; and many requests were in flight at once."""
    without_bulk(scim, fault_proxy)
    set_in_flight(app, 16)
    people = directory(app, 40, managers=True)
    # Creates of some users answer slowly, so answers come back out of order.
    fault_proxy.inject(Fault.delay(0.3), method="POST", path="/Users", times=6)
    result = cycle(app, connector(fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    users = assert_exactly(scim, people, managers=True)
    seen = list(fault_proxy.requests)
    assert not [s for s in seen if s.method != "GET" and s.status == 404], "a write met a 404"
    # Every member add came after its group's create had been answered.
    group_created = {}
    for request in seen:
        if request.method == "POST" and request.path.endswith("/Groups"):
            external_id = json.loads(request.body)["externalId"]
            group_created[external_id] = request.finished
    group_ids = {g["id"]: g["externalId"] for g in scim.all_resources("Groups")}
    member_adds = [s for s in seen if s.method == "PATCH" and "/Groups/" in s.path]
    assert member_adds
    for request in member_adds:
        external_id = group_ids[request.path.rsplit("/", 1)[-1]]
        assert request.started >= group_created[external_id]
    # Every manager reference was sent after the manager's create had been answered.
    user_created = {}
    for request in seen:
        if request.method == "POST" and request.path.endswith("/Users") and request.status == 201:
            user_created[users[json.loads(request.body)["userName"]]["id"]] = request.finished
    references = 0
    for request in seen:
        if request.method in ("POST", "PATCH") and "/Users" in request.path:
            # {"manager": {"value": id}} in a create, or a PATCH of a path ending in manager.
            manager_ids = re.findall(r'manager"[^{]*\{"value": "([^"]+)"', request.body.decode())
            for manager_id in manager_ids:
                references += 1
                assert request.started >= user_created[manager_id]
    assert references >= 32
    assert_one_request_per_object_at_a_time(fault_proxy)
    assert most_in_flight(fault_proxy) > 1  # several in flight, not one at a time
    assert result.counters["requests_max_in_flight"] == 16
    assert 1 <= result.counters["requests_peak_in_flight"] <= 16


def test_20_percent_faults_with_16_in_flight_converge_without_duplicates(
    app, scim, connector, fault_proxy
):
    """500, 503, 429 with Retry-After, resets and delays on a fifth of the requests: the
    cycles converge to exactly the expected objects, and the limit went down on 429s and
    grew back."""
    without_bulk(scim, fault_proxy)
    set_in_flight(app, 16)
    people = directory(app, 60)
    faults = [
        Fault.status(500),
        Fault.status(503),
        Fault.retry_after("0.2"),
        Fault.reset(),
        Fault.delay(0.2),
    ]
    fault_proxy.set_random_faults(0.2, faults, seed=16)
    states, decreased, regrown = [], 0, 0
    for _number in range(MAX_CYCLES):
        # Initial cycles: escrowed objects are due minutes later, an initial cycle takes all.
        result = cycle(app, connector(fault_proxy.url), initial=True)
        assert result.state != CycleState.FAILED, result.error
        states.append(result.state)
        decreased += result.counters.get("requests_concurrency_decreases", 0)
        regrown += result.counters.get("requests_concurrency_regrown", 0)
        assert_one_request_per_object_at_a_time(fault_proxy)
        if result.state == CycleState.SUCCEEDED:
            break
    assert fault_proxy.faults["respond:429"] > 0
    assert states[-1] == CycleState.SUCCEEDED, states
    assert_exactly(scim, people)
    links = ProvisionedObject.objects.filter(job=app.provisioning_job)
    assert links.filter(object_type=ObjectType.USER, state=LinkState.PROVISIONED).count() == 60
    assert links.filter(object_type=ObjectType.GROUP, state=LinkState.PROVISIONED).count() == 4
    assert decreased > 0, "the limit never went down"
    assert regrown > 0, "the limit never grew back"


def test_the_rate_limit_holds_with_16_in_flight(app, scim, connector, fault_proxy):
    """10 requests per second, 16 allowed in flight: no one-second window holds more than 10."""
    without_bulk(scim, fault_proxy)
    set_in_flight(app, 16)
    people = directory(app, 24)
    built = connector(fault_proxy.url, requests_per_second=10, sleep=time.sleep)
    fault_proxy.reset_counters()
    result = cycle(app, built, initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    assert_exactly(scim, people)
    arrivals = sorted(s.started for s in fault_proxy.requests)
    assert len(arrivals) > 30
    # Arrival times are measured at the proxy: allow 20 ms of scheduling noise.
    most = max(
        sum(1 for t in arrivals[i:] if t < start + 1.0 - 0.02) for i, start in enumerate(arrivals)
    )
    assert most <= 10, most
    # The cycle's record keeps the rate (n requests 0.1 s apart take (n - 1) / 10 s).
    assert 5 <= result.counters["requests_per_second_mean"] <= 11


def test_one_in_flight_sends_one_request_at_a_time(app, scim, connector, fault_proxy):
    without_bulk(scim, fault_proxy)
    set_in_flight(app, 1)
    people = directory(app, 12)
    result = cycle(app, connector(fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    assert_exactly(scim, people)
    assert most_in_flight(fault_proxy) == 1


def test_the_setting_is_bounded():
    field = ProvisioningJob._meta.get_field("max_requests_in_flight")
    assert field.default == 8
    from django.core.exceptions import ValidationError

    for bad in (0, 65):
        with pytest.raises(ValidationError):
            field.run_validators(bad)
    field.run_validators(64)


def in_flight_peak(requests):
    events = []
    for seen in requests:
        events.append((seen.started, 1))
        events.append((seen.finished or seen.started, -1))
    level = peak = 0
    for _at, step in sorted(events, key=lambda e: (e[0], e[1])):
        level += step
        peak = max(peak, level)
    return peak


def create_in_target(scim, user_names):
    ids = {}
    for name in user_names:
        response = scim.request(
            "POST",
            "/Users",
            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name},
            headers={"Content-Type": "application/scim+json"},
        )
        response.raise_for_status()
        ids[name] = response.json()["id"]
    return ids


def test_an_incremental_cycle_looks_new_objects_up_concurrently(app, scim, connector, fault_proxy):
    without_bulk(scim, fault_proxy)
    set_in_flight(app, 16)
    result = cycle(app, connector(fault_proxy.url), initial=True)  # nothing assigned yet
    assert result.state == CycleState.SUCCEEDED, result.error
    people = [
        DirectoryUserFactory(user_principal_name=f"lookup{i:02d}@contoso.example")
        for i in range(24)
    ]
    existing = create_in_target(scim, [p.user_principal_name for p in people[::2]])
    for person in people:
        assign(app, person)
    fault_proxy.reset_counters()
    # Each lookup answers slowly: one at a time would take 24 × 0.2 s.
    fault_proxy.inject(Fault.delay(0.2), method="GET", path="/Users", query="filter", times=None)
    result = cycle(app, connector(fault_proxy.url))
    assert result.kind == CycleKind.INCREMENTAL
    assert result.state == CycleState.SUCCEEDED, result.error
    lookups = [s for s in fault_proxy.requests if s.method == "GET" and "filter" in s.query]
    assert len(lookups) >= 24
    assert in_flight_peak(lookups) > 1
    users = {u["userName"]: u["id"] for u in scim.all_resources("Users")}
    assert sorted(users) == sorted(p.user_principal_name for p in people)  # none twice
    for name, target_id in existing.items():
        assert users[name] == target_id  # matched and linked, not created again
    links = ProvisionedObject.objects.filter(job=app.provisioning_job, object_type=ObjectType.USER)
    assert links.filter(state=LinkState.PROVISIONED).count() == 24


def test_an_initial_cycle_lists_the_target_with_concurrent_pages(
    app, scim, connector, fault_proxy, monkeypatch
):
    from provisioning.engine import match

    monkeypatch.setattr(match, "LIST_PAGE_SIZE", 5)
    without_bulk(scim, fault_proxy)
    set_in_flight(app, 16)
    people = [
        DirectoryUserFactory(user_principal_name=f"paged{i:02d}@contoso.example") for i in range(28)
    ]
    existing = create_in_target(scim, [p.user_principal_name for p in people[:23]])
    for person in people:
        assign(app, person)
    fault_proxy.inject(
        Fault.delay(0.2), method="GET", path="/Users", query="startIndex", times=None
    )
    result = cycle(app, connector(fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED, result.error
    pages = [
        s
        for s in fault_proxy.requests
        if s.method == "GET" and s.path.endswith("/Users") and "startIndex" in s.query
    ]
    starts = sorted(int(re.search(r"startIndex=(\d+)", s.query).group(1)) for s in pages)
    assert starts[:5] == [1, 6, 11, 16, 21]
    assert in_flight_peak(pages) > 1
    assert not [s for s in fault_proxy.requests if "filter" in s.query]  # matched by the index
    users = {u["userName"]: u["id"] for u in scim.all_resources("Users")}
    assert sorted(users) == sorted(p.user_principal_name for p in people)
    for name, target_id in existing.items():
        assert users[name] == target_id
