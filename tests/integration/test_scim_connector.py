"""The SCIM connector against the real scim2-server, directly and through the fault proxy."""

import json

import pytest

from provisioning.connectors import (
    AlreadyExistsError,
    BadRequestError,
    BulkOperation,
    ConfigurationError,
    CredentialsError,
    NotFoundError,
    TransientError,
    build_connector,
)
from provisioning.connectors.http import RateLimiter, RetryPolicy
from provisioning.connectors.scim_paths import ENTERPRISE_USER_SCHEMA, from_resource
from tests.support.fault_proxy import Fault, FaultProxy

EXT = ENTERPRISE_USER_SCHEMA
WORK_EMAIL = 'emails[type eq "work"].value'
MOBILE = 'phoneNumbers[type eq "mobile"].value'
TRICKY = 'O"Brien\\x@例え.jp'


def azure_user(user_name: str, **extra):
    return {
        "userName": user_name,
        "active": True,
        "displayName": "Ann O'Brien",
        "name.givenName": "Ann",
        "name.familyName": "O'Brien",
        WORK_EMAIL: user_name,
        'addresses[type eq "work"].country': "TW",
        "externalId": f"ext-{user_name}",
        "title": "Engineer",
        "preferredLanguage": "zh-TW",
        f"{EXT}:department": "IT",
        f"{EXT}:employeeNumber": "42",
        'roles[primary eq "True"].value': "User",
        **extra,
    }


def bodies(proxy: FaultProxy, method: str, path: str = "") -> list:
    return [json.loads(r.body) for r in proxy.requests if r.method == method and path in r.path]


# -- test connection ---------------------------------------------------------------


def test_connection_succeeds_on_a_scim_server(scim, make_connector):
    result = make_connector().test_connection()
    assert result.ok, result.message


def test_connection_sends_a_filter_on_the_matching_attribute(fault_proxy, make_connector):
    assert make_connector(fault_proxy.url).test_connection("externalId").ok
    (seen,) = fault_proxy.requests
    assert seen.method == "GET" and seen.path.endswith("/Users")
    assert "filter=externalId+eq+%22" in seen.query


def test_connection_with_a_wrong_token_says_401(scim, make_connector):
    result = make_connector(token="wrong").test_connection()
    assert not result.ok
    assert "401" in result.message and "token" in result.message
    assert "wrong" not in result.message + result.detail


def test_connection_to_a_closed_port_says_refused(make_connector):
    from tests.support.scim_server import free_port

    result = make_connector(f"http://127.0.0.1:{free_port()}/v2").test_connection()
    assert not result.ok
    assert "refused" in result.message


def test_connection_to_a_non_scim_answer_says_so(make_connector):
    with FaultProxy(None) as echo:  # answers 200 with a JSON echo of the request
        result = make_connector(echo.url).test_connection()
    assert not result.ok
    assert "not a SCIM ListResponse" in result.message


def test_connection_to_a_non_json_answer_says_so(fault_proxy, make_connector):
    fault_proxy.inject(Fault.malformed_json())
    result = make_connector(fault_proxy.url).test_connection()
    assert not result.ok
    assert "not a SCIM ListResponse" in result.message


def test_connection_reports_an_http_error_status(fault_proxy, make_connector):
    fault_proxy.inject(Fault.status(404))
    result = make_connector(fault_proxy.url).test_connection()
    assert not result.ok
    assert "HTTP 404" in result.message


def test_connection_reports_a_timeout(fault_proxy, make_connector):
    fault_proxy.inject(Fault.delay(3))
    result = make_connector(fault_proxy.url, timeout=(1.0, 0.3)).test_connection()
    assert not result.ok
    assert "did not answer within 0.3 seconds" in result.message


def test_bad_tenant_url_and_unknown_kind_are_configuration_errors(scim):
    with pytest.raises(ConfigurationError):
        build_connector("scim", {"tenant_url": "ftp://x/scim", "secret_token": "t"})
    with pytest.raises(ConfigurationError):
        build_connector("scim", {"tenant_url": "https:///scim", "secret_token": "t"})
    with pytest.raises(ConfigurationError):
        build_connector("nope", scim.credentials)


# -- capabilities --------------------------------------------------------------------


