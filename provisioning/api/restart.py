"""Restart with Graph's ``resetScope`` (Watermark, Escrows, QuarantineState, Full).

``Full`` (or all three parts) is exactly the page's Restart, :func:`restart_provisioning`. A
partial reset clears only what it names, records the same audit event (with the scope), and
queues a cycle when the job is on, as the page's restart does.
"""

from django.db import transaction
from django.utils import timezone

from ..choices import AuditActivity, JobState, LinkState
from ..models import ProvisionedObject, ProvisioningJob
from ..services.audit import record_audit
from ..services.operations import restart_provisioning

PARTS = ("Watermark", "Escrows", "QuarantineState")


def restart_with_reset_scope(job: ProvisioningJob, reset_scope: list[str], *, actor=None) -> None:
    scope = set(reset_scope or ["Full"])
    if "Full" in scope or scope >= set(PARTS):
        restart_provisioning(job, actor=actor)
        return
    now = timezone.now()
    with transaction.atomic():
        updates: dict = {}
        if "Watermark" in scope:
            updates.update(watermark=None, full_sync_required=True)
        if "QuarantineState" in scope and job.state == JobState.QUARANTINE:
            updates.update(
                quarantine_reason="",
                quarantine_detail="",
                quarantine_since=None,
                quarantine_attempts=0,
                quarantine_notified_reason="",
                state=JobState.ACTIVE if job.watermark is not None else JobState.NOT_RUN,
            )
        if job.status_on:
            updates["next_run_at"] = now
        if updates:
            ProvisioningJob.objects.filter(pk=job.pk).update(**updates)
        if "Escrows" in scope:
            links = ProvisionedObject.objects.filter(job=job)
            links.filter(state=LinkState.FAILED, target_id="").delete()
            links.filter(state=LinkState.FAILED).update(state=LinkState.PROVISIONED)
            links.filter(failure_count__gt=0).update(
                failure_count=0, last_error="", next_retry_at=None
            )
        record_audit(
            AuditActivity.RESTART,
            actor=actor,
            application=job.application,
            target=job.application.name,
            after={"reset_scope": sorted(scope)},
        )
        if job.status_on:
            from ..tasks import dispatch_due_jobs

            transaction.on_commit(lambda: dispatch_due_jobs.delay())
    job.refresh_from_db()
