"""Configuration changes made on an application's pages (F6–F9, F12, F25).

The Provisioning tab saves its settings and admin credentials here and tests the connection with
the typed credentials (:func:`try_connection`); the *Users and groups* page adds and removes
assignments here. Every change writes one audit event through :func:`record_audit`, which
redacts secrets; the Provisioning Status, the configuration state and the "next cycle is initial"
flag are changed only through :mod:`.operations`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..choices import AuditActivity, ObjectType, ProvisioningMode
from ..connectors import build_connector
from ..connectors.base import ConnectionTestResult
from ..connectors.errors import ConnectorError
from ..gallery.base import CredentialField, GalleryTemplate
from ..models import (
    Application,
    AppRole,
    Assignment,
    AttributeMapping,
    DirectoryGroup,
    DirectoryUser,
    ProvisioningJob,
)
from ..security.redaction import REDACTED
from .audit import record_audit
from .operations import (
    OperationRefused,
    mark_mappings_changed,
    refresh_configuration_state,
    set_provisioning_status,
)

DEFAULT_MATCHING_ATTRIBUTE = "userName"

# The settings of the Provisioning tab besides the credentials and the status, in the order the
# audit event lists them.
SETTING_NAMES = (
    "mode",
    "notification_email",
    "notify_on_failure",
    "scope",
    "prevent_accidental_deletion",
    "deletion_threshold",
    "interval_minutes",
    "notification_language",
    "reconcile_interval_hours",
    "reconcile_repair",
    "reconcile_disable_unmanaged",
    "max_requests_in_flight",
)


@dataclass(frozen=True)
class ProvisioningSettings:
    """What the Provisioning tab submits. ``credentials`` holds the typed values by field name;
    a blank secret means "keep the stored one"."""

    mode: str
    credentials: Mapping[str, str]
    notification_email: str
    notify_on_failure: bool
    scope: str
    prevent_accidental_deletion: bool
    deletion_threshold: int
    interval_minutes: int
    status_on: bool
    notification_language: str = ""
    # Reconcile settings (issue 13); None keeps the stored value.
    reconcile_interval_hours: int | None = None
    reconcile_repair: str | None = None
    reconcile_disable_unmanaged: bool | None = None
    max_requests_in_flight: int | None = None  # None keeps the job's value (issue 16)


@dataclass(frozen=True)
class SaveOutcome:
    changed_settings: tuple[str, ...]
    credentials_changed: bool
    status_changed: bool

    @property
    def changed(self) -> bool:
        return bool(self.changed_settings or self.credentials_changed or self.status_changed)


def changed_identity_fields(
    template: GalleryTemplate, stored: Mapping[str, Any], submitted: Mapping[str, Any]
) -> list[CredentialField]:
    """The non-secret credential fields (Tenant URL, admin user name) whose submitted value
    differs from the stored one."""
    return [
        field
        for field in template.credential_fields
        if not field.secret
        and str(submitted.get(field.name) or "").strip() != str(stored.get(field.name) or "")
    ]


def secrets_to_reenter(
    template: GalleryTemplate, stored: Mapping[str, Any], submitted: Mapping[str, Any]
) -> list[CredentialField]:
    """Stored secrets left blank while a non-secret credential field changed.

    A stored secret belongs to the host and account it was entered for: it must never follow a
    changed Tenant URL or admin user name to somewhere else, so it has to be typed again.
    """
    if not changed_identity_fields(template, stored, submitted):
        return []
    return [
        field
        for field in template.credential_fields
        if field.secret
        and stored.get(field.name)
        and str(submitted.get(field.name) or "").strip() in ("", REDACTED)
    ]


def reenter_message(template: GalleryTemplate, stored, submitted) -> str:
    """What the page says when :func:`secrets_to_reenter` is not empty."""
    changed = ", ".join(str(f.label) for f in changed_identity_fields(template, stored, submitted))
    secrets = ", ".join(str(f.label) for f in secrets_to_reenter(template, stored, submitted))
    return _("%(changed)s changed: enter %(secrets)s again; the stored value is not sent.") % {
        "changed": changed,
        "secrets": secrets,
    }


def merge_credentials(
    template: GalleryTemplate, stored: Mapping[str, Any], submitted: Mapping[str, Any]
) -> dict[str, Any]:
    """The credentials to use: the submitted values, except that a blank secret keeps the stored
    one (secrets are never rendered back, so the page cannot send them again) — but only while
    every non-secret credential field is unchanged; otherwise a blank secret stays blank."""
    merged = dict(stored)
    keep_secrets = not changed_identity_fields(template, stored, submitted)
    for field in template.credential_fields:
        value = str(submitted.get(field.name) or "").strip()
        if field.secret and value in ("", REDACTED):
            if keep_secrets:
                continue
            value = ""
        merged[field.name] = value
    return merged


def connection_check_needed(job: ProvisioningJob, values: ProvisioningSettings) -> bool:
    """Saving with Status On tests the credentials first, as Azure does, when the status is
    being turned On or the credentials changed (issue 15)."""
    if not values.status_on or values.mode != ProvisioningMode.AUTOMATIC:
        return False
    merged = merge_credentials(job.application.template, job.credentials, values.credentials)
    return not job.status_on or merged != dict(job.credentials)


@transaction.atomic
def save_provisioning_settings(
    job: ProvisioningJob,
    values: ProvisioningSettings,
    *,
    actor=None,
    connection_warning: str = "",
) -> SaveOutcome:
    """Save the Provisioning tab; all or nothing.

    Raises :class:`OperationRefused` (and saves nothing) when the requested Provisioning Status
    cannot be set, e.g. On without credentials or in Manual mode.
    """
    locked = ProvisioningJob.objects.select_for_update().get(pk=job.pk)
    locked.application = job.application
    template = job.application.template
    if values.mode == ProvisioningMode.MANUAL and values.status_on:
        raise OperationRefused(
            _("Turn the Provisioning Status Off before setting the mode to Manual.")
        )

    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in SETTING_NAMES:
        old, new = getattr(locked, name), getattr(values, name)
        if new is not None and old != new:  # None keeps the stored value
            before[name], after[name] = old, new
            setattr(locked, name, new)
    changed_settings = tuple(before)

    credentials = merge_credentials(template, locked.credentials, values.credentials)
    credential_names = [f.name for f in template.credential_fields]
    changed_credentials = [
        name for name in credential_names if locked.credentials.get(name) != credentials.get(name)
    ]
    if changed_credentials:
        before["credentials"] = {n: locked.credentials.get(n, "") for n in changed_credentials}
        after["credentials"] = {n: credentials.get(n, "") for n in changed_credentials}
        locked.credentials = credentials

    if connection_warning:
        # Saved although Test Connection failed: the audit event says so (issue 15).
        after["warning"] = connection_warning
    if before or connection_warning:
        update_fields = [*changed_settings, "updated_at"]
        if changed_credentials:
            update_fields.append("credentials")
        locked.save(update_fields=update_fields)
        record_audit(
            AuditActivity.UPDATE_SETTINGS,
            actor=actor,
            application=job.application,
            target=job.application.name,
            before=before,
            after=after,
        )
    if "scope" in changed_settings:
        mark_mappings_changed(locked)
    if changed_credentials or "mode" in changed_settings:
        refresh_configuration_state(locked)

    status_changed = values.status_on != locked.status_on
    if status_changed:
        set_provisioning_status(locked, values.status_on, actor=actor)

    job.refresh_from_db()
    return SaveOutcome(changed_settings, bool(changed_credentials), status_changed)


def matching_attribute(job: ProvisioningJob) -> str:
    """The users' first matching attribute (by precedence): what Test Connection filters on."""
    attribute = (
        AttributeMapping.objects.filter(
            object_mapping__job=job,
            object_mapping__object_type=ObjectType.USER,
            is_matching=True,
        )
        .order_by("matching_precedence", "position")
        .values_list("target_attribute", flat=True)
        .first()
    )
    return attribute or DEFAULT_MATCHING_ATTRIBUTE