def test_capabilities_come_from_service_provider_config(scim, make_connector):
    caps = make_connector().capabilities()
    assert caps.filter and caps.patch and caps.bulk and caps.etag
    assert caps.bulk_max_operations == 1000
    assert caps.bulk_max_payload_size == 1048576


def test_capabilities_are_cached_and_default_without_the_endpoint(fault_proxy, make_connector):
    fault_proxy.inject(Fault.status(404), path="/ServiceProviderConfig")
    connector = make_connector(fault_proxy.url)
    caps = connector.capabilities()
    assert (caps.filter, caps.patch, caps.bulk) == (True, True, False)
    connector.capabilities()
    assert fault_proxy.count("GET", "/ServiceProviderConfig") == 1


# -- users ---------------------------------------------------------------------------


def test_create_get_and_read_back_a_user(scim, make_connector):
    connector = make_connector()
    flat = azure_user("ann@example.com")
    manager = connector.create("User", {"userName": "boss@example.com"})
    flat[f"{EXT}:manager"] = manager["id"]
    created = connector.create("User", flat)
    assert created["id"]
    on_target = scim.get_resource("Users", created["id"])
    assert from_resource("User", on_target, flat) == flat
    assert on_target[EXT]["manager"]["value"] == manager["id"]
    assert connector.get("User", created["id"])["userName"] == "ann@example.com"


def test_get_of_a_missing_user_is_not_found(scim, make_connector):
    with pytest.raises(NotFoundError):
        make_connector().get("User", "does-not-exist")


def test_duplicate_create_is_already_exists(scim, make_connector):
    connector = make_connector()
    connector.create("User", {"userName": "dup@example.com"})
    with pytest.raises(AlreadyExistsError) as caught:
        connector.create("User", {"userName": "dup@example.com"})
    assert caught.value.http_status == 409


def test_find_matches_values_with_quotes_backslashes_and_non_ascii(scim, make_connector):
    connector = make_connector()
    wanted = connector.create("User", azure_user(TRICKY))
    connector.create("User", azure_user('O"Brien@例え.jp'))
    connector.create("User", azure_user("OBrien\\x@例え.jp"))
    found = connector.find("User", "userName", TRICKY)
    assert [u["id"] for u in found] == [wanted["id"]]
    assert connector.find("User", "userName", "nobody@example.com") == []


def test_find_by_value_filtered_extension_and_external_id_paths(scim, make_connector):
    connector = make_connector()
    user = connector.create("User", azure_user("e@example.com", **{f"{EXT}:employeeNumber": "7"}))
    other = connector.create(
        "User", {"userName": "o@example.com", 'emails[type eq "home"].value': "e@example.com"}
    )
    by_email = connector.find("User", WORK_EMAIL, "e@example.com")
    assert [u["id"] for u in by_email] == [user["id"]]
    home = connector.find("User", 'emails[type eq "home"].value', "e@example.com")
    assert [u["id"] for u in home] == [other["id"]]
    assert [u["id"] for u in connector.find("User", f"{EXT}:employeeNumber", "7")] == [user["id"]]
    assert [u["id"] for u in connector.find("User", "externalId", "ext-e@example.com")] == [
        user["id"]
    ]


def test_find_falls_back_when_the_target_refuses_value_path_filters(fault_proxy, make_connector):
    connector = make_connector(fault_proxy.url)
    user = connector.create("User", azure_user("w@example.com"))
    connector.create(
        "User", {"userName": "h@example.com", 'emails[type eq "home"].value': "w@example.com"}
    )
    fault_proxy.inject(Fault.status(400, scim_type="invalidFilter"), method="GET", path="/Users")
    found = connector.find("User", WORK_EMAIL, "w@example.com")
    assert [u["id"] for u in found] == [user["id"]]
    assert "emails.value+eq" in fault_proxy.requests[-1].query


def test_list_pages_through_all_users(fault_proxy, make_connector):
    connector = make_connector(fault_proxy.url)
    ids = {connector.create("User", {"userName": f"p{i}@example.com"})["id"] for i in range(7)}
    fault_proxy.reset_counters()
    listed = [u["id"] for u in connector.list("User", page_size=3)]
    assert sorted(listed) == sorted(ids)
    assert fault_proxy.count("GET", "/Users") == 3
    assert [r.query for r in fault_proxy.requests] == [
        "startIndex=1&count=3",
        "startIndex=4&count=3",
        "startIndex=7&count=3",
    ]


