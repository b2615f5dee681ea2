"""The GoToMeeting connector against the fake GoTo API (a fake built from GoTo's public reference).

Every test shares a virtual clock between the fake and the connector: token expiry, the rate
window and retry backoff are deterministic and never wait on wall time.
"""

import logging

import pytest

from provisioning.choices import CycleState, LinkState, ObjectType, ProvisioningMode
from provisioning.connectors import build_connector
from provisioning.connectors.base import BulkOperation
from provisioning.connectors.errors import (
    BadRequestError,
    ConfigurationError,
    CredentialsError,
    NotFoundError,
    TransientError,
)
from provisioning.connectors.gotomeeting import GoToMeetingConnector, GrantFailedAfterCreate
from provisioning.connectors.http import NO_RETRY, RetryPolicy
from provisioning.engine.cycle import run_cycle
from provisioning.models import Assignment, ProvisionedObject, ProvisioningLogEntry
from provisioning.services.applications import add_application
from tests.factories import DirectoryUserFactory, assign
from tests.fakes.goto_api import FAKE_ADMIN_EMAIL, FAKE_ADMIN_PASSWORD, FakeLicence

TEAM_ADMIN_HINT = "ensure your citrix gotomeeting account has team admin permissions"


def new_user(connector, email="ada@contoso.example", role="User", active=True, **extra):
    attributes = {
        "email": email,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "active": active,
        "role": role,
        **extra,
    }
    return connector.create(ObjectType.USER, attributes)


# -- Test Connection ------------------------------------------------------------------------


def test_test_connection_signs_in_reads_me_and_looks_up_a_random_email(fake_goto, goto_connector):
    result = goto_connector.test_connection()

    assert result.ok, result.message
    assert fake_goto.grants["password"] == 1
    assert fake_goto.count("GET", "/me", status=200) == 1
    assert fake_goto.count("GET", "/users", status=200) == 1


def test_test_connection_with_a_wrong_password_fails_naming_the_legacy_password_grant(
    fake_goto, make_goto_connector
):
    result = make_goto_connector(password="not-the-password").test_connection()

    assert not result.ok
    assert "legacy password grant" in result.message
    # The page adds the template's Team Admin hint once; the connector does not repeat it.
    assert TEAM_ADMIN_HINT not in result.message.lower()
    assert "not-the-password" not in result.message + result.detail
    assert fake_goto.count("GET") == 0


def test_test_connection_of_an_admin_without_team_admin_permission_fails_with_the_hint(
    fake_goto, make_goto_connector
):
    fake_goto.add_admin("helper@contoso.example", "helper-Passw0rd", team_admin=False)

    result = make_goto_connector("helper@contoso.example", "helper-Passw0rd").test_connection()

    assert not result.ok
    assert "403" in result.message and "MANAGE_USERS" in result.message
    assert TEAM_ADMIN_HINT not in result.message.lower()
    assert fake_goto.count("GET", "/users", status=403) == 1


def test_test_connection_without_an_oauth_client_names_the_settings(make_goto_connector):
    result = make_goto_connector(client_id="").test_connection()

    assert not result.ok
    assert "GOTO_CLIENT_ID" in result.message
    assert TEAM_ADMIN_HINT not in result.message.lower()


def test_a_refused_oauth_client_is_a_configuration_error(fake_goto, make_goto_connector):
    connector = make_goto_connector(client_secret="wrong-client-secret")

    with pytest.raises(ConfigurationError) as raised:
        connector.account_key()

    assert raised.value.stops_job
    assert "GOTO_CLIENT_SECRET" in raised.value.message
    assert "wrong-client-secret" not in raised.value.message + raised.value.detail


def test_the_registry_builds_the_connector_from_credentials_and_goto_settings(
    fake_goto, goto_clock, settings
):
    settings.GOTO_OAUTH_TOKEN_URL = fake_goto.token_url
    settings.GOTO_ADMIN_API_URL = fake_goto.api_url
    settings.GOTO_CLIENT_ID = fake_goto.client_id
    settings.GOTO_CLIENT_SECRET = fake_goto.client_secret

    credentials = {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD}
    with build_connector(
        "gotomeeting", credentials, clock=goto_clock, sleep=goto_clock.sleep
    ) as connector:
        assert isinstance(connector, GoToMeetingConnector)
        assert connector.test_connection().ok


