"""Scheduling services in-process against scim2-server: the deletion guard, Allow deletes,
notification e-mails at a real SMTP server, the dispatcher's claims and the directory watcher."""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from provisioning.choices import (
    CycleState,
    JobState,
    LinkState,
    ProvisioningMode,
    QuarantineReason,
)
from provisioning.engine.cycle import run_cycle
from provisioning.models import ProvisionedObject, ProvisioningJob, ProvisioningLogEntry
from provisioning.services import dispatch
from provisioning.services.applications import add_application
from provisioning.services.operations import allow_deletes, restart_provisioning
from tests.factories import DirectoryUserFactory, assign
from tests.support.fault_proxy import Fault
from tests.support.smtp import SmtpServer, bodies


@pytest.fixture
def smtp(settings):
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.PORTAL_BASE_URL = "https://portal.example"
    yield server
    server.stop()


@pytest.fixture
def app(db, scim):
    application = add_application("scim", "Guarded app")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.notification_email = "ops@contoso.example, idm@contoso.example"
    job.notify_on_failure = True
    job.deletion_threshold = 2
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(status_on=True, state=JobState.NOT_RUN)
    return application


def run(app, connector, **kwargs):
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    return run_cycle(job, connector=connector, **kwargs).cycle


def job_of(app):
    return ProvisioningJob.objects.get(pk=app.provisioning_job.pk)


def active_in_target(scim):
    return {u["userName"]: u.get("active") for u in scim.all_resources("Users")}


def test_too_many_disables_are_held_until_allow_deletes(app, scim, make_connector, smtp):
    users = [DirectoryUserFactory(user_principal_name=f"held{i}@contoso.example") for i in range(3)]
    assignments = [assign(app, u) for u in users]
    assert run(app, make_connector(), initial=True).state == CycleState.SUCCEEDED
    smtp.clear()

    for assignment in assignments:
        assignment.delete()
    cycle = run(app, make_connector())

    assert set(active_in_target(scim).values()) == {True}  # nothing was disabled
    staged = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk, action="StagedDelete")
    assert staged.count() == 3 and {e.status for e in staged} == {"Skipped"}
    job = job_of(app)
    assert job.state == JobState.QUARANTINE
    assert job.quarantine_reason == QuarantineReason.TOO_MANY_DELETES
    assert ProvisionedObject.objects.filter(job=job, state=LinkState.STAGED_DELETE).count() == 3
    [message] = smtp.messages
    text, html = bodies(message)
    assert "3 deletions held" in message["Subject"]
    assert "threshold of 2" in text and "Allow deletes" in text
    assert f"https://portal.example/apps/{app.pk}/provisioning-logs/?cycle_id={cycle.pk}" in text
    assert "<a href=" in html

    # Held again by the next cycle, without logging or mailing the same objects twice.
    run(app, make_connector())
    assert set(active_in_target(scim).values()) == {True}
    assert ProvisioningLogEntry.objects.filter(action="StagedDelete").count() == 3
    assert len(smtp.messages) == 1

    allow_deletes(job_of(app), actor="tester")
    job = job_of(app)
    assert job.deletes_allowed_once and job.state == JobState.ACTIVE
    cycle = run(app, make_connector())
    assert cycle.state == CycleState.SUCCEEDED
    assert set(active_in_target(scim).values()) == {False}
    assert ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk, action="Disable").count() == 3
    job = job_of(app)
    assert not job.deletes_allowed_once and job.state == JobState.ACTIVE


def test_a_failed_cycle_sends_one_digest_with_counts_errors_and_a_link(
    app, scim, make_connector, fault_proxy, smtp
):
    for i in range(3):
        assign(app, DirectoryUserFactory(user_principal_name=f"digest{i}@contoso.example"))
    fault_proxy.inject(Fault.status(400, detail="userName is invalid"), method="POST", times=2)
    connector = make_connector(fault_proxy.url, capability_overrides={"bulk": False})
    cycle = run(app, connector, initial=True)
    assert cycle.state == CycleState.COMPLETED_WITH_FAILURES

    [message] = smtp.messages
    assert message["To"] == "ops@contoso.example, idm@contoso.example"
    assert "2 failure(s)" in message["Subject"]
    text, html = bodies(message)
    assert "Create: Failure 2 Success 1" in text.replace("  ", " ")
    assert "SCIM_400 × 2" in text and "userName is invalid" in text
    failed = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk, status="Failure")
    assert failed.count() == 2
    for entry in failed:
        assert entry.source_display in text  # the example identities
    assert (
        f"cycle_id={cycle.pk}&status=Failure" in text
        and f"cycle_id={cycle.pk}&amp;status=Failure" in html
    )
    assert "secret" not in text.lower()

    # Throttled: another failing cycle within the hour sends nothing more.
    fault_proxy.inject(Fault.status(400), method="POST", times=10)
    ProvisionedObject.objects.filter(job=job_of(app)).update(next_retry_at=timezone.now())
    run(app, make_connector(fault_proxy.url, capability_overrides={"bulk": False}))
    assert len(smtp.messages) == 1


def test_quarantine_mail_goes_once_per_reason(app, scim, make_connector, smtp):
    assign(app, DirectoryUserFactory())
    cycle = run(app, make_connector(token="wrong"), initial=True)
    assert cycle.state == CycleState.FAILED
    subjects = [m["Subject"] for m in smtp.messages]
    assert any("quarantine" in s for s in subjects)
    quarantine_mail = next(m for m in smtp.messages if "quarantine" in m["Subject"])
    text, _ = bodies(quarantine_mail)
    assert "EncounteredQuarantineException" in text and "Test Connection" in text
    assert "wrong" not in text  # the token never appears
    smtp.clear()
    run(app, make_connector(token="wrong"))
    assert not [m for m in smtp.messages if "quarantine" in m["Subject"]]
    assert job_of(app).quarantine_attempts == 1


