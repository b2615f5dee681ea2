"""Writing the directory (F1, F2, F31): what the portal's directory pages and the REST API call.

Every function takes the acting user (``actor``) and the ``channel`` the change came through
(``"portal"``, ``"api:<token>"``, ``"system"``), validates before it writes, writes in one
transaction and records one audit event. Bad input raises ``django.core.exceptions.ValidationError``
with a message per field (the field names are the model's: ``user_principal_name``, ``manager``…)
and changes nothing.

The engine needs no call from here: the change-log triggers on the directory tables record every
write, and the next cycle (brought forward by the directory watcher) disables, re-enables,
updates or deletes the accounts in the applications.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..choices import AuditActivity
from ..directory.csv_format import is_user_principal_name
from ..models import (
    DirectoryGroup,
    DirectoryImport,
    DirectoryImportFile,
    DirectoryImportState,
    DirectoryUser,
    GroupMembership,
)
from .audit import record_audit

# The fields ``create_user``/``update_user`` accept (``manager``: a user, an id or None).
USER_FIELDS = (
    "user_principal_name",
    "display_name",
    "given_name",
    "surname",
    "mail",
    "job_title",
    "department",
    "employee_id",
    "mobile",
    "country",
    "preferred_language",
    "account_enabled",
    "manager",
    "extension_attributes",
)
GROUP_FIELDS = ("display_name", "mail", "mail_nickname", "description", "security_enabled")
# Longest manager chain followed when checking for a cycle (a deeper chain is refused).
MAX_MANAGER_CHAIN = 1000
# An upload not confirmed within a day is cancelled by the daily purge.
STALE_IMPORT_AGE = timedelta(days=1)


# --- helpers -------------------------------------------------------------------------------------


def _unknown_fields(data: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(
            {
                name: [_("%(name)s is not a field that can be set.") % {"name": name}]
                for name in unknown
            }
        )


def _audit_value(value: Any) -> Any:
    if isinstance(value, DirectoryUser):
        return value.user_principal_name
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _resolve_manager(value: Any, errors: dict) -> DirectoryUser | None:
    if value in (None, ""):
        return None
    if isinstance(value, DirectoryUser):
        manager = value
    else:
        try:
            manager = DirectoryUser.objects.filter(pk=str(value)).first()
        except (ValidationError, ValueError):
            manager = None
        if manager is None:
            errors.setdefault("manager", []).append(_("No such user."))
            return None
    if manager.deleted_at is not None:
        errors.setdefault("manager", []).append(_("The manager is in the deleted users."))
    return manager


def _check_manager_chain(user: DirectoryUser, manager: DirectoryUser | None, errors: dict) -> None:
    """A user cannot report to themselves, directly or through their reports."""
    if manager is None or user.pk is None:
        return
    current: DirectoryUser | None = manager
    seen = set()
    for _step in range(MAX_MANAGER_CHAIN):
        if current is None:
            return
        if current.pk == user.pk:
            errors.setdefault("manager", []).append(
                _("A user cannot be their own manager, directly or through their reports.")
            )
            return
        if current.pk in seen:
            return
        seen.add(current.pk)
        manager_id = current.manager_id
        current = DirectoryUser.objects.filter(pk=manager_id).first() if manager_id else None
    errors.setdefault("manager", []).append(_("The manager chain is too long."))


def _clean_user(user: DirectoryUser, data: dict, *, creating: bool) -> dict[str, tuple]:
    """Apply ``data`` to ``user`` (unsaved) and validate; return {field: (old, new)} changed."""
    _unknown_fields(data, USER_FIELDS)
    errors: dict[str, list] = {}
    changes: dict[str, tuple] = {}
    values = dict(data)
    if "manager" in values:
        manager = _resolve_manager(values.pop("manager"), errors)
        if (manager.pk if manager else None) != user.manager_id:
            changes["manager"] = (user.manager, manager)
            user.manager = manager
        _check_manager_chain(user, manager, errors)
    for name, value in values.items():
        if name == "account_enabled":
            if not isinstance(value, bool):
                errors.setdefault(name, []).append(_("Must be true or false."))
                continue
        elif name == "extension_attributes":
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                errors.setdefault(name, []).append(_("Must be an object of text values."))
                continue
        else:
            value = "" if value is None else value
            if not isinstance(value, str):
                errors.setdefault(name, []).append(_("Must be text."))
                continue
            value = value.strip()
            if "\x00" in value:
                errors.setdefault(name, []).append(_("Contains a NUL character."))
                continue
        old = getattr(user, name)
        if old != value:
            changes[name] = (old, value)
            setattr(user, name, value)
    upn = user.user_principal_name
    if upn and not is_user_principal_name(upn):
        errors.setdefault("user_principal_name", []).append(
            _("Enter a user principal name such as name@contoso.com.")
        )
    elif upn and "user_principal_name" in changes:
        clash = DirectoryUser.objects.filter(user_principal_name__iexact=upn)
        if not creating:
            clash = clash.exclude(pk=user.pk)
        if clash.exists():
            errors.setdefault("user_principal_name", []).append(
                _("Another user (perhaps a deleted one) already has this user principal name.")
            )
    try:
        user.full_clean(exclude=["manager", "id", *errors])
    except ValidationError as invalid:
        for name, messages in invalid.message_dict.items():
            if name == "__all__" and any("user_upn_unique_ci" in m for m in messages):
                continue
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return changes


def _audit_changes(changes: dict[str, tuple]) -> tuple[dict, dict]:
    before = {name: _audit_value(old) for name, (old, _new) in changes.items()}
    after = {name: _audit_value(new) for name, (_old, new) in changes.items()}
    return before, after


# --- users ---------------------------------------------------------------------------------------


def create_user(data: dict, *, actor, channel: str = "portal") -> DirectoryUser:
    """Create a user; ``user_principal_name`` and ``display_name`` are required."""
    user = DirectoryUser()
    errors = {}
    for required in ("user_principal_name", "display_name"):
        if not str(data.get(required) or "").strip():
            errors[required] = [_("This field is required.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        changes = _clean_user(user, data, creating=True)
        user.save()
        _before, after = _audit_changes(changes)
        record_audit(
            AuditActivity.ADD_USER,
            actor=actor,
            target=user.user_principal_name,
            after={"id": str(user.pk), **after},
            channel=channel,
        )
    return user


def update_user(user: DirectoryUser, data: dict, *, actor, channel: str = "portal") -> bool:
    """Change the given fields; returns whether anything changed (nothing is written if not)."""
    if user.deleted_at is not None:
        raise ValidationError(_("A deleted user cannot be changed; restore it first."))
    with transaction.atomic():
        locked = DirectoryUser.objects.select_for_update().get(pk=user.pk)
        changes = _clean_user(locked, data, creating=False)
        if not changes:
            return False
        locked.save()
        before, after = _audit_changes(changes)
        record_audit(
            AuditActivity.UPDATE_USER,
            actor=actor,
            target=locked.user_principal_name,
            before=before,
            after=after,
            channel=channel,
        )
    user.refresh_from_db()
    return True


def _set_enabled(user: DirectoryUser, enabled: bool, *, actor, channel: str) -> bool:
    if user.deleted_at is not None:
        raise ValidationError(_("A deleted user cannot be changed; restore it first."))
    with transaction.atomic():
        changed = (
            DirectoryUser.objects.filter(pk=user.pk, account_enabled=not enabled).update(
                account_enabled=enabled, updated_at=timezone.now()
            )
            > 0
        )
        if changed:
            record_audit(
                AuditActivity.ENABLE_ACCOUNT if enabled else AuditActivity.DISABLE_ACCOUNT,
                actor=actor,
                target=user.user_principal_name,
                before={"account_enabled": not enabled},
                after={"account_enabled": enabled},
                channel=channel,
            )
    user.refresh_from_db()
    return changed


def disable_user(user: DirectoryUser, *, actor, channel: str = "portal") -> bool:
    """Block sign-in (accountEnabled false); the applications disable the accounts."""
    return _set_enabled(user, False, actor=actor, channel=channel)


def enable_user(user: DirectoryUser, *, actor, channel: str = "portal") -> bool:
    return _set_enabled(user, True, actor=actor, channel=channel)


def soft_delete_user(user: DirectoryUser, *, actor, channel: str = "portal") -> None:
    """Move the user to *Deleted users*: restorable for ``DIRECTORY_RECYCLE_BIN_DAYS`` days,
    then purged; the applications disable the accounts meanwhile (F17)."""
    if user.deleted_at is not None:
        raise ValidationError(_("The user is already deleted."))
    with transaction.atomic():
        user.soft_delete()
        record_audit(
            AuditActivity.DELETE_USER,
            actor=actor,
            target=user.user_principal_name,
            after={"deleted_at": user.deleted_at.isoformat()},
            channel=channel,
        )


def restore_user(user: DirectoryUser, *, actor, channel: str = "portal") -> None:
    if user.deleted_at is None:
        raise ValidationError(_("The user is not deleted."))
    deleted_at = user.deleted_at
    with transaction.atomic():
        try:
            user.restore()
        except ValueError as error:
            raise ValidationError(str(error)) from error
        record_audit(
            AuditActivity.RESTORE_USER,
            actor=actor,
            target=user.user_principal_name,
            before={"deleted_at": deleted_at.isoformat()},
            channel=channel,
        )


def restore_deadline(deleted_at: datetime) -> datetime:
    """When a deleted object is purged for good."""
    return deleted_at + timedelta(days=settings.DIRECTORY_RECYCLE_BIN_DAYS)


# --- groups --------------------------------------------------------------------------------------


def _clean_group(group: DirectoryGroup, data: dict, *, creating: bool) -> dict[str, tuple]:
    _unknown_fields(data, GROUP_FIELDS)
    errors: dict[str, list] = {}
    changes: dict[str, tuple] = {}
    for name, value in data.items():
        if name == "security_enabled":
            if not isinstance(value, bool):
                errors.setdefault(name, []).append(_("Must be true or false."))
                continue
        else:
            value = "" if value is None else value
            if not isinstance(value, str):
                errors.setdefault(name, []).append(_("Must be text."))
                continue
            value = value.strip()
            if "\x00" in value:
                errors.setdefault(name, []).append(_("Contains a NUL character."))
                continue
        old = getattr(group, name)
        if old != value:
            changes[name] = (old, value)
            setattr(group, name, value)
    if not group.display_name:
        errors.setdefault("display_name", []).append(_("This field is required."))
    elif "display_name" in changes:
        # The CSV import names groups by display name, so live names stay unique.
        clash = DirectoryGroup.objects.alive().filter(display_name=group.display_name)
        if not creating:
            clash = clash.exclude(pk=group.pk)
        if clash.exists():
            errors.setdefault("display_name", []).append(_("Another group already has this name."))
    try:
        group.full_clean(exclude=["id", *errors])
    except ValidationError as invalid:
        for name, messages in invalid.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return changes


def create_group(data: dict, *, actor, channel: str = "portal") -> DirectoryGroup:
    group = DirectoryGroup()
    with transaction.atomic():
        changes = _clean_group(group, data, creating=True)
        group.save()
        _before, after = _audit_changes(changes)
        record_audit(
            AuditActivity.ADD_GROUP,
            actor=actor,
            target=group.display_name,
            after={"id": str(group.pk), **after},
            channel=channel,
        )
    return group


def update_group(group: DirectoryGroup, data: dict, *, actor, channel: str = "portal") -> bool:
    if group.deleted_at is not None:
        raise ValidationError(_("A deleted group cannot be changed."))
    with transaction.atomic():
        locked = DirectoryGroup.objects.select_for_update().get(pk=group.pk)
        changes = _clean_group(locked, data, creating=False)
        if not changes:
            return False
        locked.save()
        before, after = _audit_changes(changes)
        record_audit(
            AuditActivity.UPDATE_GROUP,
            actor=actor,
            target=locked.display_name,
            before=before,
            after=after,
            channel=channel,
        )
    group.refresh_from_db()
    return True


def delete_group(group: DirectoryGroup, *, actor, channel: str = "portal") -> None:
    """Delete a group (to the recycle bin; purged after 30 days). Its members stay in the
    directory; applications remove the group (groups out of scope are deleted, F18)."""
    if group.deleted_at is not None:
        raise ValidationError(_("The group is already deleted."))
    with transaction.atomic():
        group.soft_delete()
        record_audit(
            AuditActivity.DELETE_GROUP,
            actor=actor,
            target=group.display_name,
            after={"deleted_at": group.deleted_at.isoformat()},
            channel=channel,
        )


def _contains_group(container: DirectoryGroup, candidate: DirectoryGroup) -> bool:
    """Whether ``candidate`` is ``container`` or a nested member of it (breadth first)."""
    seen = {container.pk}
    frontier = [container.pk]
    while frontier:
        if candidate.pk in seen:
            return True
        nested = set(
            GroupMembership.objects.filter(
                group_id__in=frontier, member_group__isnull=False
            ).values_list("member_group_id", flat=True)
        )
        frontier = list(nested - seen)
        seen |= nested
    return candidate.pk in seen


def add_group_member(
    group: DirectoryGroup,
    member: DirectoryUser | DirectoryGroup,
    *,
    actor,
    channel: str = "portal",
) -> GroupMembership:
    """Add a user or a group (nested) as a direct member; refuses loops and duplicates."""
    if group.deleted_at is not None:
        raise ValidationError({"group": [_("The group is deleted.")]})
    if member.deleted_at is not None:
        raise ValidationError({"member": [_("The member is deleted.")]})
    is_user = isinstance(member, DirectoryUser)
    lookup = {"member_user": member} if is_user else {"member_group": member}
    with transaction.atomic():
        if GroupMembership.objects.filter(group=group, **lookup).exists():
            raise ValidationError({"member": [_("Already a member of this group.")]})
        if not is_user and _contains_group(member, group):
            raise ValidationError(
                {"member": [_("A group cannot contain itself, directly or through its members.")]}
            )
        membership = GroupMembership.objects.create(group=group, **lookup)
        record_audit(
            AuditActivity.ADD_MEMBER,
            actor=actor,
            target=group.display_name,
            after={"member": str(member), "member_type": "user" if is_user else "group"},
            channel=channel,
        )
    return membership


def remove_group_member(
    group: DirectoryGroup,
    member: DirectoryUser | DirectoryGroup,
    *,
    actor,
    channel: str = "portal",
) -> None:
    is_user = isinstance(member, DirectoryUser)
    lookup = {"member_user": member} if is_user else {"member_group": member}
    with transaction.atomic():
        deleted, _rows = GroupMembership.objects.filter(group=group, **lookup).delete()
        if not deleted:
            raise ValidationError({"member": [_("Not a direct member of this group.")]})
        record_audit(
            AuditActivity.REMOVE_MEMBER,
            actor=actor,
            target=group.display_name,
            before={"member": str(member), "member_type": "user" if is_user else "group"},
            channel=channel,
        )


# --- the daily purge -----------------------------------------------------------------------------


def purge_deleted_directory_objects(now: datetime | None = None) -> dict[str, int]:
    """Hard-delete users and groups deleted more than ``DIRECTORY_RECYCLE_BIN_DAYS`` ago.

    The links to their accounts stay (``ProvisionedObject.source_id`` is not a foreign key), so
    the next cycle deletes the accounts in applications whose Delete action is on.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DIRECTORY_RECYCLE_BIN_DAYS)
    counts = {"users": 0, "groups": 0}
    # Uploads checked but never confirmed (or abandoned while checking) do not keep their files.
    stale = DirectoryImport.objects.filter(
        state__in=(DirectoryImportState.READY, DirectoryImportState.CHECKING),
        created_at__lt=now - STALE_IMPORT_AGE,
    )
    counts["imports"] = stale.update(state=DirectoryImportState.CANCELLED, finished_at=now)
    DirectoryImportFile.objects.filter(
        directory_import__state=DirectoryImportState.CANCELLED
    ).delete()
    for model, key, activity, label in (
        (DirectoryUser, "users", AuditActivity.HARD_DELETE_USER, "user_principal_name"),
        (DirectoryGroup, "groups", AuditActivity.HARD_DELETE_GROUP, "display_name"),
    ):
        while True:
            with transaction.atomic():
                batch = list(
                    model.objects.filter(deleted_at__lt=cutoff)
                    .order_by("deleted_at")
                    .values_list("pk", label)[:500]
                )
                if not batch:
                    break
                model.objects.filter(pk__in=[pk for pk, _name in batch]).delete()
                for pk, name in batch:
                    record_audit(
                        activity,
                        actor="system",
                        target=name,
                        before={"id": str(pk)},
                        channel="system",
                    )
                counts[key] += len(batch)
    return counts