# -- users ------------------------------------------------------------------------------------


def test_create_user_adds_the_account_without_welcome_email_and_grants_the_licence(
    fake_goto, goto_connector
):
    created = new_user(goto_connector)

    target = fake_goto.user_by_email("ada@contoso.example")
    assert created["id"] == target["key"]
    assert (target["firstName"], target["lastName"]) == ("Ada", "Lovelace")
    assert target["licenseKeys"] == [fake_goto.g2m_licence_key()]
    assert target["adminRoles"] == []
    assert fake_goto.welcome_emails == []
    assert goto_connector.read_attributes(ObjectType.USER, created, ["active", "role"]) == {
        "active": True,
        "role": "User",
    }


def test_create_administrator_grants_the_licence_and_manage_users(fake_goto, goto_connector):
    new_user(goto_connector, role="Administrator")

    target = fake_goto.user_by_email("ada@contoso.example")
    assert target["licenseKeys"] == [fake_goto.g2m_licence_key()]
    assert target["adminRoles"] == ["MANAGE_USERS"]


def test_create_inactive_user_adds_the_account_without_licence(fake_goto, goto_connector):
    new_user(goto_connector, active="False")

    assert fake_goto.user_by_email("ada@contoso.example")["licenseKeys"] == []
    assert fake_goto.count("PUT") == 0


def test_a_create_that_meets_an_existing_user_is_a_match_not_a_second_account(
    fake_goto, goto_connector
):
    first = new_user(goto_connector)

    again = new_user(goto_connector, email="ADA@contoso.example")

    assert again["id"] == first["id"]
    assert len([u for u in fake_goto.users() if u["email"].lower() == "ada@contoso.example"]) == 1


def test_create_with_an_invalid_email_is_a_bad_request(goto_connector):
    with pytest.raises(BadRequestError) as raised:
        new_user(goto_connector, email="not-an-email")

    assert raised.value.http_status == 400
    assert not raised.value.stops_job


def test_an_unknown_role_is_refused_before_anything_is_sent(fake_goto, goto_connector):
    with pytest.raises(BadRequestError, match="Guest"):
        new_user(goto_connector, role="Guest")

    assert fake_goto.count("POST", "/users") == 0


def test_find_matches_email_case_insensitively_and_only_email(fake_goto, goto_connector):
    created = new_user(goto_connector)

    assert [
        u["id"] for u in goto_connector.find(ObjectType.USER, "email", "Ada@Contoso.example")
    ] == [created["id"]]
    assert goto_connector.find(ObjectType.USER, "email", "nobody@contoso.example") == []
    with pytest.raises(BadRequestError):
        goto_connector.find(ObjectType.USER, "firstName", "Ada")


def test_get_of_a_missing_user_is_not_found(goto_connector):
    with pytest.raises(NotFoundError):
        goto_connector.get(ObjectType.USER, "123456789")


def test_update_writes_only_the_names_with_one_put(fake_goto, goto_connector):
    created = new_user(goto_connector)
    puts = fake_goto.count("PUT")
    reads = fake_goto.count("GET", f"/users/{created['id']}")

    goto_connector.update(ObjectType.USER, created["id"], {"firstName": "Augusta"})

    assert fake_goto.user_by_email("ada@contoso.example")["firstName"] == "Augusta"
    assert fake_goto.count("PUT") == puts + 1
    assert fake_goto.count("GET", f"/users/{created['id']}") == reads


def test_role_changes_grant_and_revoke_manage_users_and_keep_other_roles_and_licences(
    fake_goto, goto_connector
):
    account = fake_goto.account
    webinar = FakeLicence(5_559_999, "GoToWebinar", ["G2W"], seats=5)
    account.licences[webinar.key] = webinar
    created = new_user(goto_connector)
    target = account.users[created["id"]]
    target["adminRoles"].append("RUN_REPORTS")
    target["licenseKeys"].append(webinar.key)

    goto_connector.update(ObjectType.USER, created["id"], {"role": "Administrator"})
    after = fake_goto.user_by_email("ada@contoso.example")
    assert set(after["adminRoles"]) == {"RUN_REPORTS", "MANAGE_USERS"}

    goto_connector.update(ObjectType.USER, created["id"], {"role": "User"})
    after = fake_goto.user_by_email("ada@contoso.example")
    assert after["adminRoles"] == ["RUN_REPORTS"]
    assert set(after["licenseKeys"]) == {fake_goto.g2m_licence_key(), webinar.key}


