"""The Authorize step of the GoTo apps, against the fake GoTo API (issue 17), through the
portal's own views: the redirect with ``state`` and PKCE, the consent page, the callback, the
refresh token stored encrypted, refusals that store nothing, Test Connection, and the
quarantine that asks to reauthorize when GoTo revokes the refresh token."""

from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import JobState, ProvisioningMode, QuarantineReason
from provisioning.connectors.gotomeeting import pkce_pair
from provisioning.engine.cycle import run_cycle
from provisioning.models import AuditEvent, ProvisioningJob
from provisioning.roles import ensure_roles
from tests.factories import DirectoryUserFactory, assign, make_application
from tests.fakes.fixtures import consent

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/goto/authorize/callback/"


@pytest.fixture
def admin(client):
    administrators, _auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="alex")
    user.groups.add(administrators)
    client.force_login(user)
    return user


@pytest.fixture
def goto_portal(fake_goto, settings):
    """The portal's GOTO_* settings pointing at the fake, with the callback registered."""
    settings.GOTO_OAUTH_TOKEN_URL = fake_goto.token_url
    settings.GOTO_OAUTH_AUTHORIZE_URL = fake_goto.authorize_url
    settings.GOTO_ADMIN_API_URL = fake_goto.api_url
    settings.GOTO_CLIENT_ID = fake_goto.client_id
    settings.GOTO_CLIENT_SECRET = fake_goto.client_secret
    fake_goto.register_redirect_uri(CALLBACK)
    return fake_goto


@pytest.fixture
def app():
    application = make_application("gotomeeting", "Contoso GoToMeeting")
    job = application.provisioning_job
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    return application


def start_authorize(client, app) -> str:
    response = client.post(reverse("goto-authorize", args=[app.pk]))
    assert response.status_code == 302
    return response["Location"]


def callback(client, answer: dict[str, str]):
    return client.get(reverse("goto-authorize-callback"), answer)


def test_the_authorize_round_trip_stores_the_refresh_token_and_who_authorized_when(
    client, admin, app, goto_portal
):
    location = start_authorize(client, app)
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(goto_portal.authorize_url + "?")
    assert query["redirect_uri"] == [CALLBACK] and query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["state"][0]) >= 32

    answer = consent(location)
    response = callback(client, answer)

    assert response.status_code == 302 and response["Location"].endswith(
        reverse("provisioning", args=[app.pk])
    )
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    refresh_token = job.credentials["refresh_token"]
    assert goto_portal.refresh_token_valid(refresh_token)
    assert job.credentials["authorized_by"] == "alex"
    assert job.credentials["authorized_principal"] == "team.admin@contoso.example"
    page = client.get(reverse("provisioning", args=[app.pk])).content.decode()
    assert "Authorized by alex on" in page and "team.admin@contoso.example" in page
    assert refresh_token not in page
    audit = AuditEvent.objects.filter(application_id=app.pk).order_by("-pk").first()
    assert refresh_token not in str(audit.before) + str(audit.after)

    result = client.post(reverse("test-connection", args=[app.pk]), {"mode": "Automatic"})
    assert "Testing connection succeeded." in result.content.decode()
    assert goto_portal.grants["password"] == 0


def test_a_callback_with_a_state_this_session_did_not_start_is_refused_and_stores_nothing(
    client, admin, app, goto_portal
):
    answer = consent(start_authorize(client, app))

    response = callback(client, {**answer, "state": "forged-" + answer["state"]})

    assert response.status_code == 400
    assert "unknown or expired state" in response.content.decode()
    assert (
        "refresh_token" not in ProvisioningJob.objects.get(pk=app.provisioning_job.pk).credentials
    )
    # The code was never exchanged.
    assert goto_portal.grants["authorization_code"] == 0


def test_a_replayed_callback_is_refused(client, admin, app, goto_portal):
    answer = consent(start_authorize(client, app))
    assert callback(client, answer).status_code == 302

    again = callback(client, answer)

    assert again.status_code == 400


def test_a_code_issued_for_another_pkce_challenge_is_refused_and_stores_nothing(
    client, admin, app, goto_portal
):
    location = start_authorize(client, app)
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["code_challenge"] = pkce_pair()[1]  # an attacker's challenge, not the portal's
    from urllib.parse import urlencode

    tampered = urlunsplit(parts._replace(query=urlencode(query)))

    response = callback(client, consent(tampered))

    assert response.status_code == 400
    assert "PKCE" in response.content.decode() or "refused" in response.content.decode()
    assert (
        "refresh_token" not in ProvisioningJob.objects.get(pk=app.provisioning_job.pk).credentials
    )


