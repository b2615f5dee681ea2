"""Run a provisioning cycle in the foreground and print its summary (F28).

Exit codes (documented in the README):

- 0: the cycle completed without failures;
- 1: the cycle failed (a job-level error), or the command was used wrongly;
- 2: the cycle completed, but some objects failed (they are listed, up to 20);
- 3: the job is in quarantine after the cycle;
- 4: busy: another cycle of the job holds its lease.
"""

from django.core.management.base import BaseCommand, CommandError

from provisioning.choices import CycleState, JobState, LogStatus
from provisioning.engine.cycle import CycleBusy, run_cycle
from provisioning.models import Application, DirectoryUser, ProvisioningLogEntry

EXIT_FAILED = 1
EXIT_OBJECT_FAILURES = 2
EXIT_QUARANTINE = 3
EXIT_BUSY = 4
LISTED_FAILURES = 20


class Command(BaseCommand):
    help = (
        "Run a provisioning cycle of APP (its name or id) now: incremental by default, initial with "
        "--initial, for one user with --user UPN. --dry-run prints every request it would send and "
        "changes nothing in the target or the database. Exit codes: 0 success, 1 the cycle "
        "failed, 2 some objects failed, 3 the job is in quarantine, 4 busy (another cycle runs)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("app", help="the application's name or id")
        parser.add_argument("--initial", action="store_true", help="run an initial (full) cycle")
        parser.add_argument("--dry-run", action="store_true", help="send no writing request")
        parser.add_argument("--user", metavar="UPN", help="provision this one user on demand")
        parser.add_argument(
            "--reconcile",
            action="store_true",
            help="reconcile: read the target back, report (and per the job's setting repair) drift",
        )

    def handle(self, *args, app: str, initial: bool, dry_run: bool, user: str | None, **options):
        application = self._application(app)
        job = application.provisioning_job
        if options.get("reconcile"):
            from provisioning.reconcile.command import reconcile_command

            reconcile_command(self, job, dry_run=dry_run)
            return
        user_ids = None
        if user:
            found = DirectoryUser.objects.filter(user_principal_name__iexact=user).first()
            if found is None:
                raise CommandError(f"No directory user {user!r}.")
            user_ids = [found.pk]
        try:
            report = run_cycle(job, initial=initial or None, dry_run=dry_run, user_ids=user_ids)
        except CycleBusy as error:
            raise CommandError(str(error), returncode=EXIT_BUSY) from error
        cycle = report.cycle
        if dry_run:
            self.stdout.write(f"Dry run: {len(report.requests)} request(s) would be sent:")
            for request in report.requests:
                self.stdout.write(f"  {request.method} {request.url}")
                if request.json_body is not None:
                    self.stdout.write(f"    {request.json_body}")
        self.stdout.write(
            f"{cycle.get_kind_display()} of {application.name}: {cycle.get_state_display()} "
            f"in {report.duration_seconds:.1f} s"
        )
        counters = cycle.counters or {}
        for key in ("users", "groups", "unchanged"):
            if key in counters:
                self.stdout.write(f"  {key}: {counters[key]}")
        for action, statuses in sorted(counters.items()):
            if isinstance(statuses, dict):
                parts = ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
                self.stdout.write(f"  {action}: {parts}")
        failed = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk, status=LogStatus.FAILURE)
        count = failed.count()
        if count:
            self.stdout.write(f"Failed objects ({count}, up to {LISTED_FAILURES} listed):")
            for entry in failed.order_by("created_at")[:LISTED_FAILURES]:
                reason = " ".join(entry.reason.split())[:200]
                self.stdout.write(
                    f"  {entry.object_type} {entry.source_display}: {entry.action} "
                    f"[{entry.error_code or 'Error'}] {reason}"
                )
        if cycle.state == CycleState.FAILED:
            raise CommandError(f"The cycle failed: {cycle.error}", returncode=EXIT_FAILED)
        if dry_run:
            return
        job.refresh_from_db(fields=["state"])
        if job.state == JobState.QUARANTINE:
            raise CommandError(
                "The job is in quarantine after this cycle.", returncode=EXIT_QUARANTINE
            )
        if count or cycle.state == CycleState.COMPLETED_WITH_FAILURES:
            raise CommandError(
                f"The cycle completed with {count} failed object(s).",
                returncode=EXIT_OBJECT_FAILURES,
            )

    @staticmethod
    def _application(name_or_id: str) -> Application:
        query = Application.objects.select_related("provisioning_job")
        found = query.filter(name=name_or_id).first()
        if found is None and name_or_id.isdigit():
            found = query.filter(pk=int(name_or_id)).first()
        if found is None:
            raise CommandError(f"No application named {name_or_id!r}.")
        return found
