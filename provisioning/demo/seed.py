"""Demo data for `manage.py seed_demo`: idempotent, deterministic, and small.

About fifty users in a few groups, the tutorial's *Citrix GoToMeeting* application with empty
credentials (as after step 2 of the tutorial), a *Demo SCIM app* pointed at the local demo target
with its *Sales* group assigned with role *User*, and two portal logins.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from ..choices import JobState, ProvisioningMode
from ..models import (
    Application,
    Assignment,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ProvisioningJob,
)
from ..roles import ensure_roles
from ..services.applications import add_application

DEMO_NAMESPACE = uuid.UUID("3f0c9d1e-6a51-4a9c-9f63-0d5bde5e6a10")
DOMAIN = "contoso.example"

GIVEN_NAMES = ("Ada", "Brook", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivan", "Jia")
SURNAMES = ("Lin", "Okafor", "Schmidt", "Tanaka", "Moreau")
DEPARTMENTS = ("Sales", "Engineering", "Marketing", "Support", "Finance")
COUNTRIES = ("TW", "US", "DE", "JP", "FR")

GROUPS = (
    ("Sales", "sales", "Everyone in sales"),
    ("Engineering", "engineering", "Product engineering"),
    ("Marketing", "marketing", "Marketing and events"),
    ("GoToMeeting Users", "gotomeeting-users", "People who host online meetings"),
)


@dataclass
class DemoLogins:
    admin_username: str
    admin_password: str
    auditor_username: str
    auditor_password: str
    # The logins this run created; existing logins keep the password their users set.
    created: tuple[str, ...] = ()


def _demo_users() -> list[dict]:
    users = []
    for index in range(50):
        given = GIVEN_NAMES[index % len(GIVEN_NAMES)]
        surname = SURNAMES[index // len(GIVEN_NAMES)]
        upn = f"{given.lower()}.{surname.lower()}@{DOMAIN}"
        users.append(
            {
                "id": uuid.uuid5(DEMO_NAMESPACE, upn),
                "user_principal_name": upn,
                "mail": upn,
                "given_name": given,
                "surname": surname,
                "display_name": f"{given} {surname}",
                "department": DEPARTMENTS[index % len(DEPARTMENTS)],
                "job_title": "Manager" if index % 10 == 0 else "Specialist",
                "employee_id": f"E{1000 + index}",
                "country": COUNTRIES[index % len(COUNTRIES)],
                "preferred_language": "zh-TW" if index % 5 == 0 else "en-US",
                "account_enabled": True,
            }
        )
    return users


def _upsert(model, lookup: dict, values: dict):
    """Create, or update only what differs, so a second run writes nothing."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **values)
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save(update_fields=changed)
    return obj


@transaction.atomic
def seed_demo() -> DemoLogins:
    users = {}
    for data in _demo_users():
        values = {k: v for k, v in data.items() if k not in ("id", "user_principal_name")}
        users[data["user_principal_name"]] = _upsert(
            DirectoryUser,
            {"user_principal_name": data["user_principal_name"]},
            {**values, "deleted_at": None},
        )
    # Managers: the first person of each surname manages the others of that surname.
    for user in users.values():
        manager = users[f"ada.{user.surname.lower()}@{DOMAIN}"]
        _upsert(DirectoryUser, {"pk": user.pk}, {"manager": None if manager == user else manager})

    groups = {}
    for name, nickname, description in GROUPS:
        groups[name] = _upsert(
            DirectoryGroup,
            {"display_name": name},
            {"mail_nickname": nickname, "description": description, "deleted_at": None},
        )
    for user in users.values():
        if user.department in groups:
            GroupMembership.objects.get_or_create(group=groups[user.department], member_user=user)
        if user.job_title == "Manager" or user.given_name in ("Chen", "Hana"):
            GroupMembership.objects.get_or_create(
                group=groups["GoToMeeting Users"], member_user=user
            )

    if not Application.objects.filter(name="Citrix GoToMeeting").exists():
        add_application("gotomeeting", "Citrix GoToMeeting", actor="seed_demo")

    demo_scim = Application.objects.filter(name="Demo SCIM app").first()
    if demo_scim is None:
        demo_scim = add_application("scim", "Demo SCIM app", actor="seed_demo")
    job = demo_scim.provisioning_job
    wanted_credentials = {
        "tenant_url": settings.DEMO_SCIM_URL,
        "secret_token": settings.DEMO_SCIM_TOKEN,
    }
    if job.credentials != wanted_credentials or job.mode != ProvisioningMode.AUTOMATIC:
        job.credentials = wanted_credentials
        job.mode = ProvisioningMode.AUTOMATIC
        job.save()
    if job.state == JobState.NOT_CONFIGURED:
        ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.NOT_RUN)
    Assignment.objects.get_or_create(
        application=demo_scim, group=groups["Sales"], role=demo_scim.roles.get(name="User")
    )

    return _ensure_logins()


def _ensure_logins() -> DemoLogins:
    administrators, auditors = ensure_roles()
    logins = DemoLogins(
        admin_username="admin",
        admin_password=settings.DEMO_ADMIN_PASSWORD,
        auditor_username="auditor",
        auditor_password=settings.DEMO_AUDITOR_PASSWORD,
    )
    User = get_user_model()
    created_now: list[str] = []
    for username, password, group, staff in (
        (logins.admin_username, logins.admin_password, administrators, True),
        (logins.auditor_username, logins.auditor_password, auditors, False),
    ):
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": staff, "is_superuser": staff}
        )
        if created:
            user.set_password(password)
            user.save()
            created_now.append(username)
        user.groups.add(group)
    logins.created = tuple(created_now)
    return logins