def test_disable_removes_the_licence_and_admin_roles_and_keeps_the_account(
    fake_goto, goto_connector
):
    created = new_user(goto_connector, role="Administrator")

    goto_connector.disable(ObjectType.USER, created["id"])

    target = fake_goto.user_by_email("ada@contoso.example")
    assert target is not None
    assert target["licenseKeys"] == [] and target["adminRoles"] == []
    flat = goto_connector.read_attributes(
        ObjectType.USER, goto_connector.get(ObjectType.USER, created["id"]), ["active", "email"]
    )
    assert flat == {"active": False, "email": "ada@contoso.example"}


def test_active_true_grants_the_licence_again_and_azure_string_false_removes_it(
    fake_goto, goto_connector
):
    created = new_user(goto_connector)

    goto_connector.update(ObjectType.USER, created["id"], {"active": "False"})
    assert fake_goto.user_by_email("ada@contoso.example")["licenseKeys"] == []

    goto_connector.update(ObjectType.USER, created["id"], {"active": True, "role": "Administrator"})
    target = fake_goto.user_by_email("ada@contoso.example")
    assert target["licenseKeys"] == [fake_goto.g2m_licence_key()]
    assert target["adminRoles"] == ["MANAGE_USERS"]


def test_disable_of_a_missing_user_is_not_found(goto_connector):
    with pytest.raises(NotFoundError):
        goto_connector.disable(ObjectType.USER, "123456789")


def test_delete_removes_the_user_and_a_missing_user_counts_as_deleted(fake_goto, goto_connector):
    created = new_user(goto_connector)

    goto_connector.delete(ObjectType.USER, created["id"])
    goto_connector.delete(ObjectType.USER, created["id"])

    assert fake_goto.user_by_email("ada@contoso.example") is None


def test_list_pages_through_every_user_of_the_account(fake_goto, goto_connector):
    for number in range(130):
        fake_goto.add_user(fake_goto.account, f"user{number}@contoso.example")

    listed = list(goto_connector.list(ObjectType.USER, page_size=1000))

    assert len(listed) == 131  # with the admin
    assert len({u["id"] for u in listed}) == 131
    assert fake_goto.count("GET", "/users") == 2


def test_a_seat_shortage_after_the_create_names_the_created_user_and_what_to_do(
    fake_goto, goto_connector
):
    fake_goto.account.g2m_licence().seats = 1
    new_user(goto_connector, email="first@contoso.example")

    with pytest.raises(GrantFailedAfterCreate) as raised:
        new_user(goto_connector, email="second@contoso.example")

    second = fake_goto.user_by_email("second@contoso.example")
    assert raised.value.reason == "SEATS_EXCEEDED" and not raised.value.stops_job
    assert raised.value.created_id == second["key"] and second["licenseKeys"] == []
    assert "no free GoToMeeting licence" in raised.value.message
    assert "seat" in raised.value.recommendation


def test_groups_are_not_supported(goto_connector):
    assert goto_connector.capabilities().bulk is False
    assert goto_connector.capabilities().filter and goto_connector.capabilities().patch
    with pytest.raises(BadRequestError, match="groups"):
        goto_connector.add_members("g1", ["u1"])
    with pytest.raises(BadRequestError, match="groups"):
        goto_connector.remove_members("g1", ["u1"])
    with pytest.raises(BadRequestError):
        goto_connector.create(ObjectType.GROUP, {"displayName": "Sales"})


def test_bulk_runs_operations_one_by_one_and_reports_each(fake_goto, goto_connector):
    taken = new_user(goto_connector, email="taken@contoso.example")
    operations = [
        BulkOperation("POST", ObjectType.USER, "a", data={"email": "new@contoso.example"}),
        BulkOperation("POST", ObjectType.USER, "b", data={"email": "taken@contoso.example"}),
        BulkOperation("POST", ObjectType.USER, "c", data={"email": "not-an-email"}),
    ]

    results = goto_connector.bulk(operations)

    assert results[0].ok and results[0].target_id
    assert results[1].ok and results[1].target_id == taken["id"]
    assert isinstance(results[2].error, BadRequestError)


# -- errors -------------------------------------------------------------------------------------