def test_list_of_an_empty_target_sends_one_request(fault_proxy, make_connector):
    assert list(make_connector(fault_proxy.url).list("Group")) == []
    assert fault_proxy.count("GET", "/Groups") == 1


def test_update_patches_only_the_changed_attributes(fault_proxy, scim, make_connector):
    connector = make_connector(fault_proxy.url)
    user = connector.create("User", azure_user("u@example.com"))
    result = connector.update(
        "User",
        user["id"],
        {"displayName": "Ann B", WORK_EMAIL: "new@example.com", "title": None},
    )
    assert result is None  # scim2-server answers 204
    (patch,) = bodies(fault_proxy, "PATCH")
    assert patch["Operations"] == [
        {"op": "replace", "path": "displayName", "value": "Ann B"},
        {"op": "replace", "path": WORK_EMAIL, "value": "new@example.com"},
        {"op": "remove", "path": "title"},
    ]
    on_target = scim.get_resource("Users", user["id"])
    assert on_target["displayName"] == "Ann B"
    assert on_target["emails"] == [{"type": "work", "value": "new@example.com", "primary": True}]
    assert "title" not in on_target
    assert on_target["name"] == {"givenName": "Ann", "familyName": "O'Brien"}


def test_update_adds_a_multi_valued_item_the_target_does_not_have_yet(
    fault_proxy, scim, make_connector
):
    connector = make_connector(fault_proxy.url)
    user = connector.create("User", {"userName": "m@example.com"})
    connector.update("User", user["id"], {MOBILE: "+886 2 1234", WORK_EMAIL: "m@example.com"})
    on_target = scim.get_resource("Users", user["id"])
    assert on_target["phoneNumbers"] == [{"type": "mobile", "value": "+886 2 1234"}]
    assert on_target["emails"] == [{"type": "work", "value": "m@example.com", "primary": True}]
    # First PATCH refused with noTarget, then a GET, then the rebuilt PATCH.
    assert fault_proxy.count("PATCH") == 2
    assert fault_proxy.count("GET", "/Users/") == 1


def test_update_sets_and_changes_the_manager_reference(scim, make_connector):
    connector = make_connector()
    first = connector.create("User", {"userName": "m1@example.com"})
    second = connector.create("User", {"userName": "m2@example.com"})
    user = connector.create("User", {"userName": "r@example.com"})
    connector.update("User", user["id"], {f"{EXT}:manager": first["id"]})
    connector.update("User", user["id"], {f"{EXT}:manager": second["id"]})
    assert scim.get_resource("Users", user["id"])[EXT]["manager"]["value"] == second["id"]


def test_update_with_nothing_to_change_sends_nothing(fault_proxy, make_connector):
    connector = make_connector(fault_proxy.url)
    assert connector.update("User", "any", {}) is None
    assert fault_proxy.count() == 0


def test_update_puts_the_full_representation_when_patch_is_unsupported(
    fault_proxy, scim, make_connector
):
    fault_proxy.inject(
        Fault.json(200, {"patch": {"supported": False}, "bulk": {"supported": False}}),
        path="/ServiceProviderConfig",
    )
    connector = make_connector(fault_proxy.url)
    full = azure_user("put@example.com")
    user = connector.create("User", full)
    full["title"] = "Manager"
    connector.update("User", user["id"], {"title": "Manager"}, full=full)
    assert fault_proxy.count("PATCH") == 0
    assert fault_proxy.count("PUT") == 1
    on_target = scim.get_resource("Users", user["id"])
    assert from_resource("User", on_target, full) == full
    with pytest.raises(BadRequestError):
        connector.update("User", user["id"], {"title": "x"})


def test_disable_sets_active_to_boolean_false(fault_proxy, scim, make_connector):
    connector = make_connector(fault_proxy.url)
    user = connector.create("User", azure_user("d@example.com"))
    connector.disable("User", user["id"])
    assert scim.get_resource("Users", user["id"])["active"] is False
    (patch,) = bodies(fault_proxy, "PATCH")
    assert patch["Operations"] == [{"op": "replace", "path": "active", "value": False}]


