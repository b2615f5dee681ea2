"""``manage.py provision APP --reconcile [--dry-run]``: a reconcile in the foreground."""

from django.core.management.base import BaseCommand, CommandError

from ..choices import CycleState, ReconcileClass
from ..engine.cycle import CycleBusy
from ..models import ProvisioningJob
from .run import run_reconcile


def reconcile_command(command: BaseCommand, job: ProvisioningJob, *, dry_run: bool) -> None:
    out = command.stdout
    try:
        report = run_reconcile(job, dry_run=dry_run)
    except CycleBusy as error:
        raise CommandError(str(error)) from error
    cycle = report.cycle
    if dry_run:
        out.write(f"Dry run: {len(report.requests)} request(s) would be sent:")
        for request in report.requests:
            out.write(f"  {request.method} {request.url}")
            if request.json_body is not None:
                out.write(f"    {request.json_body}")
    out.write(
        f"Reconcile of {job.application.name}: {cycle.get_state_display()} "
        f"in {report.duration_seconds:.1f} s"
    )
    for value, label in ReconcileClass.choices:
        out.write(f"  {label}: {report.counts.get(value, 0)}")
    if report.counts.get("held"):
        out.write(f"  Disables held by the deletion threshold: {report.counts['held']}")
    for finding in report.sample:
        if finding.classification == ReconcileClass.IN_SYNC:
            continue
        line = f"  [{finding.get_classification_display()}] {finding.object_type} {finding.display}"
        if finding.outcome:
            line += f" ({finding.outcome})"
        out.write(line)
        for row in finding.differences:
            out.write(f"      {row['name']}: {row.get('old')!r} -> {row.get('new')!r}")
        if finding.detail:
            out.write(f"      {finding.detail}")
    if cycle.state == CycleState.FAILED:
        raise CommandError(f"The reconcile failed: {cycle.error}")