def test_a_5xx_once_is_retried_and_succeeds(fake_goto, goto_connector):
    goto_connector.account_key()
    fake_goto.fail_next(503, method="POST", path="/users")

    new_user(goto_connector)

    assert fake_goto.user_by_email("ada@contoso.example") is not None
    assert fake_goto.count("POST", "/users", status=503) == 1


def test_persistent_5xx_is_a_transient_error_after_the_bounded_retries(fake_goto, goto_connector):
    goto_connector.account_key()
    fake_goto.fail_next(500, times=10, method="GET", path="/users")

    with pytest.raises(TransientError) as raised:
        goto_connector.find(ObjectType.USER, "email", "ada@contoso.example")

    assert raised.value.retryable and raised.value.http_status == 500
    assert fake_goto.count("GET", "/users", status=500) == 4


def test_a_reset_connection_is_retried(fake_goto, goto_connector):
    goto_connector.account_key()
    fake_goto.drop_next(method="GET", path="/users")

    assert goto_connector.find(ObjectType.USER, "email", "nobody@contoso.example") == []


def test_connections_reset_every_time_are_a_transient_error(fake_goto, make_goto_connector):
    connector = make_goto_connector(retry=RetryPolicy(max_attempts=2))
    connector.account_key()
    fake_goto.drop_next(times=5, method="GET", path="/users")

    with pytest.raises(TransientError) as raised:
        connector.find(ObjectType.USER, "email", "nobody@contoso.example")

    assert raised.value.code == "ConnectionReset"


def test_a_timeout_is_a_transient_error(fake_goto, make_goto_connector):
    connector = make_goto_connector(timeout=(1.0, 0.2), retry=NO_RETRY)
    connector.account_key()
    fake_goto.delay_next(0.6, method="GET", path="/users")

    with pytest.raises(TransientError) as raised:
        connector.find(ObjectType.USER, "email", "nobody@contoso.example")

    assert raised.value.code == "Timeout"


def test_a_403_on_a_write_stops_the_job_with_the_team_admin_hint(fake_goto, goto_connector):
    goto_connector.account_key()
    fake_goto.set_team_admin(FAKE_ADMIN_EMAIL, False)

    with pytest.raises(CredentialsError) as raised:
        new_user(goto_connector)

    assert raised.value.stops_job and raised.value.http_status == 403
    assert "MANAGE_USERS" in raised.value.message


def test_an_answer_that_is_not_a_user_list_is_a_bad_request(fake_goto, goto_connector):
    goto_connector.account_key()
    fake_goto.fail_next(200, method="GET", path="/users", body={"unexpected": True})

    with pytest.raises(BadRequestError) as raised:
        goto_connector.find(ObjectType.USER, "email", "ada@contoso.example")

    assert raised.value.code == "MalformedResponse"


# -- token ---------------------------------------------------------------------------------------


def test_the_token_is_cached_until_it_expires_then_refreshed(fake_goto, goto_connector, goto_clock):
    goto_connector.test_connection()
    new_user(goto_connector)
    assert fake_goto.grants == {"password": 1}

    goto_clock.advance(3600)
    goto_connector.find(ObjectType.USER, "email", "ada@contoso.example")

    assert fake_goto.grants == {"password": 1, "refresh_token": 1}
    assert fake_goto.count(status=401) == 0  # renewed before it expired, not after a refusal


def test_without_refresh_token_the_password_grant_runs_again(
    goto_clock, make_goto_connector, fake_goto
):
    fake_goto.issue_refresh_tokens = False
    connector = make_goto_connector()
    connector.account_key()

    goto_clock.advance(3600)
    connector.find(ObjectType.USER, "email", "ada@contoso.example")

    assert fake_goto.grants == {"password": 2}


def test_a_refused_refresh_token_falls_back_to_the_password(fake_goto, goto_connector, goto_clock):
    goto_connector.account_key()
    fake_goto._refresh.clear()  # the fake forgets every refresh token

    goto_clock.advance(3600)
    goto_connector.find(ObjectType.USER, "email", "ada@contoso.example")

    assert fake_goto.grants == {"password": 2}


def test_a_401_renews_the_token_once_and_retries_the_call(fake_goto, goto_connector):
    goto_connector.account_key()
    fake_goto.revoke_tokens()

    assert goto_connector.find(ObjectType.USER, "email", "nobody@contoso.example") == []

    assert fake_goto.count("GET", "/users", status=401) == 1
    assert fake_goto.grants == {"password": 1, "refresh_token": 1}