def test_denying_consent_is_refused_and_stores_nothing(client, admin, app, goto_portal):
    answer = consent(start_authorize(client, app), decision="deny")

    response = callback(client, answer)

    assert response.status_code == 400 and "access_denied" in response.content.decode()


def test_an_auditor_cannot_start_an_authorization(client, app, goto_portal):
    _administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="audrey")
    user.groups.add(auditors)
    client.force_login(user)

    assert client.post(reverse("goto-authorize", args=[app.pk])).status_code == 403
    assert client.get(reverse("goto-authorize-callback")).status_code == 403


def test_a_failed_test_connection_shows_the_team_admin_hint_once(client, admin, app, goto_portal):
    data = {
        "mode": "Automatic",
        "credential_admin_username": "team.admin@contoso.example",
        "credential_admin_password": "not-the-password",
    }

    page = client.post(reverse("test-connection", args=[app.pk]), data).content.decode()

    assert "Testing connection failed." in page
    # The template's hint, once (the connector used to append it to its message as well).
    assert page.lower().count("account has team admin permissions") == 1
    assert app.template.test_connection_hint in page


def test_a_revoked_refresh_token_quarantines_the_job_and_the_email_says_reauthorize(
    client, admin, app, goto_portal, mailoutbox
):
    callback(client, consent(start_authorize(client, app)))
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    job.notify_on_failure = True
    job.notification_email = "ops@contoso.example"
    job.status_on = True
    job.save()
    assign(app, DirectoryUserFactory(user_principal_name="ada@contoso.example"), "User")
    goto_portal.revoke_refresh_tokens()

    run_cycle(job, initial=True)

    job.refresh_from_db()
    assert job.state == JobState.QUARANTINE
    assert job.quarantine_reason == QuarantineReason.QUARANTINE_EXCEPTION
    assert "reauthorize" in job.quarantine_detail
    assert job.credentials["refresh_token"] not in job.quarantine_detail
    (mail,) = [m for m in mailoutbox if "quarantine" in m.subject]
    assert "reauthorize" in mail.body
    assert job.credentials["refresh_token"] not in mail.body
    assert goto_portal.user_by_email("ada@contoso.example") is None


def test_a_refresh_token_goto_replaces_during_a_cycle_is_stored_in_the_job(
    client, admin, app, goto_portal
):
    callback(client, consent(start_authorize(client, app)))
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    old = job.credentials["refresh_token"]
    assign(app, DirectoryUserFactory(user_principal_name="ada@contoso.example"), "User")
    goto_portal.rotate_refresh_token_next()

    run_cycle(job, initial=True)

    job.refresh_from_db()
    assert job.credentials["refresh_token"] != old
    assert goto_portal.refresh_token_valid(job.credentials["refresh_token"])
    assert job.credentials["authorized_by"] == "alex"
    assert goto_portal.user_by_email("ada@contoso.example") is not None


def test_remove_authorization_forgets_the_refresh_token_and_the_legacy_way_is_used(
    client, admin, app, goto_portal
):
    callback(client, consent(start_authorize(client, app)))
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    job.credentials = {
        **job.credentials,
        "admin_username": "team.admin@contoso.example",
        "admin_password": "fake-admin-Passw0rd!",
    }
    job.save()

    response = client.post(reverse("goto-deauthorize", args=[app.pk]))

    assert response.status_code == 302
    job.refresh_from_db()
    assert "refresh_token" not in job.credentials and "authorized_by" not in job.credentials
    # The page sends the user name back; the password is the stored one.
    data = {"mode": "Automatic", "credential_admin_username": "team.admin@contoso.example"}
    page = client.post(reverse("test-connection", args=[app.pk]), data).content.decode()
    assert "Testing connection succeeded." in page and "the legacy password grant" in page


def test_the_overview_and_the_gallery_say_microsoft_retired_gotomeeting_for_goto(
    client, admin, app
):
    notice = app.template.notice

    overview = client.get(reverse("application-overview", args=[app.pk])).content.decode()
    gallery = client.get(reverse("application-add"), {"template": "gotomeeting"}).content.decode()
    other = make_application("goto", "Contoso GoTo")
    goto_overview = client.get(reverse("application-overview", args=[other.pk])).content.decode()

    assert "retired" in notice and notice in overview and notice in gallery
    assert notice not in goto_overview