# --- CSV import from the portal ------------------------------------------------------------------


def upload_directory_import(files: list[tuple[str, bytes]], *, actor) -> DirectoryImport:
    """Store uploaded files and queue their check (a dry run of the import) on a worker."""
    with transaction.atomic():
        upload = DirectoryImport.objects.create(
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            file_names=[name for name, _raw in files],
            # Data rows: the lines after each file's header.
            rows=sum(max(len(raw.splitlines()) - 1, 0) for _name, raw in files),
            language=translation.get_language() or "",
        )
        DirectoryImportFile.objects.bulk_create(
            DirectoryImportFile(directory_import=upload, position=i, name=name, content=raw)
            for i, (name, raw) in enumerate(files)
        )
        from ..tasks import check_directory_import

        upload_id = str(upload.pk)
        transaction.on_commit(lambda: check_directory_import.delay(upload_id))
    return upload


class ImportProgress:
    """Writes an import's progress where the page can read it while the import runs.

    The import holds one transaction until it ends, so progress goes through a database
    connection of its own, in autocommit, at most every ``INTERVAL`` seconds (and at each change
    of phase). Progress is best effort: when that write cannot happen at once — SQLite has one
    writer, and the import holds it while writing — it is skipped, never waited for.
    """

    INTERVAL = 0.25  # seconds between two progress writes of the same phase

    def __init__(self, upload_id) -> None:
        from django.db import DEFAULT_DB_ALIAS, connections

        self.upload_id = upload_id
        settings_dict = connections[DEFAULT_DB_ALIAS].settings_dict
        connection = connections[DEFAULT_DB_ALIAS].__class__(
            {
                **settings_dict,
                # SQLite: fail at once instead of waiting for the import's write lock.
                "OPTIONS": {**settings_dict.get("OPTIONS", {}), "timeout": 0}
                if settings_dict["ENGINE"].endswith("sqlite3")
                else settings_dict.get("OPTIONS", {}),
            },
            alias=f"{DEFAULT_DB_ALIAS}-import-progress",
        )
        self.connection = connection
        self.phase = ""
        self.written_at = 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        import time

        from django.db import DatabaseError

        now = time.monotonic()
        if phase == self.phase and now - self.written_at < self.INTERVAL and done < total:
            return
        table = DirectoryImport._meta.db_table
        pk = DirectoryImport._meta.pk.get_db_prep_value(self.upload_id, self.connection)
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET phase = %s, progress_done = %s, progress_total = %s "
                    "WHERE id = %s",
                    [phase, done, total, pk],
                )
        except DatabaseError:
            return  # tried again at the next report
        self.phase, self.written_at = phase, now

    def close(self) -> None:
        self.connection.close()