def test_a_second_401_stops_with_a_credentials_error(fake_goto, goto_connector):
    goto_connector.account_key()
    fake_goto.fail_next(
        401,
        times=2,
        path="/users",
        body={"int_err_code": "InvalidToken", "msg": "Invalid token passed"},
    )

    with pytest.raises(CredentialsError) as raised:
        goto_connector.find(ObjectType.USER, "email", "nobody@contoso.example")

    assert raised.value.stops_job and raised.value.http_status == 401
    assert fake_goto.count("GET", "/users", status=401) == 2


def test_secrets_never_reach_logs_messages_or_hooks(fake_goto, make_goto_connector, caplog):
    seen = []
    connector = make_goto_connector(on_request=lambda request, status: seen.append(request))
    caplog.set_level(logging.DEBUG)

    new_user(connector)
    fake_goto.revoke_tokens()
    connector.find(ObjectType.USER, "email", "ada@contoso.example")
    failed = make_goto_connector(password="Wrong-Passw0rd").test_connection()

    tokens = [t.access_token for t in fake_goto._tokens.values()]
    tokens += [t.refresh_token for t in fake_goto._tokens.values() if t.refresh_token]
    secrets = [FAKE_ADMIN_PASSWORD, "Wrong-Passw0rd", fake_goto.client_secret, *tokens]
    text = caplog.text + failed.message + failed.detail + repr(seen)
    assert not [secret for secret in secrets if secret in text]
    assert any(r.url.endswith("/oauth/token") and r.json_body is None for r in seen)


# -- rate limit -----------------------------------------------------------------------------------


def test_the_connector_stays_within_ten_requests_per_second(fake_goto, goto_connector):
    for number in range(12):
        created = new_user(goto_connector, email=f"user{number}@contoso.example")
        goto_connector.update(ObjectType.USER, created["id"], {"lastName": f"L{number}"})

    assert fake_goto.count() >= 39  # token, /me, licences, then POST + PUT + PUT per user
    assert fake_goto.throttled == 0
    assert fake_goto.peak_requests_per_second() <= 10


def test_without_a_limiter_429s_without_retry_after_are_backed_off_and_succeed(
    fake_goto, make_goto_connector
):
    connector = make_goto_connector(requests_per_second=None)

    for number in range(25):
        connector.find(ObjectType.USER, "email", f"user{number}@contoso.example")

    assert fake_goto.throttled > 0
    assert fake_goto.count(status=429) == fake_goto.throttled


# -- dry run ---------------------------------------------------------------------------------------


def test_dry_run_reads_but_withholds_every_write(fake_goto, make_goto_connector):
    connector = make_goto_connector(dry_run=True)

    created = new_user(connector, role="Administrator")
    connector.disable(ObjectType.USER, fake_goto.user_by_email(FAKE_ADMIN_EMAIL)["key"])

    assert created["id"].startswith("dry-run-")
    assert fake_goto.user_by_email("ada@contoso.example") is None
    assert fake_goto.count("POST", "/admin/") == 0 and fake_goto.count("PUT") == 0
    assert [r.method for r in connector.recorded_requests] == ["POST", "PUT"]


