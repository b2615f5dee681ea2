"""Celery tasks of the provisioning engine (DESIGN §5). Each is a thin call into a service."""

import logging

from celery import shared_task

from .services import dispatch
from .services.retention import purge_provisioning_logs as purge_logs

logger = logging.getLogger(__name__)


@shared_task(name="provisioning.tasks.dispatch_due_jobs", ignore_result=True)
def dispatch_due_jobs() -> int:
    """Every minute (beat), and after changes: claim due jobs and queue their cycles."""
    return len(dispatch.dispatch_due_jobs())


@shared_task(name="provisioning.tasks.watch_directory_changes", ignore_result=True)
def watch_directory_changes() -> int:
    """Every few seconds (beat): bring forward the cycles of jobs a directory change concerns."""
    return len(dispatch.watch_directory_changes())


@shared_task(name="provisioning.tasks.run_provisioning_cycle", ignore_result=True, acks_late=True)
def run_provisioning_cycle(job_id: int, owner: str) -> None:
    dispatch.run_claimed_cycle(job_id, owner)


@shared_task(
    name="provisioning.tasks.provision_on_demand",
    bind=True,
    ignore_result=True,
    max_retries=60,
)
def provision_on_demand(self, job_id: int, cycle_id: str, user_ids: list, group_ids: list) -> None:
    """Provision one user or one small group now (F13), waiting for a running cycle to end."""
    from .engine.cycle import CycleBusy, run_cycle
    from .models import ProvisioningJob

    job = ProvisioningJob.objects.select_related("application").get(pk=job_id)
    try:
        run_cycle(job, user_ids=user_ids, group_ids=group_ids, cycle_id=cycle_id)
    except CycleBusy as busy:
        raise self.retry(countdown=2) from busy


@shared_task(name="provisioning.tasks.purge_provisioning_logs", ignore_result=True)
def purge_provisioning_logs() -> int:
    """Daily: delete provisioning log entries older than the retention period."""
    deleted = purge_logs()
    logger.info("Purged %d provisioning log entries past retention", deleted)
    return deleted


@shared_task(name="provisioning.tasks.purge_deleted_directory_objects", ignore_result=True)
def purge_deleted_directory_objects() -> dict:
    """Daily: hard-delete users and groups that have been in the recycle bin for 30 days."""
    from .services.directory import purge_deleted_directory_objects as purge

    counts = purge()
    logger.info("Purged %(users)d users and %(groups)d groups past the recycle bin", counts)
    return counts


@shared_task(name="provisioning.tasks.check_directory_import", ignore_result=True)
def check_directory_import(upload_id: str) -> None:
    """Check an uploaded CSV import (a dry run) off the web worker."""
    from .services.directory import check_directory_import as check

    check(upload_id)


@shared_task(name="provisioning.tasks.run_directory_import", ignore_result=True)
def run_directory_import(upload_id: str, actor_id: int | None, channel: str = "portal") -> None:
    """Import confirmed CSV files, all or nothing."""
    from .services.directory import run_directory_import as run

    run(upload_id, actor_id, channel)


@shared_task(name="provisioning.tasks.run_reconcile", ignore_result=True, acks_late=True)
def run_reconcile(job_id: int, owner: str) -> None:
    """A reconcile (DESIGN B4), claimed by the dispatcher or asked for with Reconcile now."""
    from .reconcile.schedule import run_claimed_reconcile

    run_claimed_reconcile(job_id, owner)


@shared_task(
    name="provisioning.tasks.reconcile_now", bind=True, ignore_result=True, max_retries=150
)
def reconcile_now(self, job_id: int) -> None:
    """Reconcile now (the Reconcile page): waits, retrying, while another cycle holds the lease."""
    from .engine.cycle import CycleBusy
    from .models import ProvisioningJob
    from .reconcile.run import run_reconcile

    job = ProvisioningJob.objects.select_related("application").filter(pk=job_id).first()
    if job is None:
        return
    try:
        run_reconcile(job)
    except CycleBusy as busy:
        raise self.retry(countdown=2) from busy