def try_connection(job: ProvisioningJob, submitted: Mapping[str, Any]) -> ConnectionTestResult:
    """Try the credentials as typed on the page (blank secrets: the stored ones). Saves nothing."""
    template = job.application.template
    if secrets_to_reenter(template, job.credentials, submitted):
        return ConnectionTestResult(False, reenter_message(template, job.credentials, submitted))
    credentials = merge_credentials(template, job.credentials, submitted)
    missing = [
        field.label
        for field in template.credential_fields
        if field.required and not credentials.get(field.name)
    ]
    if missing:
        return ConnectionTestResult(
            False,
            _("Fill in %(fields)s before testing the connection.") % {"fields": ", ".join(missing)},
        )
    try:
        connector = build_connector(template.connector, credentials)
    except ConnectorError as error:
        return ConnectionTestResult(False, error.message, error.detail)
    with connector:
        try:
            return connector.test_connection(matching_attribute(job))
        except ConnectorError as error:
            return ConnectionTestResult(False, error.message, error.detail)


# -- Users and groups (F6) --------------------------------------------------------------------


class AssignmentExists(ValueError):
    """The principal already has this role in the application."""


def _principal_description(principal: DirectoryUser | DirectoryGroup) -> dict[str, str]:
    if isinstance(principal, DirectoryUser):
        return {
            "principal_type": ObjectType.USER.value,
            "principal": principal.user_principal_name,
            "principal_id": str(principal.pk),
        }
    return {
        "principal_type": ObjectType.GROUP.value,
        "principal": principal.display_name,
        "principal_id": str(principal.pk),
    }


def add_assignment(
    application: Application,
    principal: DirectoryUser | DirectoryGroup,
    role: AppRole,
    *,
    actor=None,
) -> Assignment:
    """Assign a user or group to the application with an app role; *Default Access* is allowed,
    as in Azure, although it is not valid for provisioning."""
    if role.application_id != application.pk:
        raise ValueError("The role belongs to another application.")
    lookup = {"user": principal} if isinstance(principal, DirectoryUser) else {"group": principal}
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(application=application, role=role, **lookup)
            record_audit(
                AuditActivity.ADD_ASSIGNMENT,
                actor=actor,
                application=application,
                target=_principal_description(principal)["principal"],
                after={**_principal_description(principal), "role": role.name},
            )
    except IntegrityError:
        raise AssignmentExists(
            _("%(principal)s already has the role %(role)s.")
            % {"principal": principal, "role": role.name}
        ) from None
    return assignment


@transaction.atomic
def remove_assignment(assignment: Assignment, *, actor=None) -> None:
    principal = assignment.principal
    record_audit(
        AuditActivity.REMOVE_ASSIGNMENT,
        actor=actor,
        application=assignment.application,
        target=_principal_description(principal)["principal"],
        before={**_principal_description(principal), "role": assignment.role.name},
    )
    assignment.delete()
