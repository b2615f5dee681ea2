"""Operations on a provisioning job that pages and commands call (F12, F13, F23).

Each writes the job's engine-owned fields with an UPDATE of its own (see
``ProvisioningJob.ENGINE_FIELDS``), records an audit event and, where a cycle should follow,
queues it: the scheduler's dispatcher picks up any job whose ``next_run_at`` has come.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import (
    AuditActivity,
    CycleKind,
    CycleState,
    JobState,
    LinkState,
    ProvisioningMode,
    QuarantineReason,
)
from ..models import (
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ProvisionedObject,
    ProvisioningJob,
    SyncCycle,
)
from .audit import record_audit

ON_DEMAND_MAX_GROUP_MEMBERS = 5


class OperationRefused(ValueError):
    """The operation cannot be done now; the message says why, for the user."""


def _queue_dispatch() -> None:
    from ..tasks import dispatch_due_jobs

    transaction.on_commit(lambda: dispatch_due_jobs.delay())


def _is_configured(job: ProvisioningJob) -> bool:
    return job.application.template.credentials_complete(job.credentials)


def refresh_configuration_state(job: ProvisioningJob) -> None:
    """NotConfigured until the required credentials are there; then NotRun until a cycle ran."""
    configured = _is_configured(job) and job.mode == ProvisioningMode.AUTOMATIC
    if not configured:
        ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.NOT_CONFIGURED)
        job.state = JobState.NOT_CONFIGURED
    elif job.state == JobState.NOT_CONFIGURED:
        ProvisioningJob.objects.filter(pk=job.pk, state=JobState.NOT_CONFIGURED).update(
            state=JobState.NOT_RUN
        )
        job.state = JobState.NOT_RUN


def set_provisioning_status(job: ProvisioningJob, on: bool, *, actor=None) -> None:
    """Provisioning Status On starts cycles at once; Off pauses the job after the running cycle."""
    if on and not _is_configured(job):
        raise OperationRefused(
            _("Fill in and test the admin credentials before turning provisioning on.")
        )
    if on and job.mode != ProvisioningMode.AUTOMATIC:
        raise OperationRefused(_("Set the provisioning mode to Automatic first."))
    now = timezone.now()
    with transaction.atomic():
        if on:
            updates = {"status_on": True, "next_run_at": now}
            if job.state in (JobState.NOT_CONFIGURED, JobState.PAUSED, JobState.DISABLED):
                updates["state"] = JobState.NOT_RUN if job.watermark is None else JobState.ACTIVE
            if job.state == JobState.DISABLED:
                updates.update(quarantine_reason="", quarantine_since=None, quarantine_attempts=0)
        else:
            updates = {"status_on": False, "next_run_at": None}
            if job.state in (JobState.ACTIVE, JobState.NOT_RUN):
                updates["state"] = JobState.PAUSED
        ProvisioningJob.objects.filter(pk=job.pk).update(**updates)
        for name, value in updates.items():
            setattr(job, name, value)
        record_audit(
            AuditActivity.ENABLE if on else AuditActivity.DISABLE,
            actor=actor,
            application=job.application,
            target=job.application.name,
            before={"status": "Off" if on else "On"},
            after={"status": "On" if on else "Off"},
        )
        if on:
            _queue_dispatch()


def mark_mappings_changed(job: ProvisioningJob) -> None:
    """A change to mappings or scope makes the next cycle an initial one (F11)."""
    ProvisioningJob.objects.filter(pk=job.pk).update(full_sync_required=True)
    job.full_sync_required = True


def restart_provisioning(job: ProvisioningJob, *, actor=None) -> None:
    """Clear the watermark, the escrows, the quarantine and what was learnt about the target; keep
    the links; run an initial cycle."""
    now = timezone.now()
    with transaction.atomic():
        ProvisioningJob.objects.filter(pk=job.pk).update(
            watermark=None,
            full_sync_required=True,
            quarantine_reason="",
            quarantine_detail="",
            quarantine_message=None,
            quarantine_since=None,
            quarantine_attempts=0,
            quarantine_notified_reason="",
            deletes_allowed_once=False,
            # What the engine learnt about the target (attributes it refused, the member-removal
            # form it accepts) is forgotten: after a restart the target is given a fresh chance.
            target_learnt={},
            state=JobState.NOT_RUN if job.status_on else job.state,
            next_run_at=now if job.status_on else None,
        )
        links = ProvisionedObject.objects.filter(job=job)
        links.filter(state=LinkState.FAILED, target_id="").delete()
        links.filter(state=LinkState.FAILED).update(state=LinkState.PROVISIONED)
        links.filter(state=LinkState.STAGED_DELETE).update(state=LinkState.PROVISIONED)
        links.filter(failure_count__gt=0).update(failure_count=0, last_error="", next_retry_at=None)
        record_audit(
            AuditActivity.RESTART,
            actor=actor,
            application=job.application,
            target=job.application.name,
        )
        if job.status_on:
            _queue_dispatch()
    job.refresh_from_db()


def quarantine_advice(job: ProvisioningJob) -> str:
    """What the administrator should do about the job's quarantine, in one or two sentences."""
    reason = job.quarantine_reason
    if reason == QuarantineReason.TOO_MANY_DELETES:
        return _(
            "Review the held disables and deletes in the provisioning logs (action StagedDelete). "
            "If they are intended, choose Allow deletes; if not, fix the assignments or the "
            "scope first."
        )
    if reason == QuarantineReason.QUARANTINE_EXCEPTION:
        return _(
            "Fix the admin credentials or the tenant URL, choose Test Connection until it "
            "succeeds, save, then choose Restart provisioning."
        )
    if reason in (
        QuarantineReason.ESCROW_PROPORTION_THRESHOLD,
        QuarantineReason.TOTAL_ESCROW_THRESHOLD,
        QuarantineReason.BASE_ESCROW_THRESHOLD,
    ):
        return _(
            "Open the provisioning logs filtered on Failure, fix what they report (attribute "
            "mappings, data in the directory or in the application), then choose Restart "
            "provisioning."
        )
    return _("Fix the cause, then choose Restart provisioning.")


