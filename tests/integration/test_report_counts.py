"""What the reports count must be true (issue 11): each test here failed before its fix.

Against a real scim2-server (through the fault proxy where a failure is needed) and a real SMTP
server (aiosmtpd)."""

import pytest
from django.db.models.signals import post_save

from provisioning.choices import CycleState, JobState, LogStatus, ProvisioningMode
from provisioning.engine.cycle import run_cycle
from provisioning.models import ProvisioningJob, ProvisioningLogEntry, SyncCycle
from provisioning.services.applications import add_application
from tests.factories import DirectoryUserFactory, assign
from tests.support.fault_proxy import Fault
from tests.support.smtp import SmtpServer, bodies

pytestmark = pytest.mark.django_db

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


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
def app(scim):
    application = add_application("scim", "Counted app")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.notification_email = "ops@contoso.example"
    job.notify_on_failure = True
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(status_on=True, state=JobState.NOT_RUN)
    return application


def run(app, connector, **kwargs):
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    return run_cycle(job, connector=connector, **kwargs).cycle


def test_an_object_failing_in_an_initial_cycle_is_logged_and_counted_once(
    app, scim, make_connector, fault_proxy
):
    # Ten users already in the target (matched, then updated) whose manager is not provisioned:
    # the references pass used to process the failed ones again (Update Failure 20 for 10).
    boss = DirectoryUserFactory(user_principal_name="boss@contoso.example")
    for i in range(10):
        upn = f"worker{i}@contoso.example"
        assign(app, DirectoryUserFactory(user_principal_name=upn, manager=boss))
        scim.request("POST", "/Users", json={"schemas": [USER_SCHEMA], "userName": upn})
    fault_proxy.inject(Fault.status(400, detail="refused"), method="PATCH", times=100)
    fault_proxy.inject(Fault.status(400, detail="refused"), method="POST", path="/Bulk", times=100)

    cycle = run(app, make_connector(fault_proxy.url), initial=True)

    assert cycle.state == CycleState.COMPLETED_WITH_FAILURES
    entries = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk, status=LogStatus.FAILURE)
    assert entries.count() == 10
    assert len({e.source_id for e in entries}) == 10
    assert cycle.counters["Update"] == {"Failure": 10}


def test_a_job_level_failure_mails_what_failed_and_no_empty_counts(app, scim, make_connector, smtp):
    assign(app, DirectoryUserFactory(user_principal_name="one@contoso.example"))
    cycle = run(app, make_connector(token="wrong-token"), initial=True)
    assert cycle.state == CycleState.FAILED

    digest = next(m for m in smtp.messages if "stopped" in m["Subject"])
    text, html = bodies(digest)
    assert cycle.error and cycle.error in text
    assert "What failed" in text and "Test Connection" in text
    assert "Counts" not in text
    # No link to a filtered page that has no entries; the link goes where the error is shown.
    assert "status=Failure" not in text and "status=Failure" not in html
    assert f"https://portal.example/apps/{app.pk}/provisioning/" in text
    assert "wrong-token" not in text and "wrong-token" not in html


def test_the_throttle_is_per_kind_of_failure_not_per_job(
    app, scim, make_connector, fault_proxy, smtp
):
    assign(app, DirectoryUserFactory(user_principal_name="a@contoso.example"))
    fault_proxy.inject(Fault.status(400, detail="bad name"), method="POST", times=5)
    first = run(app, make_connector(fault_proxy.url, capability_overrides={"bulk": False}))
    assert first.state == CycleState.COMPLETED_WITH_FAILURES
    assert len(smtp.messages) == 1

    # Within the hour, a different failure: the token is now wrong. Mailed at once.
    stopped = run(app, make_connector(token="wrong-token"), initial=True)
    assert stopped.state == CycleState.FAILED
    digests = [m for m in smtp.messages if "quarantine" not in m["Subject"]]
    assert len(digests) == 2 and "stopped" in digests[1]["Subject"]

    # The same failure again within the hour: throttled.
    run(app, make_connector(token="wrong-token"), initial=True)
    assert len([m for m in smtp.messages if "quarantine" not in m["Subject"]]) == 2


def test_progress_moves_as_chunks_complete(app, scim, make_connector):
    for i in range(120):
        assign(app, DirectoryUserFactory(user_principal_name=f"p{i}@contoso.example"))
    seen = []

    def record(sender, instance, update_fields=None, **kwargs):
        if update_fields and "progress_done" in update_fields:
            seen.append((instance.progress_done, instance.progress_total))

    post_save.connect(record, sender=SyncCycle)
    try:
        cycle = run(app, make_connector(), initial=True)
    finally:
        post_save.disconnect(record, sender=SyncCycle)
    assert cycle.state == CycleState.SUCCEEDED
    partial = [done for done, total in seen if 0 < done < total]
    assert len(partial) >= 2  # at least two intermediate steps between 0 % and 100 %
    assert partial == sorted(partial)


def test_on_demand_for_an_object_in_sync_shows_every_step_skipped_no_change(
    app, scim, make_connector
):
    user = DirectoryUserFactory(user_principal_name="insync@contoso.example")
    assign(app, user)
    assert run(app, make_connector(), initial=True).state == CycleState.SUCCEEDED

    # A scheduled cycle logs nothing for an unchanged object, but counts it.
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(full_sync_required=True)
    again = run(app, make_connector())
    assert not ProvisioningLogEntry.objects.filter(cycle_id=again.pk).exists()
    assert again.counters.get("unchanged") == 1

    on_demand = run(app, make_connector(), user_ids=[user.pk])
    [entry] = ProvisioningLogEntry.objects.filter(cycle_id=on_demand.pk)
    assert entry.status == LogStatus.SKIPPED
    assert [s["name"] for s in entry.steps] == ["Import", "Scope", "Match", "Action"]
    assert entry.steps[-1]["status"] == "Skipped" and "No change" in entry.steps[-1]["detail"]


def test_a_failed_bulk_operation_is_described_without_its_internal_bulk_id(
    app, scim, make_connector, fault_proxy
):
    assign(app, DirectoryUserFactory(user_principal_name="bulky@contoso.example"))
    answer = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "b0",
                "status": "400",
                "response": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "400",
                    "detail": "userName is not acceptable",
                },
            }
        ],
    }
    fault_proxy.inject(Fault.json(200, answer), method="POST", path="/Bulk", times=1)
    cycle = run(app, make_connector(fault_proxy.url), initial=True)
    [entry] = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk, status=LogStatus.FAILURE)
    assert "userName is not acceptable" in entry.reason
    assert "b0" not in entry.reason and "bulk" not in entry.reason.lower()
    assert all("b0" not in step["detail"] for step in entry.steps)
