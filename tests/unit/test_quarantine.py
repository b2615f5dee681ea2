"""The quarantine schedule (F22) across its whole sequence, with the clock frozen by argument."""

from datetime import UTC, datetime, timedelta

import pytest

from provisioning.choices import CycleState, JobState, ProvisioningMode, QuarantineReason
from provisioning.engine.quarantine import after_cycle, next_quarantine_run
from provisioning.models import ProvisioningJob, SyncCycle
from tests.factories import make_application

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_next_runs_in_quarantine_fall_at_6_then_12_then_24_hours():
    assert [next_quarantine_run(n, T0) - T0 for n in range(5)] == [
        timedelta(hours=6),
        timedelta(hours=12),
        timedelta(hours=24),
        timedelta(hours=24),
        timedelta(hours=24),
    ]


@pytest.fixture
def job(db):
    job = make_application("scim", "Q").provisioning_job
    job.credentials = {"tenant_url": "https://x.example/scim", "secret_token": "t"}
    job.mode = ProvisioningMode.AUTOMATIC
    job.interval_minutes = 20
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(status_on=True, state=JobState.ACTIVE)
    job.refresh_from_db()
    return job


CYCLE_LENGTH = timedelta(minutes=1)


def run_at(job, when, *, error=None, counters=None):
    """A cycle that starts at ``when`` and ends a minute later; returns the job after it."""
    cycle = SyncCycle.objects.create(
        job=job,
        kind="incremental",
        state=CycleState.FAILED if error else CycleState.SUCCEEDED,
        counters=counters or {},
    )
    SyncCycle.objects.filter(pk=cycle.pk).update(started_at=when)
    cycle.refresh_from_db()
    after_cycle(job, cycle, stop_error=error, now=when + CYCLE_LENGTH)
    job.refresh_from_db()
    return job


def test_credentials_failure_quarantines_then_backs_off_and_disables_after_28_days(job):
    now = T0
    job = run_at(job, now, error=Exception("401 Unauthorized"))
    assert job.state == JobState.QUARANTINE
    assert job.quarantine_reason == QuarantineReason.QUARANTINE_EXCEPTION
    assert job.quarantine_since == now + CYCLE_LENGTH
    expected = [timedelta(hours=6), timedelta(hours=12)] + [timedelta(hours=24)] * 30
    seen = []
    for step in expected:
        assert job.next_run_at == now + CYCLE_LENGTH + step
        seen.append(step)
        now = job.next_run_at
        job = run_at(job, now, error=Exception("401 Unauthorized"))
        if job.state == JobState.DISABLED:
            break
    assert job.state == JobState.DISABLED
    assert not job.status_on and job.next_run_at is None
    assert now - T0 >= timedelta(days=28)
    assert now - T0 < timedelta(days=29)
    assert seen[:3] == [timedelta(hours=6), timedelta(hours=12), timedelta(hours=24)]


def test_a_successful_cycle_lifts_the_quarantine_and_returns_to_the_interval(job):
    job = run_at(job, T0, error=Exception("403 Forbidden"))
    assert job.state == JobState.QUARANTINE
    later = job.next_run_at
    assert later == T0 + CYCLE_LENGTH + timedelta(hours=6)
    job = run_at(job, later, counters={"Update": {"Success": 1}})
    assert job.state == JobState.ACTIVE
    assert job.quarantine_reason == "" and job.quarantine_since is None
    assert job.next_run_at == later + CYCLE_LENGTH + timedelta(minutes=20)


def test_a_high_failure_rate_quarantines_but_a_few_failures_do_not(job):
    job = run_at(job, T0, counters={"Create": {"Success": 18, "Failure": 2}})
    assert job.state == JobState.ACTIVE
    job = run_at(job, T0 + timedelta(minutes=20), counters={"Create": {"Success": 6, "Failure": 4}})
    assert job.state == JobState.QUARANTINE
    assert job.quarantine_reason == QuarantineReason.ESCROW_PROPORTION_THRESHOLD
    assert "4 of 10" in job.quarantine_detail


def test_turning_status_off_during_a_cycle_pauses_the_job_after_it(job):
    ProvisioningJob.objects.filter(pk=job.pk).update(status_on=False)
    job = run_at(job, T0, counters={"Update": {"Success": 1}})
    assert job.state == JobState.PAUSED and job.next_run_at is None
