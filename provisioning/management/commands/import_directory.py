"""``manage.py import_directory FILE.csv [FILE.csv ...]``: bulk import of the directory (F3)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from provisioning.directory.importer import ImportRejected, import_directory


class Command(BaseCommand):
    help = gettext_lazy(
        "Import users, groups and memberships from CSV files (UTF-8), all of them or nothing. "
        "The kind of each file is told by its header; see docs/samples/users.csv, groups.csv and "
        "memberships.csv. Users are matched by userPrincipalName, groups by display name, so "
        "importing the same files again changes nothing. The import creates and updates; it never "
        "deletes users, groups or memberships. A bad file is rejected with a report of every bad "
        "row, and nothing is changed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "files", nargs="+", metavar="FILE", help=gettext_lazy("CSV files to import together.")
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=gettext_lazy(
                "Check the files and report what would change, without changing anything."
            ),
        )

    def handle(self, *args, files: list[str], dry_run: bool, **options) -> None:
        contents = []
        for name in files:
            try:
                contents.append((name, Path(name).read_bytes()))
            except OSError as error:
                raise CommandError(
                    _("Cannot read %(file)s: %(error)s") % {"file": name, "error": error.strerror}
                ) from error
        try:
            report = import_directory(contents, dry_run=dry_run)
        except ImportRejected as rejected:
            for error in rejected.errors:
                self.stderr.write(str(error))
            raise CommandError(str(rejected)) from rejected
        for line in report.summary_lines():
            self.stdout.write(line)
