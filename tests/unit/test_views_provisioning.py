"""The Provisioning tab (F7–F9, F12, F25): saving, secrets, Test Connection, validation."""

import socket

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import AuditActivity, JobState, ProvisioningMode, ProvisioningScope
from provisioning.models import AuditEvent, ProvisioningJob
from provisioning.roles import ensure_roles
from tests.factories import make_application

pytestmark = pytest.mark.django_db

STORED_SECRET = "stored-secret-token-1234"


@pytest.fixture
def admin(client):
    administrators, _auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="adam")
    user.groups.add(administrators)
    client.force_login(user)
    return user


@pytest.fixture
def app():
    return make_application("scim", "Contoso SCIM")


@pytest.fixture
def configured_app(app):
    job = app.provisioning_job
    job.mode = ProvisioningMode.AUTOMATIC
    job.credentials = {
        "tenant_url": "https://scim.contoso.example/v2",
        "secret_token": STORED_SECRET,
    }
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.NOT_RUN)
    return app


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/scim/v2"


def form_data(**overrides) -> dict:
    data = {
        "mode": "Automatic",
        "credential_tenant_url": "https://scim.contoso.example/v2",
        "credential_secret_token": "",
        "notification_email": "",
        "prevent_accidental_deletion": "on",
        "deletion_threshold": "500",
        "scope": "assigned",
        "interval_minutes": "20",
        "status": "off",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def url(app, name="provisioning"):
    return reverse(name, args=[app.pk])


def test_the_tab_shows_the_templates_credential_labels_and_the_tutorial_settings(
    admin, client, app
):
    html = client.get(url(app)).content.decode()
    for text in (
        "Provisioning Mode",
        "Admin Credentials",
        "Tenant URL",
        "Secret Token",
        "Test Connection",
        "Notification Email",
        "Send an email notification when a failure occurs",
        "Prevent accidental deletion",
        "Provisioning Status",
        "Synchronize Azure Active Directory Users to Contoso SCIM",
        "Synchronization Details",
    ):
        assert text in html, text


def test_gotomeeting_credential_fields_are_labelled_as_in_the_tutorial(admin, client):
    app = make_application("gotomeeting", "Citrix GoToMeeting")
    html = client.get(url(app)).content.decode()
    assert "Citrix GoToMeeting Admin User Name" in html
    assert "Citrix GoToMeeting Admin Password" in html


def test_an_administrator_saves_mode_credentials_email_and_settings(admin, client, app):
    response = client.post(
        url(app),
        form_data(
            credential_tenant_url="https://scim.contoso.example/v2",
            credential_secret_token="a-brand-new-token",
            notification_email="ops@contoso.example, it@contoso.example",
            notify_on_failure="on",
            deletion_threshold="25",
            interval_minutes="40",
        ),
    )
    assert response.status_code == 302
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.mode == ProvisioningMode.AUTOMATIC
    assert job.credentials == {
        "tenant_url": "https://scim.contoso.example/v2",
        "secret_token": "a-brand-new-token",
    }
    assert job.notification_email == "ops@contoso.example, it@contoso.example"
    assert job.notify_on_failure and job.deletion_threshold == 25 and job.interval_minutes == 40
    assert job.state == JobState.NOT_RUN  # configured now, not yet run


def test_saving_writes_one_audit_event_with_the_changes_and_the_secret_redacted(admin, client, app):
    client.post(
        url(app),
        form_data(credential_secret_token="a-brand-new-token", interval_minutes="30"),
    )
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS)
    assert event.actor == admin and event.application_id == app.pk
    assert event.before["mode"] == "Manual" and event.after["mode"] == "Automatic"
    assert event.before["interval_minutes"] == 20 and event.after["interval_minutes"] == 30
    assert event.after["credentials"]["tenant_url"] == "https://scim.contoso.example/v2"
    assert event.after["credentials"]["secret_token"] == "••••"
    assert "a-brand-new-token" not in str(event.before) + str(event.after)
    assert "scope" not in event.after  # unchanged settings are not listed


def test_stored_secrets_are_never_rendered_only_bullets(admin, client, configured_app):
    response = client.get(url(configured_app))
    html = response.content.decode()
    assert STORED_SECRET not in html
    assert 'placeholder="••••"' in html
    assert "A value is stored. Leave blank to keep it; after changing another" in html