def _import_files(upload) -> list[tuple[str, bytes]]:
    return [(f.name, bytes(f.content)) for f in upload.files.all()]


def check_directory_import(upload_id: str) -> None:
    """The worker's first step: the all-or-nothing check, with every bad row reported."""
    upload = DirectoryImport.objects.filter(
        pk=upload_id, state=DirectoryImportState.CHECKING
    ).first()
    if upload is None:
        return
    with translation.override(upload.language or settings.LANGUAGE_CODE):
        _check_directory_import(upload)


def _check_directory_import(upload: DirectoryImport) -> None:
    from ..directory.importer import ImportRejected, import_directory

    progress = ImportProgress(upload.pk)
    try:
        report = import_directory(_import_files(upload), dry_run=True, progress=progress)
    except ImportRejected as rejected:
        DirectoryImport.objects.filter(pk=upload.pk).update(
            state=DirectoryImportState.REJECTED,
            summary=[str(rejected)],
            errors=[str(error) for error in rejected.errors],
            finished_at=timezone.now(),
        )
        upload.files.all().delete()
        return
    finally:
        progress.close()
    DirectoryImport.objects.filter(pk=upload.pk).update(
        state=DirectoryImportState.READY, summary=report.summary_lines()[:3]
    )


def confirm_directory_import(upload, *, actor, channel: str = "portal") -> bool:
    """Queue the import of checked files; False when they are not (or no longer) ready."""
    with transaction.atomic():
        claimed = DirectoryImport.objects.filter(
            pk=upload.pk, state=DirectoryImportState.READY
        ).update(state=DirectoryImportState.IMPORTING, phase="", progress_done=0, progress_total=0)
        if not claimed:
            return False
        from ..tasks import run_directory_import

        upload_id = str(upload.pk)
        actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        transaction.on_commit(lambda: run_directory_import.delay(upload_id, actor_id, channel))
    return True


