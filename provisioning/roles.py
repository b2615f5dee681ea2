"""Portal roles (F27): provisioning administrators change things; auditors only read.

Roles are Django groups so operators can manage them in the admin. Auditors get view permissions on
the reports only; credentials are never exposed to them by any page.
"""

from django.contrib.auth.models import Group, Permission

ADMINISTRATORS = "Provisioning administrators"
AUDITORS = "Auditors"

# Models an auditor may read (sync details, logs, audit log, and the configuration around them).
AUDITOR_VIEW_MODELS = (
    "application",
    "approle",
    "assignment",
    "provisioningjob",
    "objectmapping",
    "attributemapping",
    "synccycle",
    "provisioninglogentry",
    "auditevent",
    "directoryuser",
    "directorygroup",
    "groupmembership",
)


def ensure_roles() -> tuple[Group, Group]:
    """Create (or repair) the two role groups with their permissions. Idempotent."""
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    auditors, _ = Group.objects.get_or_create(name=AUDITORS)
    provisioning_permissions = Permission.objects.filter(content_type__app_label="provisioning")
    administrators.permissions.set(provisioning_permissions)
    auditors.permissions.set(
        provisioning_permissions.filter(
            codename__in=[f"view_{model}" for model in AUDITOR_VIEW_MODELS]
        )
    )
    return administrators, auditors


def is_administrator(user) -> bool:
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.groups.filter(name=ADMINISTRATORS).exists())
    )


def is_auditor(user) -> bool:
    return bool(user.is_authenticated and user.groups.filter(name=AUDITORS).exists())