def test_delete_removes_and_a_second_delete_is_fine(scim, make_connector):
    connector = make_connector()
    user = connector.create("User", {"userName": "gone@example.com"})
    connector.delete("User", user["id"])
    assert scim.get_resource("Users", user["id"]) is None
    connector.delete("User", user["id"])


# -- groups --------------------------------------------------------------------------


def test_group_create_add_and_remove_members(fault_proxy, scim, make_connector):
    connector = make_connector(fault_proxy.url)
    users = [connector.create("User", {"userName": f"g{i}@example.com"})["id"] for i in range(3)]
    group = connector.create("Group", {"displayName": "Engineers", "externalId": "eng"})
    assert "members" not in group
    connector.add_members(group["id"], users)
    members = {m["value"] for m in scim.get_resource("Groups", group["id"])["members"]}
    assert members == set(users)
    connector.remove_members(group["id"], users[:2])
    members = {m["value"] for m in scim.get_resource("Groups", group["id"])["members"]}
    assert members == {users[2]}
    add, remove = bodies(fault_proxy, "PATCH")
    assert add["Operations"] == [
        {"op": "add", "path": "members", "value": [{"value": u} for u in users]}
    ]
    assert remove["Operations"] == [
        {"op": "remove", "path": f'members[value eq "{u}"]'} for u in users[:2]
    ]


def test_group_rename_and_find_by_display_name(scim, make_connector):
    connector = make_connector()
    group = connector.create("Group", {"displayName": "Old"})
    connector.update("Group", group["id"], {"displayName": "New"})
    assert [g["id"] for g in connector.find("Group", "displayName", "New")] == [group["id"]]


# -- bulk ------------------------------------------------------------------------------


def test_bulk_creates_250_users_in_chunks(fault_proxy, scim, make_connector):
    connector = make_connector(fault_proxy.url, capability_overrides={"bulk_max_operations": 50})
    operations = [
        BulkOperation("POST", "User", f"u{i}", data={"userName": f"bulk{i}@example.com"})
        for i in range(250)
    ]
    results = connector.bulk(operations)
    assert [r.bulk_id for r in results] == [op.bulk_id for op in operations]
    assert all(r.ok and r.status == 201 and r.target_id for r in results)
    assert fault_proxy.count("POST", "/Bulk") == 5
    assert all(len(b["Operations"]) == 50 for b in bodies(fault_proxy, "POST", "/Bulk"))
    on_target = {u["id"] for u in scim.all_resources("Users")}
    assert on_target == {r.target_id for r in results}


def test_bulk_chunks_by_payload_size(fault_proxy, scim, make_connector):
    connector = make_connector(
        fault_proxy.url, capability_overrides={"bulk_max_payload_size": 1000}
    )
    operations = [
        BulkOperation("POST", "User", f"s{i}", data={"userName": f"size{i}@example.com"})
        for i in range(20)
    ]
    assert all(r.ok for r in connector.bulk(operations))
    requests = [r for r in fault_proxy.requests if r.path.endswith("/Bulk")]
    assert len(requests) > 1
    assert all(len(r.body) <= 1000 for r in requests)


def test_bulk_reports_per_operation_errors_without_raising(scim, make_connector):
    connector = make_connector()
    existing = connector.create("User", {"userName": "taken@example.com"})
    results = connector.bulk(
        [
            BulkOperation("POST", "User", "ok", data={"userName": "fresh@example.com"}),
            BulkOperation("POST", "User", "dup", data={"userName": "taken@example.com"}),
            BulkOperation("POST", "User", "bad", data={"displayName": "no user name"}),
            BulkOperation("PATCH", "User", "upd", existing["id"], {"title": "Boss"}),
            BulkOperation("PATCH", "User", "missing", "nope", {"title": "x"}),
            BulkOperation("DELETE", "User", "gone", "nope"),
            BulkOperation("PATCH", "User", "no-id", None, {"title": "x"}),
        ]
    )
    by_id = {r.bulk_id: r for r in results}
    assert by_id["ok"].ok and by_id["ok"].target_id
    assert isinstance(by_id["dup"].error, AlreadyExistsError)
    assert isinstance(by_id["bad"].error, BadRequestError) and by_id["bad"].status == 400
    assert by_id["upd"].ok
    assert isinstance(by_id["missing"].error, NotFoundError)
    assert by_id["gone"].ok  # deleting what is already gone succeeds
    assert isinstance(by_id["no-id"].error, BadRequestError)
    assert scim.get_resource("Users", existing["id"])["title"] == "Boss"


