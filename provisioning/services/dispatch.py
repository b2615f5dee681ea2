"""The scheduler (DESIGN §5): claim due jobs, run their cycles, notice directory changes (B3).

``dispatch_due_jobs`` runs every minute from Celery beat (and right after a change asks for a run):
a job that is On, Automatic, due (``next_run_at`` ≤ now) and not leased is claimed with one
conditional UPDATE that sets its lease, and one cycle task is queued for it. Two dispatchers can
run at once: only one UPDATE can win a job. A lease whose holder died expires and the job is
claimed again. While a job is leased nothing else is queued for it, so there is at most one
pending cycle per job.

``watch_directory_changes`` runs every few seconds: when the change log has moved past what a job
has seen, and one of the new changes touches that job's scope (its assigned users and groups,
their memberships, its assignments, or objects it provisioned), the job's next run is brought
forward to a few seconds from now — changes reach the target in seconds, debounced, instead of
waiting for the interval.
"""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..choices import JobState, ProvisioningMode, ProvisioningScope
from ..directory.changes import changes_between, current_watermark
from ..engine.importing import chunked
from ..engine.lease import acquire_lease
from ..models import Assignment, GroupMembership, ProvisionedObject, ProvisioningJob

logger = logging.getLogger(__name__)


def lease_seconds() -> int:
    return settings.PROVISIONING_LEASE_SECONDS


def runnable_jobs():
    return ProvisioningJob.objects.filter(status_on=True, mode=ProvisioningMode.AUTOMATIC).exclude(
        state__in=[JobState.DISABLED, JobState.NOT_CONFIGURED]
    )


def dispatch_due_jobs(*, now=None, enqueue=None, enqueue_reconcile=None) -> list[tuple[int, str]]:
    """Claim every due job and queue its cycle; returns (job id, lease owner) pairs.

    Then claims the due reconciles; a caller that passes its own ``enqueue`` (a test) gets them
    only with an ``enqueue_reconcile`` of its own."""
    from ..tasks import run_provisioning_cycle

    now = now or timezone.now()
    with_reconciles = enqueue is None or enqueue_reconcile is not None
    enqueue = enqueue or (lambda job_id, owner: run_provisioning_cycle.delay(job_id, owner))
    due = (
        runnable_jobs()
        .filter(next_run_at__lte=now)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .values_list("pk", flat=True)
    )
    claimed = []
    for job_id in due:
        owner = f"dispatch:{uuid.uuid4().hex}"
        if acquire_lease(job_id, owner, lease_seconds()):
            enqueue(job_id, owner)
            claimed.append((job_id, owner))
    if claimed:
        logger.info("Dispatched %d provisioning cycle(s)", len(claimed))
    if with_reconciles:
        # Reconciles (DESIGN B4) are claimed after the cycles, with the same lease.
        from ..reconcile.schedule import dispatch_due_reconciles

        dispatch_due_reconciles(now=now, enqueue=enqueue_reconcile)
    return claimed


def run_claimed_cycle(job_id: int, owner: str) -> None:
    """The cycle task: run the job's cycle under the lease the dispatcher took."""
    from ..engine.cycle import CycleBusy, run_cycle
    from ..engine.lease import release_lease

    job = ProvisioningJob.objects.select_related("application").filter(pk=job_id).first()
    if job is None:
        return
    if not job.status_on or job.mode != ProvisioningMode.AUTOMATIC:
        release_lease(job_id, owner)  # turned Off (or Manual) before its cycle started
        return
    try:
        run_cycle(job, owner=owner)
    except CycleBusy:
        # Our lease expired before the task started and another dispatch took the job.
        logger.info("Skipped a stale cycle task of job %s", job_id)


def _relevant_changes(job: ProvisioningJob, after: int, up_to: int) -> bool:
    if job.scope == ProvisioningScope.ALL:
        return changes_between(after, up_to).exists()
    changes = changes_between(after, up_to)
    if changes.filter(changed_object="assignment", application_id=job.application_id).exists():
        return True
    user_ids = set()
    group_ids = set()
    for user_id, group_id in changes.values_list("user_id", "group_id").iterator(chunk_size=5000):
        if user_id:
            user_ids.add(user_id)
        if group_id:
            group_ids.add(group_id)
    app = job.application_id
    for chunk in chunked(sorted(user_ids), 2000):
        if (
            Assignment.objects.filter(application_id=app, user_id__in=chunk).exists()
            or GroupMembership.objects.filter(
                member_user_id__in=chunk, group__assignments__application_id=app
            ).exists()
            or ProvisionedObject.objects.filter(job=job, source_id__in=chunk).exists()
        ):
            return True
    for chunk in chunked(sorted(group_ids), 2000):
        if (
            Assignment.objects.filter(application_id=app, group_id__in=chunk).exists()
            or ProvisionedObject.objects.filter(job=job, source_id__in=chunk).exists()
        ):
            return True
    return False


def watch_directory_changes(*, now=None) -> list[int]:
    """Bring forward the next run of every job that a new directory change concerns."""
    now = now or timezone.now()
    top = current_watermark()
    soon = now + timedelta(seconds=settings.PROVISIONING_DEBOUNCE_SECONDS)
    nudged = []
    candidates = runnable_jobs().exclude(state=JobState.QUARANTINE).filter(watermark__isnull=False)
    for job in candidates.filter(
        Q(changes_seen_up_to__isnull=True) | Q(changes_seen_up_to__lt=top)
    ).filter(watermark__lt=top):
        seen = max(job.changes_seen_up_to or 0, job.watermark or 0)
        updates = {"changes_seen_up_to": top}
        if seen < top and _relevant_changes(job, seen, top):
            if job.next_run_at is None or job.next_run_at > soon:
                updates["next_run_at"] = soon
            nudged.append(job.pk)
        ProvisioningJob.objects.filter(pk=job.pk).update(**updates)
    if nudged:
        from ..tasks import dispatch_due_jobs as dispatch_task

        dispatch_task.apply_async(countdown=settings.PROVISIONING_DEBOUNCE_SECONDS)
    return nudged