def test_an_unreachable_smtp_server_leaves_the_cycle_alone_and_is_logged(
    app, scim, make_connector, fault_proxy, settings, caplog
):
    from tests.support.scim_server import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    assign(app, DirectoryUserFactory(user_principal_name="nomail@contoso.example"))
    fault_proxy.inject(Fault.status(400), method="POST", times=1)
    with caplog.at_level(logging.ERROR, logger="provisioning.notifications"):
        cycle = run(
            app, make_connector(fault_proxy.url, capability_overrides={"bulk": False}), initial=True
        )
    assert cycle.state == CycleState.COMPLETED_WITH_FAILURES
    assert cycle.ended_at is not None
    assert "Could not send the cycle_failures e-mail" in caplog.text
    assert job_of(app).next_run_at is not None


def test_restart_clears_watermark_escrow_and_quarantine_but_keeps_links(app, scim, make_connector):
    user = DirectoryUserFactory()
    assign(app, user)
    run(app, make_connector(), initial=True)
    ProvisionedObject.objects.filter(job=job_of(app)).update(
        failure_count=3, next_retry_at=timezone.now()
    )
    ProvisioningJob.objects.filter(pk=job_of(app).pk).update(
        state=JobState.QUARANTINE,
        quarantine_reason=QuarantineReason.ON_DEMAND,
        quarantine_since=timezone.now(),
    )
    restart_provisioning(job_of(app), actor="tester")
    job = job_of(app)
    assert job.watermark is None and job.full_sync_required
    assert job.state == JobState.NOT_RUN and job.quarantine_reason == ""
    link = ProvisionedObject.objects.get(job=job)
    assert link.target_id and link.failure_count == 0 and link.next_retry_at is None
    assert job.next_run_at is not None and job.next_run_at <= timezone.now()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_claim_each_due_job_once():
    jobs = []
    for i in range(5):
        application = add_application("scim", f"Due {i}")
        job = application.provisioning_job
        job.credentials = {"tenant_url": "http://127.0.0.1:9/v2", "secret_token": "t"}
        job.mode = ProvisioningMode.AUTOMATIC
        job.save()
        ProvisioningJob.objects.filter(pk=job.pk).update(
            status_on=True, state=JobState.ACTIVE, next_run_at=timezone.now() - timedelta(seconds=1)
        )
        jobs.append(job.pk)
    claims: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def dispatcher():
        try:
            start.wait(timeout=10)
            for _ in range(5):
                claimed = dispatch.dispatch_due_jobs(enqueue=lambda job_id, owner: None)
                with lock:
                    claims.extend(job_id for job_id, _ in claimed)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(claims) == sorted(jobs)


def test_the_watcher_brings_forward_only_jobs_that_a_change_concerns(
    app, scim, make_connector, settings
):
    settings.PROVISIONING_DEBOUNCE_SECONDS = 2
    inside = DirectoryUserFactory()
    outside = DirectoryUserFactory()
    assign(app, inside)
    run(app, make_connector(), initial=True)
    later = timezone.now() + timedelta(minutes=20)
    ProvisioningJob.objects.filter(pk=job_of(app).pk).update(next_run_at=later)

    outside.job_title = "Unrelated"
    outside.save()
    assert dispatch.watch_directory_changes() == []
    assert job_of(app).next_run_at == later

    inside.job_title = "Related"
    inside.save()
    assert dispatch.watch_directory_changes() == [job_of(app).pk]
    assert job_of(app).next_run_at <= timezone.now() + timedelta(seconds=2)
    assert dispatch.watch_directory_changes() == []  # seen already


def test_a_name_stored_with_a_line_break_still_gets_its_e_mail_on_one_subject_line(app, smtp):
    """Names are refused with control characters now; one stored before must not drop mail."""
    from provisioning.models import Application, SyncCycle
    from provisioning.notifications import notify_held_deletions

    Application.objects.filter(pk=app.pk).update(name="Guarded\r\nBcc: mallory@evil.example")
    job = job_of(app)
    cycle = SyncCycle.objects.create(job=job, kind="incremental")
    assert notify_held_deletions(job, cycle, held=3)
    [message] = smtp.messages
    assert "\n" not in message["Subject"] and "Guarded Bcc:" in message["Subject"]
    assert message["Bcc"] is None


def test_the_digest_counts_read_failures_first_whatever_order_the_answers_came_in():
    """With requests in flight a cycle meets a success or a failure first at random; the e-mail
    lists each action's statuses in one order (a CI run met Success before Failure)."""
    from django.utils import translation

    from provisioning.notifications import _ordered_counts

    counters = {"Create": {"Success": 1, "Failure": 2}, "Update": {}, "requests": 5}
    with translation.override("en"):
        assert _ordered_counts(counters) == {"Create": {"Failure": 2, "Success": 1}}
        assert list(_ordered_counts(counters)["Create"]) == ["Failure", "Success"]
    with translation.override("zh-hant"):
        [(action, statuses)] = _ordered_counts(counters).items()
    assert action != "Create" and "Failure" not in statuses and list(statuses.values()) == [2, 1]