def test_bulk_without_target_support_runs_one_by_one(fault_proxy, scim, make_connector):
    connector = make_connector(fault_proxy.url, capability_overrides={"bulk": False})
    results = connector.bulk(
        [BulkOperation("POST", "User", f"o{i}", data={"userName": f"one{i}@x"}) for i in range(3)]
    )
    assert all(r.ok for r in results)
    assert fault_proxy.count("POST", "/Bulk") == 0
    assert fault_proxy.count("POST", "/Users") == 3


def test_bulk_chunk_failure_marks_its_operations_only(fault_proxy, scim, make_connector):
    connector = make_connector(
        fault_proxy.url,
        capability_overrides={"bulk_max_operations": 2},
        retry=RetryPolicy(max_attempts=1),
    )
    fault_proxy.inject(Fault.status(503), path="/Bulk")
    results = connector.bulk(
        [BulkOperation("POST", "User", f"c{i}", data={"userName": f"c{i}@x"}) for i in range(4)]
    )
    assert [type(r.error) for r in results[:2]] == [TransientError, TransientError]
    assert all(r.ok for r in results[2:])


# -- faults through the proxy -----------------------------------------------------------


def test_injected_409_on_create_is_already_exists(fault_proxy, scim, make_connector):
    fault_proxy.inject(Fault.status(409, scim_type="uniqueness"), method="POST", path="/Users")
    with pytest.raises(AlreadyExistsError) as caught:
        make_connector(fault_proxy.url).create("User", {"userName": "x@example.com"})
    assert caught.value.reason == "uniqueness"
    assert scim.all_resources("Users") == []


def test_injected_404_is_not_found(fault_proxy, make_connector):
    fault_proxy.inject(Fault.status(404), method="PATCH")
    with pytest.raises(NotFoundError):
        make_connector(fault_proxy.url).update("User", "id", {"title": "x"})


def test_429_retry_after_is_honoured(fault_proxy, scim, make_connector, sleeps):
    fault_proxy.inject(Fault.retry_after(2), method="POST")
    user = make_connector(fault_proxy.url).create("User", {"userName": "slow@example.com"})
    assert sleeps.delays == [2.0]
    assert scim.get_resource("Users", user["id"])


def test_a_post_is_not_resent_after_a_5xx_and_its_outcome_is_unknown(
    fault_proxy, scim, make_connector, sleeps
):
    fault_proxy.inject(Fault.lost_answer(500), method="POST")
    with pytest.raises(TransientError) as caught:
        make_connector(fault_proxy.url).create("User", {"userName": "retry@example.com"})
    assert caught.value.outcome_unknown
    assert sleeps.delays == []
    assert fault_proxy.count("POST", "/Users") == 1
    # The target did the work: exactly one, not two.
    assert [u["userName"] for u in scim.all_resources("Users")] == ["retry@example.com"]


def test_a_patch_is_retried_after_a_5xx(fault_proxy, scim, make_connector, sleeps):
    connector = make_connector(fault_proxy.url)
    user = connector.create("User", {"userName": "patch@example.com"})
    fault_proxy.inject(Fault.lost_answer(503), method="PATCH")
    connector.update("User", user["id"], {"title": "T"})
    assert fault_proxy.count("PATCH") == 2 and len(sleeps.delays) == 1
    assert scim.get_resource("Users", user["id"])["title"] == "T"


def test_a_post_refused_before_it_reached_the_target_is_retried(
    fault_proxy, scim, make_connector, sleeps
):
    fault_proxy.inject(Fault.retry_after(0), method="POST")
    user = make_connector(fault_proxy.url).create("User", {"userName": "later@example.com"})
    assert fault_proxy.count("POST") == 2
    assert scim.get_resource("Users", user["id"])


def test_exhausted_retries_raise_transient_error(fault_proxy, make_connector):
    fault_proxy.inject(Fault.status(503), times=None)
    with pytest.raises(TransientError) as caught:
        make_connector(fault_proxy.url).get("User", "x")
    assert caught.value.http_status == 503
    assert fault_proxy.count("GET") == 4


