"""After a cycle: the next run, escrow thresholds and quarantine (F22), held deletions (F23).

A job is quarantined when its credentials or configuration fail (a job-level error), when too
many objects fail, or when the accidental-deletion guard held a cycle's removals. While in
quarantine its cycles run 6 hours, then 12 hours, then every 24 hours apart; after 28 days in
quarantine the job is disabled. Any cycle that completes without meeting a quarantine condition
lifts the quarantine, provided it retested the cause: a cycle that sent nothing to the target does
not lift a quarantine for bad credentials or a high failure rate.

Azure evaluates its failure thresholds only past 5,000 escrowed events; tenants here are often
small, so the proportion rule applies from ``MIN_EVENTS_FOR_PROPORTION`` object events, and the
absolute rules keep Azure's figures.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..choices import CycleState, JobState, QuarantineReason
from ..log_text import LogText, english, error_text
from ..log_text import gettext as _  # details translated when read
from ..models import ProvisionedObject, ProvisioningJob, SyncCycle

MIN_EVENTS_FOR_PROPORTION = 10
FAILURE_PROPORTION = 0.40
TOTAL_ESCROW_THRESHOLD = 40_000
BASE_ESCROW_THRESHOLD = 60_000
QUARANTINE_BACKOFF = (timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
QUARANTINE_LIMIT = timedelta(days=28)


def interval(job: ProvisioningJob) -> timedelta:
    """The job's interval between cycles (tests shorten the length of its minute)."""
    return timedelta(seconds=job.interval_minutes * settings.PROVISIONING_MINUTE_SECONDS)


def next_quarantine_run(attempts: int, now: datetime) -> datetime:
    """The n-th cycle in quarantine (0-based) runs 6 h, then 12 h, then 24 h after the last."""
    return now + QUARANTINE_BACKOFF[min(attempts, len(QUARANTINE_BACKOFF) - 1)]


def _object_events(counters: dict) -> tuple[int, int]:
    failures = events = 0
    for statuses in counters.values():
        if isinstance(statuses, dict):
            events += statuses.get("Success", 0) + statuses.get("Failure", 0)
            failures += statuses.get("Failure", 0)
    return failures, events


def quarantine_condition(
    job: ProvisioningJob, cycle: SyncCycle, stop_error: Exception | None, held_removals: int
) -> tuple[str, str] | None:
    """(reason, detail) when this cycle puts the job in quarantine, else None."""
    if stop_error is not None:
        text, message = error_text(stop_error)
        return QuarantineReason.QUARANTINE_EXCEPTION, LogText(text, message) if message else text
    if held_removals:
        return (
            QuarantineReason.TOO_MANY_DELETES,
            _("%(count)d disables or deletes exceed the threshold of %(threshold)d")
            % {"count": held_removals, "threshold": job.deletion_threshold},
        )
    failures, events = _object_events(cycle.counters or {})
    if events >= MIN_EVENTS_FOR_PROPORTION and failures / events >= FAILURE_PROPORTION:
        return (
            QuarantineReason.ESCROW_PROPORTION_THRESHOLD,
            _("%(failures)d of %(events)d objects failed in the last cycle")
            % {"failures": failures, "events": events},
        )
    escrowed = ProvisionedObject.objects.filter(job=job, failure_count__gt=0).count()
    if escrowed >= BASE_ESCROW_THRESHOLD:
        return (
            QuarantineReason.BASE_ESCROW_THRESHOLD,
            _("%(count)d objects are failing") % {"count": escrowed},
        )
    if escrowed >= TOTAL_ESCROW_THRESHOLD:
        return (
            QuarantineReason.TOTAL_ESCROW_THRESHOLD,
            _("%(count)d objects are failing") % {"count": escrowed},
        )
    return None


# Quarantine reasons that only a cycle which reached the target can clear.
RETESTED_BY_TARGET_REQUESTS = (
    QuarantineReason.QUARANTINE_EXCEPTION,
    QuarantineReason.ESCROW_PROPORTION_THRESHOLD,
)


def _retested(job: ProvisioningJob, cycle: SyncCycle) -> bool:
    """Whether this cycle retested the cause of the job's quarantine."""
    if job.quarantine_reason not in RETESTED_BY_TARGET_REQUESTS:
        return True
    _failures, events = _object_events(cycle.counters or {})
    return events > 0


def after_cycle(
    job: ProvisioningJob,
    cycle: SyncCycle,
    *,
    stop_error: Exception | None = None,
    held_removals: int = 0,
    now: datetime | None = None,
) -> None:
    """Set the job's state and next run after a scheduled (not on-demand) cycle, and notify."""
    from ..notifications import notify_after_cycle

    now = now or timezone.now()
    job.refresh_from_db()
    condition = quarantine_condition(job, cycle, stop_error, held_removals)
    updates: dict = {}
    newly_quarantined_reason = ""
    if condition is not None:
        reason, detail = condition
        if job.state == JobState.QUARANTINE:
            attempts = job.quarantine_attempts + 1
            since = job.quarantine_since or now
        else:
            attempts, since = 0, now
        updates.update(
            state=JobState.QUARANTINE,
            quarantine_reason=reason,
            quarantine_detail=english(detail)[:2000],
            quarantine_message=detail.data if isinstance(detail, LogText) else None,
            quarantine_since=since,
            quarantine_attempts=attempts,
            next_run_at=next_quarantine_run(attempts, now) if job.status_on else None,
        )
        if now - since >= QUARANTINE_LIMIT:
            updates.update(state=JobState.DISABLED, status_on=False, next_run_at=None)
        if job.quarantine_notified_reason != reason:
            newly_quarantined_reason = reason
            updates["quarantine_notified_reason"] = reason
    elif job.state == JobState.QUARANTINE and not _retested(job, cycle):
        # A cycle that sent nothing to the target (e.g. an incremental one with no changes, as
        # after Allow deletes with a wrong token) says nothing about bad credentials or failing
        # objects: the quarantine stays, on its schedule.
        updates.update(
            next_run_at=next_quarantine_run(job.quarantine_attempts, now) if job.status_on else None
        )
    else:
        updates.update(
            state=JobState.ACTIVE if job.status_on else JobState.PAUSED,
            quarantine_reason="",
            quarantine_detail="",
            quarantine_message=None,
            quarantine_since=None,
            quarantine_attempts=0,
            quarantine_notified_reason="",
            next_run_at=now + interval(job) if job.status_on else None,
        )
    # A run asked for while this cycle ran (Restart, Allow deletes, a directory change) keeps
    # its earlier time.
    requested = job.next_run_at
    computed = updates.get("next_run_at")
    soon = now + timedelta(seconds=settings.PROVISIONING_DEBOUNCE_SECONDS)
    if requested and computed and cycle.started_at < requested <= soon:
        updates["next_run_at"] = min(requested, computed)
    ProvisioningJob.objects.filter(pk=job.pk).update(**updates)
    for name, value in updates.items():
        setattr(job, name, value)
    notify_after_cycle(
        job,
        cycle,
        quarantined_reason=newly_quarantined_reason,
        held_removals=held_removals,
        failed=cycle.state == CycleState.FAILED,
    )
