"""Scheduled reconciles: every job's reconcile every N hours, dispatched like any cycle.

Called by the dispatcher (beat, every minute). A job that is On, Automatic, has run at least once,
has a reconcile interval (0 = off) and whose ``next_reconcile_at`` has come is claimed with the
job's lease — the same conditional UPDATE as a cycle — so a reconcile never overlaps another cycle
of the job: while a cycle runs the job is leased and the reconcile waits for the next dispatch.
A job seen for the first time gets its first reconcile one interval from now.
"""

import logging
import uuid

from django.db.models import Q
from django.utils import timezone

from ..choices import JobState
from ..engine.lease import acquire_lease, release_lease
from ..models import ProvisioningJob
from ..services.dispatch import lease_seconds, runnable_jobs
from .run import reconcile_interval

logger = logging.getLogger(__name__)


def reconcilable_jobs():
    return (
        runnable_jobs()
        .exclude(state=JobState.QUARANTINE)
        .filter(watermark__isnull=False, reconcile_interval_hours__gt=0)
    )


def dispatch_due_reconciles(*, now=None, enqueue=None) -> list[tuple[int, str]]:
    """Claim every job whose reconcile is due and queue it; returns (job id, lease owner)."""
    from ..tasks import run_reconcile as run_reconcile_task

    now = now or timezone.now()
    enqueue = enqueue or (lambda job_id, owner: run_reconcile_task.delay(job_id, owner))
    for job in reconcilable_jobs().filter(next_reconcile_at__isnull=True):
        interval = reconcile_interval(job)
        ProvisioningJob.objects.filter(pk=job.pk, next_reconcile_at__isnull=True).update(
            next_reconcile_at=now + interval
        )
    due = (
        reconcilable_jobs()
        .filter(next_reconcile_at__lte=now)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        .values_list("pk", flat=True)
    )
    claimed = []
    for job_id in due:
        owner = f"reconcile:{uuid.uuid4().hex}"
        if acquire_lease(job_id, owner, lease_seconds()):
            enqueue(job_id, owner)
            claimed.append((job_id, owner))
    if claimed:
        logger.info("Dispatched %d reconcile(s)", len(claimed))
    return claimed


def run_claimed_reconcile(job_id: int, owner: str) -> None:
    """The reconcile task: run it under the lease the dispatcher took."""
    from ..engine.cycle import CycleBusy
    from .run import run_reconcile

    job = ProvisioningJob.objects.select_related("application").filter(pk=job_id).first()
    if job is None:
        return
    try:
        run_reconcile(job, owner=owner)
    except CycleBusy:
        logger.info("Skipped a stale reconcile task of job %s", job_id)
    finally:
        release_lease(job_id, owner)