# -- the engine -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_cycle_provisions_users_and_administrators_and_unassign_removes_the_licence(
    fake_goto, make_goto_connector
):
    application = add_application("gotomeeting", "GTM")
    job = application.provisioning_job
    job.credentials = {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD}
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    grace = DirectoryUserFactory(
        user_principal_name="grace@contoso.example", given_name="Grace", surname="Hopper"
    )
    alan = DirectoryUserFactory(
        user_principal_name="alan@contoso.example", given_name="Alan", surname="Turing"
    )
    grace_assignment = assign(application, grace, "User")
    assign(application, alan, "Administrator")
    connector = make_goto_connector()

    report = run_cycle(job, connector=connector, initial=True)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    licence = fake_goto.g2m_licence_key()
    target_grace = fake_goto.user_by_email("grace@contoso.example")
    target_alan = fake_goto.user_by_email("alan@contoso.example")
    assert (target_grace["firstName"], target_grace["lastName"]) == ("Grace", "Hopper")
    assert target_grace["licenseKeys"] == [licence] and target_grace["adminRoles"] == []
    assert target_alan["licenseKeys"] == [licence]
    assert target_alan["adminRoles"] == ["MANAGE_USERS"]
    assert fake_goto.welcome_emails == []
    link = ProvisionedObject.objects.get(job=job, source_id=grace.pk)
    assert link.target_id == target_grace["key"]

    Assignment.objects.filter(pk=grace_assignment.pk).delete()
    report = run_cycle(job, connector=connector)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    target_grace = fake_goto.user_by_email("grace@contoso.example")
    assert target_grace is not None and target_grace["licenseKeys"] == []
    assert fake_goto.user_by_email("alan@contoso.example")["licenseKeys"] == [licence]
    link.refresh_from_db()
    assert link.state == LinkState.DISABLED
    assert ProvisioningLogEntry.objects.filter(
        source_id=grace.pk, action="Disable", status="Success"
    ).exists()

    assign(application, grace, "User")
    report = run_cycle(job, connector=connector)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert fake_goto.user_by_email("grace@contoso.example")["licenseKeys"] == [licence]
    assert fake_goto.throttled == 0


