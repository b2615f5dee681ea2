"""Exit 0 when the readiness checks pass (the container health checks of docker/compose.yml)."""

from django.core.management.base import BaseCommand, CommandError

from provisioning.security.health import READINESS_CHECKS


class Command(BaseCommand):
    help = "Run the /readyz checks (all, or those named with --check) and exit 1 if one fails."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check", action="append", choices=sorted(READINESS_CHECKS), dest="checks"
        )

    def handle(self, *args, checks=None, **options) -> None:
        failing = [name for name in checks or READINESS_CHECKS if not READINESS_CHECKS[name]()]
        for name in checks or READINESS_CHECKS:
            self.stdout.write(f"{name}: {'failing' if name in failing else 'ok'}")
        if failing:
            raise CommandError(f"failing: {', '.join(failing)}")