def allow_deletes(job: ProvisioningJob, *, actor=None) -> None:
    """Release the deletions held by the accidental-deletion guard in the next cycle (F23).

    Only held deletions can be allowed: for any other quarantine reason the next cycle would
    retest nothing, so the operation is refused with what to do instead."""
    held = job.quarantine_reason == QuarantineReason.TOO_MANY_DELETES or (
        ProvisionedObject.objects.filter(job=job, state=LinkState.STAGED_DELETE).exists()
    )
    if not held:
        raise OperationRefused(
            _("There are no held deletions to allow. %(advice)s")
            % {"advice": quarantine_advice(job)}
        )
    now = timezone.now()
    with transaction.atomic():
        updates = {"deletes_allowed_once": True, "next_run_at": now}
        if job.state == JobState.QUARANTINE and job.quarantine_reason == "TooManyDeletes":
            updates.update(
                state=JobState.ACTIVE,
                quarantine_reason="",
                quarantine_detail="",
                quarantine_message=None,
                quarantine_since=None,
                quarantine_attempts=0,
            )
        ProvisioningJob.objects.filter(pk=job.pk).update(**updates)
        ProvisionedObject.objects.filter(job=job, state=LinkState.STAGED_DELETE).update(
            next_retry_at=now
        )
        record_audit(
            AuditActivity.ALLOW_DELETES,
            actor=actor,
            application=job.application,
            target=job.application.name,
        )
        if job.status_on:
            _queue_dispatch()
    job.refresh_from_db()


def start_provision_on_demand(
    job: ProvisioningJob,
    *,
    user: DirectoryUser | None = None,
    group: DirectoryGroup | None = None,
    actor=None,
) -> SyncCycle:
    """Queue an on-demand cycle for one user, or one group with at most five members (F13).

    Returns the cycle (state Queued) at once; the page follows its log entries.
    """
    if (user is None) == (group is None):
        raise OperationRefused(_("Pick one user or one group."))
    if not _is_configured(job):
        raise OperationRefused(_("Fill in and test the admin credentials first."))
    user_ids: list[str] = []
    group_ids: list[str] = []
    if user is not None:
        user_ids = [str(user.pk)]
        target = user.user_principal_name
    else:
        members = list(
            GroupMembership.objects.filter(group=group, member_user__isnull=False).values_list(
                "member_user_id", flat=True
            )[: ON_DEMAND_MAX_GROUP_MEMBERS + 1]
        )
        if len(members) > ON_DEMAND_MAX_GROUP_MEMBERS:
            raise OperationRefused(
                _("Provision on demand takes a group with at most %(n)d members.")
                % {"n": ON_DEMAND_MAX_GROUP_MEMBERS}
            )
        user_ids = [str(m) for m in members]
        group_ids = [str(group.pk)]
        target = group.display_name
    with transaction.atomic():
        cycle = SyncCycle.objects.create(job=job, kind=CycleKind.ON_DEMAND, state=CycleState.QUEUED)
        record_audit(
            AuditActivity.PROVISION_ON_DEMAND,
            actor=actor,
            application=job.application,
            target=target,
        )
        from ..tasks import provision_on_demand

        cycle_id = str(cycle.pk)
        transaction.on_commit(
            lambda: provision_on_demand.delay(job.pk, cycle_id, user_ids, group_ids)
        )
    return cycle
