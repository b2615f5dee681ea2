"""What the Reconcile page and others call: the last reconcile's summary, Reconcile now."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from ..choices import AuditActivity, CycleKind, CycleState, ReconcileClass
from ..models import ProvisioningJob, ReconcileFinding, SyncCycle
from ..services.audit import record_audit
from ..services.operations import OperationRefused


@dataclass
class ReconcileSummary:
    last: SyncCycle | None  # the last reconcile that ended
    running: SyncCycle | None
    counts: list[tuple[str, str, int]]  # (class value, label, count)


def reconcile_summary(job: ProvisioningJob) -> ReconcileSummary:
    cycles = SyncCycle.objects.filter(job=job, kind=CycleKind.RECONCILE)
    running = cycles.filter(state=CycleState.RUNNING).first()
    last = cycles.exclude(state__in=[CycleState.RUNNING, CycleState.QUEUED]).first()
    classes = (last.counters or {}).get("classes", {}) if last else {}
    counts = [(value, label, classes.get(value, 0)) for value, label in ReconcileClass.choices]
    return ReconcileSummary(last, running, counts)


def findings(job: ProvisioningJob, cycle: SyncCycle | None, classification: str = ""):
    if cycle is None:
        return ReconcileFinding.objects.none()
    found = ReconcileFinding.objects.filter(job=job, cycle=cycle)
    if classification:
        found = found.filter(classification=classification)
    return found.order_by("classification", "display", "id")


def request_reconcile(job: ProvisioningJob, *, actor=None) -> None:
    """Reconcile now: queue a reconcile, which waits for a running cycle of the job to end.
    Audited: a reconcile may repair drift and disable accounts (per the job's settings)."""
    if not job.credentials:
        raise OperationRefused(_("Fill in and test the admin credentials first."))
    from ..tasks import reconcile_now

    with transaction.atomic():
        record_audit(
            AuditActivity.RECONCILE_NOW,
            actor=actor,
            application=job.application,
            target=job.application.name,
            after={
                "repair": job.reconcile_repair,
                "disable_unmanaged": job.reconcile_disable_unmanaged,
            },
        )
        transaction.on_commit(lambda: reconcile_now.delay(job.pk))