def test_a_rejected_form_never_echoes_a_typed_secret(admin, client, configured_app):
    response = client.post(
        url(configured_app),
        form_data(credential_secret_token="typed-secret-xyz", interval_minutes="0"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "typed-secret-xyz" not in html and STORED_SECRET not in html
    assert "Nothing was saved" in html


def test_a_blank_secret_keeps_the_stored_one(admin, client, configured_app):
    client.post(url(configured_app), form_data(interval_minutes="30"))
    job = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert job.credentials == {
        "tenant_url": "https://scim.contoso.example/v2",
        "secret_token": STORED_SECRET,
    }
    assert job.interval_minutes == 30


def test_a_changed_tenant_url_with_a_blank_secret_is_refused_and_asks_for_it_again(
    admin, client, configured_app
):
    response = client.post(
        url(configured_app), form_data(credential_tenant_url="https://new.example/v2")
    )
    html = response.content.decode()
    assert "Tenant URL changed: enter Secret Token again" in html
    job = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert job.credentials["tenant_url"] == "https://scim.contoso.example/v2"
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_SETTINGS).exists()


def test_a_changed_tenant_url_with_a_new_secret_is_saved(admin, client, configured_app):
    client.post(
        url(configured_app),
        form_data(credential_tenant_url="https://new.example/v2", credential_secret_token="new-1"),
    )
    job = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert job.credentials == {"tenant_url": "https://new.example/v2", "secret_token": "new-1"}


def test_test_connection_never_sends_the_stored_secret_to_a_changed_url(
    admin, client, configured_app
):
    import http.server
    import threading

    seen: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization") or "")
            self.send_response(200)
            self.send_header("Content-Type", "application/scim+json")
            self.end_headers()
            self.wfile.write(b'{"Resources": [], "totalResults": 0}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = client.post(
            url(configured_app, "test-connection"),
            form_data(credential_tenant_url=f"http://127.0.0.1:{server.server_port}/scim/v2"),
            HTTP_HX_REQUEST="true",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert "enter Secret Token again" in response.content.decode()
    assert not any(STORED_SECRET in header for header in seen)
    assert seen == []


def test_a_failed_test_connection_saves_nothing_and_shows_the_hint(admin, client, configured_app):
    before = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    events_before = AuditEvent.objects.count()
    response = client.post(
        url(configured_app, "test-connection"),
        form_data(
            mode="Manual",
            credential_tenant_url=closed_port_url(),
            credential_secret_token="wrong",
            interval_minutes="99",
        ),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Testing connection failed." in html
    assert configured_app.template.test_connection_hint in html
    assert "<html" not in html  # an htmx fragment
    after = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert after.credentials == before.credentials
    assert (after.mode, after.interval_minutes) == (before.mode, before.interval_minutes)
    # Nothing saved; the test itself is audited (issue 11): one event, Test connection.
    new_events = AuditEvent.objects.order_by("id")[events_before:]
    assert [e.activity for e in new_events] == ["Test connection"]


def test_test_connection_with_a_malformed_url_says_so(admin, client, app):
    response = client.post(
        url(app, "test-connection"),
        form_data(credential_tenant_url="not a url", credential_secret_token="t"),
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Testing connection failed." in html
    assert "http:// or https:// URL" in html


def test_test_connection_asks_for_missing_credentials(admin, client, app):
    response = client.post(
        url(app, "test-connection"),
        form_data(credential_tenant_url="", credential_secret_token=""),
        HTTP_HX_REQUEST="true",
    )
    assert "Fill in Tenant URL, Secret Token" in response.content.decode()


def test_test_connection_without_javascript_shows_the_whole_tab_with_the_result(admin, client, app):
    response = client.post(
        url(app, "test-connection"),
        form_data(credential_tenant_url=closed_port_url(), credential_secret_token="t"),
    )
    html = response.content.decode()
    assert "<html" in html and "Testing connection failed." in html
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).credentials == {}


@pytest.mark.parametrize(
    ("email", "notify", "error"),
    [
        ("", "on", "Enter the address that receives failure notifications."),
        ("ops@contoso.example, not-an-address", "on", "Not a valid e-mail address: not-an-address"),
    ],
)
def test_the_notification_email_is_validated(admin, client, configured_app, email, notify, error):
    response = client.post(
        url(configured_app), form_data(notification_email=email, notify_on_failure=notify)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert (
        ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk).notify_on_failure
        is False
    )


def test_several_comma_separated_addresses_are_accepted(admin, client, configured_app):
    client.post(
        url(configured_app),
        form_data(notification_email="a@contoso.example;b@contoso.example", notify_on_failure="on"),
    )
    job = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert job.notification_email == "a@contoso.example, b@contoso.example"


def test_the_interval_must_be_at_least_one_minute(admin, client, configured_app):
    response = client.post(url(configured_app), form_data(interval_minutes="0"))
    assert response.status_code == 200
    assert "greater than or equal to 1" in response.content.decode()


def test_automatic_mode_requires_the_credentials(admin, client, app):
    response = client.post(url(app), form_data(credential_tenant_url=""))
    html = response.content.decode()
    assert "Tenant URL is required for automatic provisioning." in html
    assert "Secret Token is required for automatic provisioning." in html


def test_status_on_in_manual_mode_is_refused_as_a_form_error_and_nothing_is_saved(
    admin, client, app
):
    response = client.post(
        url(app),
        form_data(mode="Manual", credential_tenant_url="", status="on", interval_minutes="30"),
    )
    assert response.status_code == 200
    assert "Turn the Provisioning Status Off before setting the mode to Manual." in (
        response.content.decode()
    )
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert not job.status_on and job.interval_minutes == 20
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_SETTINGS).exists()


def test_status_on_starts_provisioning_and_records_enable(admin, client, configured_app):
    response = client.post(url(configured_app), form_data(status="on", save_anyway="on"))
    assert response.status_code == 302
    job = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert job.status_on and job.next_run_at is not None
    assert AuditEvent.objects.filter(activity=AuditActivity.ENABLE, actor=admin).exists()


def test_status_off_pauses_and_records_disable(admin, client, configured_app):
    client.post(url(configured_app), form_data(status="on", save_anyway="on"))
    client.post(url(configured_app), form_data(status="off"))
    job = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert not job.status_on and job.state == JobState.PAUSED
    assert AuditEvent.objects.filter(activity=AuditActivity.DISABLE).exists()


def test_changing_the_scope_makes_the_next_cycle_initial(admin, client, configured_app):
    ProvisioningJob.objects.filter(pk=configured_app.provisioning_job.pk).update(
        full_sync_required=False
    )
    client.post(url(configured_app), form_data(scope=ProvisioningScope.ALL))
    job = ProvisioningJob.objects.get(pk=configured_app.provisioning_job.pk)
    assert job.scope == ProvisioningScope.ALL and job.full_sync_required


def test_saving_without_changes_writes_no_audit_event(admin, client, configured_app):
    client.post(url(configured_app), form_data())
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_SETTINGS).exists()