def cancel_directory_import(upload) -> bool:
    cancelled = DirectoryImport.objects.filter(
        pk=upload.pk, state=DirectoryImportState.READY
    ).update(state=DirectoryImportState.CANCELLED, finished_at=timezone.now())
    upload.files.all().delete()
    return bool(cancelled)


def run_directory_import(upload_id: str, actor_id: int | None, channel: str = "portal") -> None:
    """The worker's second step: the import itself, all or nothing, with its audit event."""
    from django.contrib.auth import get_user_model

    upload = DirectoryImport.objects.filter(
        pk=upload_id, state=DirectoryImportState.IMPORTING
    ).first()
    if upload is None:
        return
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    with translation.override(upload.language or settings.LANGUAGE_CODE):
        _run_directory_import(upload, actor, channel)


def _run_directory_import(upload: DirectoryImport, actor, channel: str) -> None:
    from ..directory.importer import ImportRejected, import_directory

    progress = ImportProgress(upload.pk)
    try:
        with transaction.atomic():
            report = import_directory(_import_files(upload), progress=progress)
            record_audit(
                AuditActivity.IMPORT_DIRECTORY,
                actor=actor,
                target=", ".join(upload.file_names)[:512],
                after={
                    "users": vars(report.users),
                    "groups": vars(report.groups),
                    "memberships": vars(report.memberships),
                },
                channel=channel,
            )
    except ImportRejected as rejected:
        # The directory changed between the check and the import.
        DirectoryImport.objects.filter(pk=upload.pk).update(
            state=DirectoryImportState.REJECTED,
            summary=[str(rejected)],
            errors=[str(error) for error in rejected.errors],
            finished_at=timezone.now(),
        )
    except Exception as error:
        DirectoryImport.objects.filter(pk=upload.pk).update(
            state=DirectoryImportState.FAILED,
            summary=[_("The import failed; nothing was changed. (%(error)s)") % {"error": error}],
            finished_at=timezone.now(),
        )
        raise
    else:
        DirectoryImport.objects.filter(pk=upload.pk).update(
            state=DirectoryImportState.COMPLETED,
            summary=report.summary_lines(),
            finished_at=timezone.now(),
        )
    finally:
        progress.close()
        upload.files.all().delete()
