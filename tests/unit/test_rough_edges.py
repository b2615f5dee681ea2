"""Rough edges a new administrator met (issue 15), each with the behaviour that fixes it."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import (
    CycleState,
    JobState,
    LinkState,
    ProvisioningMode,
    QuarantineReason,
)
from provisioning.engine.quarantine import after_cycle
from provisioning.models import ProvisionedObject, ProvisioningJob, SyncCycle
from provisioning.roles import ensure_roles
from tests.factories import make_application

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def login(client, role: str):
    administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username=f"{role}-user")
    user.groups.add(administrators if role == "admin" else auditors)
    client.force_login(user)
    return user


@pytest.fixture
def app():
    application = make_application("scim", "Contoso SCIM")
    job = application.provisioning_job
    job.mode = ProvisioningMode.AUTOMATIC
    job.credentials = {"tenant_url": "https://scim.contoso.example/v2", "secret_token": "tok"}
    job.save()
    return application


def quarantine(app, reason, since=None):
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        state=JobState.QUARANTINE,
        quarantine_reason=reason,
        quarantine_detail="401 Unauthorized",
        quarantine_since=since or timezone.now(),
        status_on=True,
    )


# --- Allow deletes only for held deletions -------------------------------------------------------


def test_wrong_credentials_quarantine_tells_what_to_do_and_offers_no_allow_deletes(client, app):
    quarantine(app, QuarantineReason.QUARANTINE_EXCEPTION)
    login(client, "admin")
    html = client.get(reverse("provisioning", args=[app.pk])).content.decode()
    assert "Provisioning is in quarantine." in html
    assert "Allow deletes</button>" not in html
    assert "choose Test Connection until it succeeds" in html
    assert "Restart provisioning" in html


def test_held_deletions_quarantine_offers_allow_deletes(client, app):
    quarantine(app, QuarantineReason.TOO_MANY_DELETES)
    login(client, "admin")
    html = client.get(reverse("provisioning", args=[app.pk])).content.decode()
    assert "Allow deletes</button>" in html and "StagedDelete" in html


def test_allow_deletes_is_refused_for_a_quarantine_without_held_deletions(client, app):
    quarantine(app, QuarantineReason.QUARANTINE_EXCEPTION)
    login(client, "admin")
    response = client.post(reverse("allow-deletes", args=[app.pk]), follow=True)
    assert "There are no held deletions to allow." in response.content.decode()
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.state == JobState.QUARANTINE and not job.deletes_allowed_once


def test_allow_deletes_is_accepted_when_links_are_held(client, app):
    ProvisionedObject.objects.create(
        job=app.provisioning_job,
        object_type="User",
        source_id="6f1c7d5e-52a4-4c55-9d8b-1a1a1a1a1a1a",
        target_id="t1",
        state=LinkState.STAGED_DELETE,
    )
    login(client, "admin")
    client.post(reverse("allow-deletes", args=[app.pk]))
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).deletes_allowed_once


# --- an empty cycle does not lift a quarantine it did not retest ---------------------------------


def run_at(job, when, counters):
    cycle = SyncCycle.objects.create(
        job=job, kind="incremental", state=CycleState.SUCCEEDED, counters=counters
    )
    SyncCycle.objects.filter(pk=cycle.pk).update(started_at=when)
    cycle.refresh_from_db()
    after_cycle(job, cycle, now=when + timedelta(minutes=1))
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(
    "reason",
    [QuarantineReason.QUARANTINE_EXCEPTION, QuarantineReason.ESCROW_PROPORTION_THRESHOLD],
)
def test_a_cycle_that_processed_nothing_keeps_the_quarantine(app, reason):
    quarantine(app, reason, since=T0)
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    job = run_at(job, T0 + timedelta(hours=6), {"users": 0, "groups": 0})
    assert job.state == JobState.QUARANTINE and job.quarantine_reason == reason
    assert job.quarantine_since == T0
    assert job.next_run_at == T0 + timedelta(hours=6, minutes=1) + timedelta(hours=6)
    # A cycle that reached the target and succeeded lifts it.
    job = run_at(job, T0 + timedelta(hours=12), {"Update": {"Success": 1}, "users": 1})
    assert job.state == JobState.ACTIVE and job.quarantine_reason == ""


def test_held_deletions_quarantine_is_lifted_by_the_cycle_after_allow_deletes(app):
    quarantine(app, QuarantineReason.TOO_MANY_DELETES, since=T0)
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    job = run_at(job, T0 + timedelta(hours=1), {})
    assert job.state == JobState.ACTIVE


# --- the banner's date ----------------------------------------------------------------------------


def test_quarantine_banner_date_is_not_followed_by_a_second_period(client, app):
    quarantine(app, QuarantineReason.QUARANTINE_EXCEPTION, since=T0)
    login(client, "admin")
    html = client.get(reverse("sync-details", args=[app.pk])).content.decode()
    banner = html.split('data-testid="quarantine-banner"')[1].split("</div>")[0]
    assert ".." not in banner
    assert "In quarantine since" in banner


# --- one date format, the user's locale ----------------------------------------------------------


@pytest.mark.parametrize(
    "language, expected",
    [("en", "1/5/2026, 8:00:00 AM"), ("zh-hant", "2026/1/5 08:00:00")],
)
def test_every_page_writes_dates_in_one_format_of_the_users_language(
    client, app, language, expected
):
    from provisioning.models import Application

    Application.objects.filter(pk=app.pk).update(created_at=T0)
    login(client, "admin")
    client.cookies["django_language"] = language
    listing = client.get(reverse("application-list")).content.decode()  # SHORT_DATETIME_FORMAT
    overview = client.get(reverse("application-overview", args=[app.pk])).content.decode()
    assert expected in listing and expected in overview


# --- each 403 logged once ------------------------------------------------------------------------


def _emitting_handlers(logger_name: str, record) -> list:
    import logging

    handlers = []
    logger = logging.getLogger(logger_name)
    while logger is not None:
        for handler in logger.handlers:
            if type(handler).__module__.startswith("_pytest"):
                continue
            if record.levelno >= handler.level and handler.filter(record):
                handlers.append(handler)
        logger = logger.parent if logger.propagate else None
    return handlers


def test_a_403_is_written_to_the_log_once_with_debug_on(settings, client, app):
    import logging

    settings.DEBUG = True
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    collector = Collect(level=logging.WARNING)
    logging.getLogger("django.request").addHandler(collector)
    try:
        login(client, "auditor")
        assert client.post(reverse("restart-provisioning", args=[app.pk])).status_code == 403
    finally:
        logging.getLogger("django.request").removeHandler(collector)
    forbidden = [r for r in records if r.status_code == 403]
    assert len(forbidden) == 1
    assert len(_emitting_handlers("django.request", forbidden[0])) == 1


# --- the portal's own 404 and 500 pages, DEBUG on or off; /favicon.ico ---------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_pages_show_the_portals_404_page(settings, client, debug):
    settings.DEBUG = debug
    login(client, "admin")
    for url in ("/no-such-page/", "/users/00000000-0000-0000-0000-000000000000/"):
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 404
        assert "The page or object you asked for does not exist." in html
        assert "Using the URLconf" not in html and "technical" not in html.lower()
    # CommonMiddleware still adds a missing slash.
    assert client.get("/users").status_code == 301


@pytest.mark.parametrize("debug", [True, False])
def test_a_failing_page_shows_the_portals_500_page_and_logs_the_error(
    settings, client, caplog, debug
):
    settings.DEBUG = debug
    settings.ROOT_URLCONF = "tests.support.error_urls"
    client.raise_request_exception = False
    response = client.get("/test-failure/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert "secret-value-must-not-show" not in html and "Traceback" not in html
    assert any("test-failure" in record.getMessage() for record in caplog.records)


def test_debug_error_pages_setting_restores_djangos_pages(settings, client):
    settings.DEBUG = True
    settings.DEBUG_ERROR_PAGES = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Using the URLconf" in response.content.decode()


def test_favicon_ico_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"


# --- Save with Status On tests the credentials first; the status sits in Settings ----------------


def settings_form(tenant_url: str, token: str = "", **overrides) -> dict:
    data = {
        "mode": "Automatic",
        "credential_tenant_url": tenant_url,
        "credential_secret_token": token,
        "notification_email": "",
        "prevent_accidental_deletion": "on",
        "deletion_threshold": "500",
        "scope": "assigned",
        "interval_minutes": "20",
        "status": "on",
    }
    data.update(overrides)
    return data


def test_save_with_status_on_and_failing_credentials_warns_and_saves_nothing(client, app, scim):
    from provisioning.models import AuditEvent

    login(client, "admin")
    page = client.post(
        reverse("provisioning", args=[app.pk]), settings_form(scim.url, "wrong-token")
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "Test Connection failed with these credentials; nothing was saved yet." in html
    assert 'name="save_anyway"' in html and "wrong-token" not in html
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert not job.status_on and job.credentials["secret_token"] == "tok"
    assert not AuditEvent.objects.exclude(activity__in=["Add application", "Sign in"]).exists()


def test_save_anyway_saves_and_records_the_warning_in_the_audit_event(client, app, scim):
    from provisioning.choices import AuditActivity
    from provisioning.models import AuditEvent

    login(client, "admin")
    response = client.post(
        reverse("provisioning", args=[app.pk]),
        settings_form(scim.url, "wrong-token", save_anyway="on"),
        follow=True,
    )
    assert "Saved although Test Connection failed" in response.content.decode()
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.status_on and job.credentials["secret_token"] == "wrong-token"
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS)
    assert "Test Connection failed" in event.after["warning"]
    assert "wrong-token" not in str(event.before) + str(event.after)


def test_save_with_status_on_and_working_credentials_saves_at_once(client, app, scim):
    login(client, "admin")
    response = client.post(
        reverse("provisioning", args=[app.pk]), settings_form(scim.url, scim.token)
    )
    assert response.status_code == 302
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).status_on


def test_provisioning_status_sits_in_settings_next_to_scope(client, app):
    login(client, "admin")
    html = client.get(reverse("provisioning", args=[app.pk])).content.decode()
    settings_section = html.split("<h2>Settings</h2>")[1].split("</details>")[0]
    assert 'name="scope"' in settings_section and 'name="status"' in settings_section
    assert settings_section.index('name="scope"') < settings_section.index('name="status"')
    assert html.count('name="status"') == 2  # On and Off, once


# --- e-mails in the recipient's language ---------------------------------------------------------


@pytest.mark.parametrize(
    "language, subject_start",
    [("zh-hant", "[佈建] "), ("", "[Provisioning] "), ("en", "[Provisioning] ")],
)
def test_notification_emails_use_the_jobs_language(app, mailoutbox, language, subject_start):
    from provisioning.notifications import notify_held_deletions

    job = app.provisioning_job
    job.notification_email = "ops@contoso.example"
    job.notify_on_failure = True
    job.notification_language = language
    job.save()
    cycle = SyncCycle.objects.create(job=job, kind="incremental", state=CycleState.SUCCEEDED)
    assert notify_held_deletions(job, cycle, 12)
    (message,) = mailoutbox
    assert message.subject.startswith(subject_start)
    if language == "zh-hant":
        assert "意外刪除閾值" in message.body
    # The portal's own language is not changed for what follows.
    from django.utils import translation

    assert translation.get_language() == "en"


def test_the_notification_language_is_a_setting_of_the_provisioning_tab(client, app):
    login(client, "admin")
    html = client.get(reverse("provisioning", args=[app.pk])).content.decode()
    assert 'name="notification_language"' in html
    assert '<option value="zh-hant">Traditional Chinese</option>' in html


@pytest.mark.parametrize(
    "language, started, next_run",
    [
        ("en", "1/5/2026, 8:00:00 AM UTC", "1/5/2026, 9:30:00 AM UTC"),
        ("zh-hant", "2026/1/5 08:00:00 UTC", "2026/1/5 09:30:00 UTC"),
    ],
)
def test_email_dates_use_the_recipients_locale_format(app, mailoutbox, language, started, next_run):
    from provisioning.notifications import notify_cycle_failures, notify_quarantine

    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        notification_email="ops@contoso.example",
        notify_on_failure=True,
        notification_language=language,
        next_run_at=T0 + timedelta(minutes=90),
        quarantine_reason=QuarantineReason.QUARANTINE_EXCEPTION,
    )
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    cycle = SyncCycle.objects.create(
        job=job, kind="incremental", state=CycleState.FAILED, error="401", started_at=T0
    )
    SyncCycle.objects.filter(pk=cycle.pk).update(started_at=T0)
    cycle.refresh_from_db()
    assert notify_cycle_failures(job, cycle, now=T0)
    assert notify_quarantine(job, cycle)
    failures, quarantined = mailoutbox
    for text in (failures.body, failures.alternatives[0][0]):
        assert started in text and "2026-01-05" not in text
    for text in (quarantined.body, quarantined.alternatives[0][0]):
        assert next_run in text and "2026-01-05" not in text
