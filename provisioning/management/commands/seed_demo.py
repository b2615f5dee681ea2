"""Create the demo directory, applications and logins (idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from provisioning.demo.seed import seed_demo


class Command(BaseCommand):
    help = (
        "Create about 50 demo users in a few groups, the applications 'Citrix GoToMeeting' and "
        "'Demo SCIM app' (pointed at DEMO_SCIM_URL), and an administrator and an auditor login. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Seed even with DEBUG off (creates known logins)."
        )

    def handle(self, *args, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates logins with known passwords; use --force with DEBUG off."
            )
        logins = seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
        for label, username, password in (
            ("administrator:", logins.admin_username, logins.admin_password),
            ("auditor:      ", logins.auditor_username, logins.auditor_password),
        ):
            if username in logins.created:
                self.stdout.write(f"  {label} {username} / {password}")
            else:
                self.stdout.write(f"  {label} {username} (exists; its password was not changed)")