def test_a_connection_reset_on_a_post_is_not_resent(fault_proxy, scim, make_connector):
    fault_proxy.inject(Fault.reset(), method="POST")
    with pytest.raises(TransientError) as caught:
        make_connector(fault_proxy.url).create("User", {"userName": "reset@example.com"})
    assert caught.value.outcome_unknown and caught.value.code == "ConnectionReset"
    assert fault_proxy.count("POST") == 1


def test_a_dropped_answer_to_an_applied_create_is_an_unknown_outcome_not_a_duplicate(
    fault_proxy, scim, make_connector
):
    fault_proxy.inject(Fault.dropped_answer(), method="POST")
    connector = make_connector(fault_proxy.url)
    with pytest.raises(TransientError) as caught:
        connector.create("Group", {"displayName": "Sales", "externalId": "g1"})
    assert caught.value.outcome_unknown
    assert len(connector.find("Group", "externalId", "g1")) == 1
    assert len(scim.all_resources("Groups")) == 1


def test_malformed_json_is_bad_request(fault_proxy, scim, make_connector):
    connector = make_connector(fault_proxy.url)
    user = connector.create("User", {"userName": "mal@example.com"})
    fault_proxy.inject(Fault.malformed_json(), method="GET")
    with pytest.raises(BadRequestError) as caught:
        connector.get("User", user["id"])
    assert caught.value.code == "MalformedResponse"


def test_created_resource_without_id_is_bad_request(fault_proxy, make_connector):
    fault_proxy.inject(Fault.without_id(), method="POST")
    with pytest.raises(BadRequestError) as caught:
        make_connector(fault_proxy.url).create("User", {"userName": "noid@example.com"})
    assert caught.value.code == "MissingId"


def test_injected_401_is_credentials_error(fault_proxy, make_connector):
    fault_proxy.inject(Fault.status(401))
    with pytest.raises(CredentialsError) as caught:
        make_connector(fault_proxy.url).find("User", "userName", "x")
    assert caught.value.stops_job


def test_random_faults_are_absorbed_by_retries_of_idempotent_requests(
    fault_proxy, scim, make_connector
):
    connector = make_connector(retry=RetryPolicy(max_attempts=8, base_delay=0))
    ids = [connector.create("User", {"userName": f"r{i}@example.com"})["id"] for i in range(15)]
    fault_proxy.set_random_faults(
        0.2, [Fault.status(500), Fault.status(503), Fault.reset()], seed=5
    )
    connector = make_connector(fault_proxy.url, retry=RetryPolicy(max_attempts=8, base_delay=0))
    for number, target_id in enumerate(ids):
        connector.update("User", target_id, {"title": f"T{number}"})
        assert connector.get("User", target_id)["title"] == f"T{number}"
    assert sum(fault_proxy.faults.values()) > 0


def test_a_kind_of_request_failing_with_500_is_stopped_for_the_cycle(
    fault_proxy, scim, make_connector
):
    connector = make_connector(fault_proxy.url)
    ids = [connector.create("User", {"userName": f"k{i}@example.com"})["id"] for i in range(6)]
    fault_proxy.inject(Fault.status(500), method="PATCH", path="/Users", times=None)
    codes = []
    for target_id in ids:
        with pytest.raises(TransientError) as caught:
            connector.update("User", target_id, {"title": "x"})
        codes.append(caught.value.code)
    # The first failure spends its retries (4), the next two get one try each, then none.
    assert fault_proxy.count("PATCH") == 4 + 1 + 1
    assert codes[3:] == ["TargetFailing"] * 3
    assert "PATCH /Users/{id}" in connector.stopped_kinds
    connector.get("User", ids[0])  # other kinds still go out
    connector.begin_cycle()  # a new cycle tries again
    fault_proxy.clear()
    connector.update("User", ids[0], {"title": "y"})
    assert scim.get_resource("Users", ids[0])["title"] == "y"


# -- dry run and rate limiting -----------------------------------------------------------


