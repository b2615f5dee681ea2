"""``manage.py export_directory [--output DIR]``: the directory as CSV files (F3)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from provisioning.directory.exporter import export_directory


class Command(BaseCommand):
    help = gettext_lazy(
        "Export the live users, groups and memberships to users.csv, groups.csv and "
        "memberships.csv in the format of import_directory (see docs/samples/)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            type=Path,
            default=None,
            metavar="DIR",
            help=gettext_lazy("Directory to write the files into (default: var/export)."),
        )

    def handle(self, *args, output: Path | None, **options) -> None:
        output_dir = output if output is not None else Path(settings.VAR_DIR) / "export"
        counts = export_directory(output_dir)
        self.stdout.write(
            _(
                "Exported to %(dir)s: users %(users)d, groups %(groups)d, memberships %(memberships)d."
            )
            % {**counts, "dir": output_dir}
        )