@pytest.mark.django_db
def test_a_cycle_with_a_wrong_password_stops_with_a_credentials_error(
    fake_goto, make_goto_connector
):
    application = add_application("gotomeeting", "GTM")
    job = application.provisioning_job
    job.credentials = {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": "wrong"}
    job.save()
    assign(application, DirectoryUserFactory(), "User")

    report = run_cycle(job, connector=make_goto_connector(password="wrong"), initial=True)

    assert report.cycle.state == CycleState.FAILED
    assert "GoToSignInRefused" in report.cycle.error
    assert fake_goto.users() == [fake_goto.user_by_email(FAKE_ADMIN_EMAIL)]


# -- GoTo as documented today (issue 17) ------------------------------------------------------


def test_the_decommissioned_token_host_path_is_refused_by_the_fake(fake_goto, make_goto_connector):
    old = make_goto_connector(token_url=fake_goto.url + "/oauth/v2/token")

    result = old.test_connection()

    assert not result.ok
    assert fake_goto.count("POST", "/oauth/v2/token", status=410) == 1


def test_authorize_exchanges_the_code_with_pkce_and_the_refresh_token_signs_in(
    fake_goto, goto_authorized, make_goto_connector
):
    refresh_token, _exchanger = goto_authorized

    connector = make_goto_connector("", "", credentials={"refresh_token": refresh_token})
    result = connector.test_connection()

    assert result.ok, result.message
    assert "Authorize" in result.message and FAKE_ADMIN_EMAIL in result.message
    assert fake_goto.grants["authorization_code"] == 1
    assert fake_goto.grants["refresh_token"] == 1
    assert fake_goto.grants["password"] == 0


def test_an_authorization_code_with_a_wrong_pkce_verifier_is_refused(
    fake_goto, make_goto_connector
):
    from provisioning.connectors.gotomeeting import build_authorization_url, pkce_pair
    from tests.fakes.fixtures import TEST_REDIRECT_URI, consent

    fake_goto.register_redirect_uri(TEST_REDIRECT_URI)
    _verifier, challenge = pkce_pair()
    other_verifier, _other = pkce_pair()
    url = build_authorization_url(
        fake_goto.authorize_url,
        client_id=fake_goto.client_id,
        redirect_uri=TEST_REDIRECT_URI,
        state="s",
        code_challenge=challenge,
    )
    code = consent(url)["code"]

    with pytest.raises(CredentialsError):
        make_goto_connector("", "").exchange_code(
            code, redirect_uri=TEST_REDIRECT_URI, code_verifier=other_verifier
        )
    assert fake_goto.grants["authorization_code"] == 0


def test_an_unregistered_redirect_uri_gets_no_code(fake_goto):
    import requests

    from provisioning.connectors.gotomeeting import build_authorization_url, pkce_pair

    url = build_authorization_url(
        fake_goto.authorize_url,
        client_id=fake_goto.client_id,
        redirect_uri="http://127.0.0.1:9/elsewhere/",
        state="s",
        code_challenge=pkce_pair()[1],
    )

    answer = requests.get(url, allow_redirects=False, timeout=5)

    assert answer.status_code == 400 and "Location" not in answer.headers


def test_a_refresh_answer_without_a_refresh_token_keeps_the_stored_one(
    fake_goto, goto_authorized, make_goto_connector, goto_clock
):
    refresh_token, _exchanger = goto_authorized
    rotated = []
    connector = make_goto_connector(
        "",
        "",
        credentials={"refresh_token": refresh_token},
        on_refresh_token=lambda old, new: rotated.append((old, new)),
    )
    connector.account_key()

    goto_clock.advance(3600)  # the access token expires; the next call refreshes it
    connector.find(ObjectType.USER, "email", "nobody@contoso.example")
    goto_clock.advance(3600)
    connector.find(ObjectType.USER, "email", "nobody@contoso.example")

    assert fake_goto.grants["refresh_token"] == 3
    assert connector.refresh_token == refresh_token != ""
    assert fake_goto.refresh_token_valid(refresh_token)
    assert rotated == []


def test_a_new_refresh_token_in_the_answer_replaces_the_old_one_and_is_reported(
    fake_goto, goto_authorized, make_goto_connector, goto_clock
):
    refresh_token, _exchanger = goto_authorized
    rotated = []
    connector = make_goto_connector(
        "",
        "",
        credentials={"refresh_token": refresh_token},
        on_refresh_token=lambda old, new: rotated.append((old, new)),
    )
    fake_goto.rotate_refresh_token_next()

    connector.account_key()
    goto_clock.advance(3600)
    connector.find(ObjectType.USER, "email", "nobody@contoso.example")

    ((old, new),) = rotated
    assert old == refresh_token and connector.refresh_token == new != refresh_token
    assert fake_goto.refresh_token_valid(new) and not fake_goto.refresh_token_valid(old)


def test_a_revoked_refresh_token_stops_the_job_asking_to_reauthorize(
    fake_goto, goto_authorized, make_goto_connector
):
    refresh_token, _exchanger = goto_authorized
    fake_goto.revoke_refresh_tokens()
    # The legacy password is there too: a refused Authorize grant must not fall back to it.
    connector = make_goto_connector(credentials={"refresh_token": refresh_token})

    with pytest.raises(CredentialsError) as raised:
        connector.account_key()

    assert raised.value.stops_job
    assert raised.value.code == "GoToReauthorize"
    assert "reauthorize" in raised.value.message
    assert refresh_token not in raised.value.message + raised.value.detail
    assert fake_goto.grants["password"] == 0


def test_a_personal_access_token_signs_in_without_a_password(fake_goto, make_goto_connector):
    pat = fake_goto.add_personal_access_token()
    connector = make_goto_connector("", "", credentials={"personal_access_token": pat})

    result = connector.test_connection()

    assert result.ok, result.message
    assert fake_goto.grants["personal_access_token"] == 1 and fake_goto.grants["password"] == 0


def test_an_oauth_client_without_the_password_grant_refuses_the_legacy_sign_in(
    fake_goto, make_goto_connector
):
    fake_goto.password_grant_enabled = False

    result = make_goto_connector().test_connection()

    assert not result.ok
    assert "legacy password grant" in result.message


def test_paging_over_250_users_uses_page_size_and_offset(fake_goto, goto_connector):
    for number in range(250):
        fake_goto.add_user(fake_goto.account, f"bulk{number:03d}@contoso.example")
    expected = {u["email"] for u in fake_goto.users()}

    listed = list(goto_connector.list(ObjectType.USER, page_size=100))

    assert {u["email"] for u in listed} == expected and len(listed) == len(expected) == 251
    pages = [q for q in fake_goto.user_queries if "filter" not in q]
    assert [(q["pageSize"], q["offset"]) for q in pages] == [
        (["100"], ["0"]),
        (["100"], ["100"]),
        (["100"], ["200"]),
    ]
    assert all("limit" not in q for q in fake_goto.user_queries)


def test_find_uses_the_documented_filter_and_keeps_only_the_exact_address(
    fake_goto, goto_connector
):
    # GoTo's filter value is a regular expression: "a.b" also matches "axb".
    fake_goto.add_user(fake_goto.account, "a.b+x@contoso.example")
    fake_goto.add_user(fake_goto.account, "axb+x@contoso.example")
    fake_goto.add_user(fake_goto.account, "aXbbx@contoso.example")

    found = goto_connector.find(ObjectType.USER, "email", "A.B+x@contoso.example")

    assert [u["email"] for u in found] == ["a.b+x@contoso.example"]
    (query,) = [q for q in fake_goto.user_queries if "filter" in q]
    assert query["filter"][0].startswith('(email="(?i)')


def test_an_existing_user_keeps_another_products_licence_and_admin_roles(fake_goto, goto_connector):
    other = next(iter(fake_goto.account.licences.values()))
    webinar = FakeLicence(9_000_001, "GoToWebinar", ["G2W"], 5)
    fake_goto.account.licences[webinar.key] = webinar
    existing = fake_goto.add_user(
        fake_goto.account,
        "ada@contoso.example",
        "Ada",
        "Lovelace",
        licence_keys=(webinar.key,),
        admin_roles=("RUN_REPORTS", "MANAGE_USERS"),
    )

    created = new_user(goto_connector, role="User")

    held = fake_goto.user_by_email("ada@contoso.example")
    assert created["id"] == existing["key"]
    assert sorted(held["licenseKeys"]) == sorted([webinar.key, other.key])
    assert set(held["adminRoles"]) == {"RUN_REPORTS", "MANAGE_USERS"}


def test_administrator_is_granted_manage_users_and_never_an_undocumented_role(
    fake_goto, goto_connector
):
    new_user(goto_connector, role="Administrator")

    assert fake_goto.user_by_email("ada@contoso.example")["adminRoles"] == ["MANAGE_USERS"]
    with pytest.raises(BadRequestError):
        goto_connector._put_user(
            fake_goto.user_by_email("ada@contoso.example")["key"],
            {"adminRoles": ["MANAGE_ACCOUNT"]},
        )


def test_a_retry_after_on_429_is_honoured(fake_goto, make_goto_connector, goto_clock):
    connector = make_goto_connector(requests_per_second=None)
    connector.account_key()
    fake_goto.fail_next(429, path="/users", headers={"Retry-After": "7"})
    before = goto_clock()

    connector.find(ObjectType.USER, "email", "nobody@contoso.example")

    assert goto_clock() - before >= 7
    assert fake_goto.count("GET", "/users", status=429) == 1


def test_persistent_429s_carry_the_connectors_own_code(fake_goto, make_goto_connector):
    connector = make_goto_connector(
        requests_per_second=None, retry=RetryPolicy(max_attempts=2, base_delay=0.1)
    )
    connector.account_key()
    fake_goto.fail_next(429, times=5, path="/users")

    with pytest.raises(TransientError) as raised:
        connector.find(ObjectType.USER, "email", "nobody@contoso.example")

    assert raised.value.code == "GOTO_429"


@pytest.mark.django_db
def test_a_cycle_without_a_free_licence_logs_the_create_done_and_the_licence_failed(
    fake_goto, make_goto_connector
):
    application = add_application("gotomeeting", "GTM seats")
    job = application.provisioning_job
    job.credentials = {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD}
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    grace = DirectoryUserFactory(
        user_principal_name="grace@contoso.example", given_name="Grace", surname="Hopper"
    )
    assign(application, grace, "User")
    fake_goto.account.g2m_licence().seats = 0
    connector = make_goto_connector()

    run_cycle(job, connector=connector, initial=True)

    target = fake_goto.user_by_email("grace@contoso.example")
    assert target is not None and target["licenseKeys"] == []
    link = ProvisionedObject.objects.get(job=job, source_id=grace.pk)
    assert link.target_id == target["key"] and link.failure_count == 1
    entries = ProvisioningLogEntry.objects.filter(source_id=grace.pk)
    assert entries.filter(action="Create", status="Success").exists()
    failure = entries.get(status="Failure")
    assert failure.action == "Update"
    assert "no free GoToMeeting licence" in failure.reason
    assert "seat" in failure.recommendation

    # A seat is freed; the retry grants the licence to the same account, never a second one.
    fake_goto.account.g2m_licence().seats = 5
    ProvisionedObject.objects.filter(pk=link.pk).update(next_retry_at=link.created_at)
    run_cycle(job, connector=connector)

    assert [u["key"] for u in fake_goto.users() if u["email"] == "grace@contoso.example"] == [
        target["key"]
    ]
    assert fake_goto.user_by_email("grace@contoso.example")["licenseKeys"] == [
        fake_goto.g2m_licence_key()
    ]
    assert fake_goto.count("POST", "/users") == 1