def test_dry_run_sends_no_unsafe_request_but_records_them(fault_proxy, scim, make_connector):
    existing = make_connector().create("User", {"userName": "real@example.com"})
    recorded = []
    connector = make_connector(fault_proxy.url, dry_run=True, recorder=recorded.append)
    created = connector.create("User", {"userName": "dry@example.com"})
    connector.update("User", existing["id"], {"title": "x"})
    connector.disable("User", existing["id"])
    connector.delete("User", existing["id"])
    group = connector.create("Group", {"displayName": "G"})
    connector.add_members(group["id"], [existing["id"]])
    results = connector.bulk([BulkOperation("POST", "User", "b1", data={"userName": "b@x"})])
    assert connector.find("User", "userName", "real@example.com")  # reads still go out

    assert created["id"].startswith("dry-run-")
    assert results[0].ok and results[0].target_id.startswith("dry-run-")
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert fault_proxy.count(method) == 0
    assert [r.method for r in recorded] == [
        "POST",
        "PATCH",
        "PATCH",
        "DELETE",
        "POST",
        "PATCH",
        "POST",
    ]
    assert recorded[0].json_body["userName"] == "dry@example.com"
    assert list(connector.recorded_requests) == recorded
    assert [u["userName"] for u in scim.all_resources("Users")] == ["real@example.com"]
    assert scim.get_resource("Users", existing["id"]).get("active") is not False


def test_rate_limiter_spaces_connector_requests(fault_proxy, make_connector):
    clock_sleeps: list[float] = []
    limiter = RateLimiter(10, clock=lambda: 0.0, sleep=clock_sleeps.append)
    connector = make_connector(fault_proxy.url, rate_limiter=limiter)
    for _ in range(3):
        connector.find("User", "userName", "nobody")
    assert clock_sleeps == pytest.approx([0.1, 0.2])
    assert fault_proxy.count("GET") == 3


def test_tenant_url_query_flags_are_kept_on_every_request(fault_proxy, make_connector):
    connector = make_connector(f"{fault_proxy.url}/?aadOptscim062020")
    assert connector.test_connection().ok
    connector.create("User", {"userName": "flag@example.com"})
    assert fault_proxy.requests
    assert all(r.query.startswith("aadOptscim062020") for r in fault_proxy.requests)


def test_connection_with_https_to_a_plain_http_port_reports_tls(scim, make_connector):
    result = make_connector(f"https://127.0.0.1:{scim.port}/v2").test_connection()
    assert not result.ok
    assert "TLS" in result.message


@pytest.mark.parametrize("status", [404, 405, 501])
def test_a_target_refusing_bulk_gets_the_operations_one_by_one(
    fault_proxy, scim, make_connector, status
):
    fault_proxy.inject(Fault.status(status), method="POST", path="/Bulk", times=None)
    connector = make_connector(fault_proxy.url, capability_overrides={"bulk_max_operations": 2})
    operations = [
        BulkOperation("POST", "User", f"b{n}", data={"userName": f"one{n}@example.com"})
        for n in range(5)
    ]
    results = connector.bulk(operations)
    assert all(result.ok for result in results), [r.error for r in results]
    assert fault_proxy.count("POST", "/Bulk") == 1
    assert sorted(u["userName"] for u in scim.all_resources("Users")) == [
        f"one{n}@example.com" for n in range(5)
    ]
    assert connector.capabilities().bulk is False


def test_a_patch_adding_an_item_is_not_replayed_after_a_lost_answer(
    fault_proxy, scim, make_connector
):
    connector = make_connector(fault_proxy.url)
    user = connector.create("User", {"userName": "item@example.com"})
    # No work email yet: the replace answers noTarget, then the connector adds the item with
    # an "add" operation, whose answer is lost.
    fault_proxy.inject(Fault.lost_answer(502), method="PATCH", body='"op": "add"')
    with pytest.raises(TransientError) as caught:
        connector.update("User", user["id"], {'emails[type eq "work"].value': "w@example.com"})
    assert caught.value.outcome_unknown
    emails = scim.get_resource("Users", user["id"]).get("emails") or []
    assert [e["value"] for e in emails] == ["w@example.com"]
    # Resolving it: the same update again finds the item there and replaces it, adding nothing.
    connector.update("User", user["id"], {'emails[type eq "work"].value': "w@example.com"})
    emails = scim.get_resource("Users", user["id"]).get("emails") or []
    assert [e["value"] for e in emails] == ["w@example.com"]
