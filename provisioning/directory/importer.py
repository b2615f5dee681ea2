"""Bulk import of users, groups and memberships from CSV files (F3).

An import is all or nothing: every file is decoded, parsed and checked against the directory
before the first write, and every problem found is reported at once (file, line, column, why) in
an ``ImportRejected``. Only then are the changes written, in one transaction, with bulk inserts
and updates. Users are matched by userPrincipalName (case-insensitively) and groups by display
name, so importing the same files again changes nothing; unchanged objects are not written at
all, because the change-log triggers would record every UPDATE as a change for the next cycle.
An import adds and updates; it never deletes users, groups or memberships.

The format of the files is described in ``provisioning.directory.csv_format``.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import DirectoryGroup, DirectoryUser, GroupMembership
from ..security.text import unsafe_character, unsafe_character_message
from .csv_format import (
    MODEL_OF_KIND,
    Column,
    FileKind,
    FormatError,
    Header,
    ValueKind,
    decode,
    detect_header,
    extension_name,
    extension_value_problem,
    is_user_principal_name,
    parse_boolean,
    read_rows,
)

CREATE_BATCH_SIZE = 1000
UPDATE_BATCH_SIZE = 500
LOOKUP_CHUNK_SIZE = 2000

_validate_email = EmailValidator()


@dataclass(frozen=True)
class RowError:
    """One reason to reject an import: ``line`` counts the header as line 1 (0: not a line)."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        values = {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }
        if self.line and self.column:
            return _("%(file)s, line %(line)d, column %(column)s: %(message)s") % values
        if self.line:
            return _("%(file)s, line %(line)d: %(message)s") % values
        if self.file:
            return _("%(file)s: %(message)s") % values
        return self.message


class ImportRejected(Exception):
    """The files were rejected as a whole; nothing was changed."""

    def __init__(self, errors: list[RowError]):
        self.errors = list(errors)
        super().__init__(
            ngettext(
                "The import was rejected (%(count)d error); nothing was changed.",
                "The import was rejected (%(count)d errors); nothing was changed.",
                len(self.errors),
            )
            % {"count": len(self.errors)}
        )

    def report_lines(self) -> list[str]:
        return [str(self)] + [str(error) for error in self.errors]


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    users: KindCounts = field(default_factory=KindCounts)
    groups: KindCounts = field(default_factory=KindCounts)
    memberships: KindCounts = field(default_factory=KindCounts)
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        lines = [
            _("Users: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % vars(self.users),
            _("Groups: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % vars(self.groups),
            _("Memberships: %(created)d created, %(unchanged)d unchanged.")
            % vars(self.memberships),
        ]
        if self.dry_run:
            lines.append(_("Dry run: nothing was changed."))
        return lines


# Phases of an import as ``progress`` reports them (``models.DirectoryImportPhase`` names them).
PHASE_READING = "reading"  # rows read and checked one by one: done/total rows
PHASE_RESOLVING = "resolving"  # references checked against the directory: one step
PHASE_WRITING = "writing"  # objects written: done/total objects
PROGRESS_EVERY = 1000  # rows or objects between two progress reports

Progress = Callable[[str, int, int], None]


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def import_directory(
    files: list[tuple[str, bytes]], dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Import CSV files given as ``(name, raw bytes)``, all of them or nothing.

    Raises ``ImportRejected`` listing every bad row; with ``dry_run`` the files are checked and
    counted but nothing is written. ``progress(phase, done, total)`` is called every
    ``PROGRESS_EVERY`` rows or objects (it must not write through the import's transaction).
    """
    if dry_run:
        return _DirectoryImport(files, dry_run=True, progress=progress).run()
    try:
        with transaction.atomic():
            return _DirectoryImport(files, dry_run=False, progress=progress).run()
    except IntegrityError as error:
        # Validation saw a consistent directory; only a concurrent writer can get here.
        raise ImportRejected(
            [
                RowError(
                    "",
                    0,
                    "",
                    _("The directory changed during the import; try again. (%(error)s)")
                    % {"error": error},
                )
            ]
        ) from error


# --- parsed rows ---------------------------------------------------------------------------------


@dataclass
class _UserRow:
    file: str
    line: int
    key: str
    values: dict[str, str]
    account_enabled: bool | None
    manager: str | None  # None: no manager column; "": no manager
    extensions: dict[str, str]  # "" removes the attribute


@dataclass
class _GroupRow:
    file: str
    line: int
    values: dict[str, str]
    security_enabled: bool | None


@dataclass
class _MembershipRow:
    file: str
    line: int
    group: str
    member_type: str
    member: str


class _Unresolved(Exception):
    pass


def _chunks(items: Iterable, size: int = LOOKUP_CHUNK_SIZE) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _apply(obj, values: dict) -> set[str]:
    """Set the values that differ on ``obj``; return the names of the fields that changed."""
    changed = set()
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.add(name)
    return changed


class _DirectoryImport:
    def __init__(self, files: list[tuple[str, bytes]], dry_run: bool, progress=None):
        self.files = files
        self.progress: Progress = progress or _no_progress
        # Data lines (after each header): the total of the reading phase.
        self.total_rows = sum(max(len(raw.splitlines()) - 1, 0) for _name, raw in files)
        self.rows_read = 0
        self.report = ImportReport(dry_run=dry_run)
        self.errors: list[RowError] = []
        self.malformed = False
        self.user_rows: list[_UserRow] = []
        self.group_rows: list[_GroupRow] = []
        self.membership_rows: list[_MembershipRow] = []
        # Every key given in the files, valid row or not, with where it was first given: a
        # reference to a bad row is not reported again as "unknown".
        self.user_lines: dict[str, tuple[str, int]] = {}
        self.group_lines: dict[str, tuple[str, int]] = {}
        self.membership_lines: dict[tuple[str, str, str], tuple[str, int]] = {}

    def error(self, file: str, line: int, column: str, message: str) -> None:
        self.errors.append(RowError(file, line, column, message))

    def run(self) -> ImportReport:
        self.progress(PHASE_READING, 0, self.total_rows)
        for name, raw in self.files:
            self.read_file(name, raw)
        if not self.malformed:
            # Cross-references can only be checked when every file could be read.
            self.resolve()
        if self.errors:
            file_order = {name: index for index, (name, _raw) in enumerate(self.files)}
            self.errors.sort(key=lambda error: (file_order.get(error.file, -1), error.line))
            raise ImportRejected(self.errors)
        if not self.report.dry_run:
            self.write()
        return self.report

    # --- reading and checking each row on its own -------------------------------------------

    def read_file(self, name: str, raw: bytes) -> None:
        try:
            rows = read_rows(decode(raw))
            first = next(rows, None)
            if first is None:
                raise FormatError(_("the file is empty"))
            header = detect_header(first[1])
            for line, cells in rows:
                self.rows_read += 1
                if self.rows_read % PROGRESS_EVERY == 0:
                    self.progress(
                        PHASE_READING, self.rows_read, max(self.total_rows, self.rows_read)
                    )
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header.names):
                    self.error(
                        name,
                        line,
                        "",
                        _("the row has %(cells)d cells but the header has %(columns)d")
                        % {"cells": len(cells), "columns": len(header.names)},
                    )
                    continue
                values = {
                    column: cell.strip() for column, cell in zip(header.names, cells, strict=True)
                }
                self.read_row(header, name, line, values)
        except FormatError as error:
            self.malformed = True
            self.error(name, error.line, "", error.message)

    def read_row(self, header: Header, file: str, line: int, values: dict[str, str]) -> None:
        if header.kind == FileKind.USERS:
            self.read_user(header, file, line, values)
        elif header.kind == FileKind.GROUPS:
            self.read_group(header, file, line, values)
        else:
            self.read_membership(file, line, values)

    def check_value(self, kind: FileKind, column: Column, file: str, line: int, value: str):
        """The parsed value of a cell, or ``_Unresolved`` after recording why it is bad."""
        message = None
        max_length = column.max_length(MODEL_OF_KIND[kind])
        unsafe = unsafe_character(value)
        if unsafe is not None:
            message = unsafe_character_message(unsafe)
        elif column.required and not value:
            message = _("a value is required")
        elif max_length and len(value) > max_length:
            message = _("is %(length)d characters long; at most %(max)d are allowed") % {
                "length": len(value),
                "max": max_length,
            }
        elif value and column.kind == ValueKind.EMAIL:
            try:
                _validate_email(value)
            except ValidationError:
                message = _("%(value)s is not a valid e-mail address") % {"value": value}
        elif value and column.kind == ValueKind.USER_PRINCIPAL_NAME:
            if not is_user_principal_name(value):
                message = _(
                    "%(value)s is not a valid user principal name (name@domain; the name may use "
                    "letters, digits and ' . - _ ! # ^ ~)"
                ) % {"value": value}
        elif value and column.kind == ValueKind.BOOLEAN:
            parsed = parse_boolean(value)
            if parsed is None:
                message = _("%(value)s is not true/false, yes/no or 1/0") % {"value": value}
            else:
                return parsed
        if message:
            self.error(file, line, column.header, message)
            raise _Unresolved
        if column.kind == ValueKind.BOOLEAN:
            return None  # empty: keep the current value (a new object takes the default)
        return value

    def check_duplicate(
        self, seen: dict, key, file: str, line: int, column: str, message: str, **values
    ) -> bool:
        """Record where ``key`` is first given; report a later row giving it again."""
        first = seen.setdefault(key, (file, line))
        if first == (file, line):
            return False
        self.error(file, line, column, message % {**values, "file": first[0], "line": first[1]})
        return True

    def read_user(self, header: Header, file: str, line: int, values: dict[str, str]) -> None:
        upn = values["userPrincipalName"]
        if upn and self.check_duplicate(
            self.user_lines,
            upn.lower(),
            file,
            line,
            "userPrincipalName",
            _("duplicate userPrincipalName %(upn)s, first given on line %(line)d of %(file)s"),
            upn=upn,
        ):
            return
        row = _UserRow(file, line, upn.lower(), {}, None, None, {})
        for name, value in values.items():
            column = header.column(name)
            if column is None:  # an extension attribute
                problem = extension_value_problem(value)
                if problem:
                    self.error(file, line, name, problem)
                    continue
                row.extensions[extension_name(name)] = value
                continue
            try:
                parsed = self.check_value(FileKind.USERS, column, file, line, value)
            except _Unresolved:
                continue
            if column.field == "manager":
                row.manager = parsed
            elif column.field == "account_enabled":
                row.account_enabled = parsed
            else:
                row.values[column.field] = parsed
        # A row with a bad cell still has its references checked, to report every problem at
        # once; it can be matched only by a valid userPrincipalName.
        if "user_principal_name" in row.values:
            self.user_rows.append(row)

    def read_group(self, header: Header, file: str, line: int, values: dict[str, str]) -> None:
        name = values["displayName"]
        if name and self.check_duplicate(
            self.group_lines,
            name,
            file,
            line,
            "displayName",
            _("duplicate group %(name)s, first given on line %(line)d of %(file)s"),
            name=name,
        ):
            return
        row = _GroupRow(file, line, {}, None)
        for column_name, value in values.items():
            column = header.column(column_name)
            try:
                parsed = self.check_value(FileKind.GROUPS, column, file, line, value)
            except _Unresolved:
                continue
            if column.field == "security_enabled":
                row.security_enabled = parsed
            else:
                row.values[column.field] = parsed
        if "display_name" in row.values:
            self.group_rows.append(row)

    def read_membership(self, file: str, line: int, values: dict[str, str]) -> None:
        group, member_type, member = values["group"], values["memberType"].lower(), values["member"]
        valid = True
        for column in ("group", "member"):
            if not values[column]:
                self.error(file, line, column, _("a value is required"))
                valid = False
            elif (unsafe := unsafe_character(values[column])) is not None:
                self.error(file, line, column, unsafe_character_message(unsafe))
                valid = False
        if member_type not in ("user", "group"):
            self.error(
                file,
                line,
                "memberType",
                _("%(value)s is not a member type: use user or group")
                % {"value": values["memberType"]},
            )
            valid = False
        elif member_type == "group" and group and group == member:
            self.error(file, line, "member", _("a group cannot be a member of itself"))
            valid = False
        elif member_type == "user" and valid and not is_user_principal_name(member):
            self.error(
                file,
                line,
                "member",
                _("%(value)s is not a valid user principal name") % {"value": member},
            )
            valid = False
        if not valid:
            return
        member_key = member.lower() if member_type == "user" else member
        if self.check_duplicate(
            self.membership_lines,
            (group, member_type, member_key),
            file,
            line,
            "member",
            _("duplicate membership, first given on line %(line)d of %(file)s"),
        ):
            return
        self.membership_rows.append(_MembershipRow(file, line, group, member_type, member))

    # --- resolving references against the files and the directory ---------------------------

    def resolve(self) -> None:
        # Progress: the two lookups, then every row.
        self.resolved = 0
        self.to_resolve = 2 + len(self.group_rows) + len(self.user_rows) + len(self.membership_rows)
        self.progress(PHASE_RESOLVING, 0, self.to_resolve)
        self.existing_users = self.fetch_users()
        self.resolve_step()
        self.existing_groups = self.fetch_groups()
        self.resolve_step()
        self.file_groups: dict[str, DirectoryGroup | None] = {}
        self.file_users: dict[str, DirectoryUser | None] = {}
        self.resolve_groups()
        self.resolve_users()
        self.resolve_memberships()

    def resolve_step(self) -> None:
        self.resolved += 1
        if self.resolved <= 2 or self.resolved % PROGRESS_EVERY == 0:  # the lookups, then rows
            self.progress(PHASE_RESOLVING, self.resolved, self.to_resolve)

    def fetch_users(self) -> dict[str, list[DirectoryUser]]:
        # Only well-formed keys: a bad one (already reported) could not even be sent as a parameter.
        keys = {key for key in self.user_lines if is_user_principal_name(key)}
        keys.update(row.manager.lower() for row in self.user_rows if row.manager)
        keys.update(row.member.lower() for row in self.membership_rows if row.member_type == "user")
        found: dict[str, list[DirectoryUser]] = {}
        for chunk in _chunks(sorted(keys)):
            # UPNs are ASCII (see csv_format), so SQL LOWER() agrees with str.lower() everywhere.
            users = DirectoryUser.objects.annotate(upn_key=Lower("user_principal_name")).filter(
                upn_key__in=chunk
            )
            for user in users:
                found.setdefault(user.upn_key, []).append(user)
        return found

    def fetch_groups(self) -> dict[str, list[DirectoryGroup]]:
        names = set(self.group_lines)
        names.update(row.group for row in self.membership_rows)
        names.update(row.member for row in self.membership_rows if row.member_type == "group")
        names = {name for name in names if "\x00" not in name}
        found: dict[str, list[DirectoryGroup]] = {}
        for chunk in _chunks(sorted(names)):
            for group in DirectoryGroup.objects.filter(display_name__in=chunk).order_by(
                "created_at", "id"
            ):
                found.setdefault(group.display_name, []).append(group)
        return found

    @staticmethod
    def pick(candidates: list, what: str):
        """The one live object among ``candidates``, ``None`` if there is none at all."""
        live = [obj for obj in candidates if obj.deleted_at is None]
        if len(live) > 1:
            raise _Unresolved(
                _("%(what)s is ambiguous: %(count)d objects in the directory have that name")
                % {"what": what, "count": len(live)}
            )
        if live:
            return live[0]
        if candidates:
            raise _Unresolved(_("%(what)s is in the recycle bin") % {"what": what})
        return None

    def resolve_groups(self) -> None:
        counts = self.report.groups
        self.new_groups: list[DirectoryGroup] = []
        self.changed_groups: list[DirectoryGroup] = []
        self.changed_group_fields: set[str] = set()
        for row in self.group_rows:
            self.resolve_step()
            name = row.values["display_name"]
            self.file_groups[name] = None
            try:
                group = self.pick(
                    self.existing_groups.get(name, []), _("group %(name)s") % {"name": name}
                )
            except _Unresolved as problem:
                self.error(row.file, row.line, "displayName", str(problem))
                continue
            values = dict(row.values)
            if row.security_enabled is not None:
                values["security_enabled"] = row.security_enabled
            if group is None:
                group = DirectoryGroup(**values)
                self.new_groups.append(group)
                counts.created += 1
            elif changed := _apply(group, values):
                self.changed_groups.append(group)
                self.changed_group_fields |= changed
                counts.updated += 1
            else:
                counts.unchanged += 1
            self.file_groups[name] = group

    def resolve_users(self) -> None:
        # Pass 1: match or create every row, so that pass 2 can point managers at any of them.
        matched: list[tuple[_UserRow, DirectoryUser, bool, set[str]]] = []
        for row in self.user_rows:
            self.resolve_step()
            upn = row.values["user_principal_name"]
            self.file_users[row.key] = None
            candidates = self.existing_users.get(row.key, [])
            try:
                user = self.pick(candidates, _("user %(upn)s") % {"upn": upn})
                if user is not None and any(
                    other.deleted_at and other.user_principal_name == upn for other in candidates
                ):
                    raise _Unresolved(_("user %(upn)s is in the recycle bin") % {"upn": upn})
            except _Unresolved as problem:
                self.error(row.file, row.line, "userPrincipalName", str(problem))
                continue
            values = dict(row.values)
            if row.account_enabled is not None:
                values["account_enabled"] = row.account_enabled
            if user is None:
                extensions = {name: value for name, value in row.extensions.items() if value}
                user = DirectoryUser(**values, extension_attributes=extensions)
                matched.append((row, user, True, set()))
            else:
                changed = _apply(user, values)
                extensions = dict(user.extension_attributes or {})
                for name, value in row.extensions.items():
                    if value:
                        extensions[name] = value
                    else:
                        extensions.pop(name, None)
                if extensions != (user.extension_attributes or {}):
                    user.extension_attributes = extensions
                    changed.add("extension_attributes")
                matched.append((row, user, False, changed))
            self.file_users[row.key] = user

        # Pass 2: managers, which may come later in the files or already be in the directory.
        counts = self.report.users
        self.new_users: list[DirectoryUser] = []
        self.changed_users: list[DirectoryUser] = []
        self.changed_user_fields: set[str] = set()
        for row, user, is_new, changed in matched:
            if row.manager is not None:
                try:
                    manager = self.resolve_user_reference(row.manager, row.key, _("manager"))
                except _Unresolved as problem:
                    self.error(row.file, row.line, "manager", str(problem))
                    continue
                manager_id = manager.pk if manager is not None else None
                if user.manager_id != manager_id:
                    user.manager_id = manager_id
                    changed.add("manager")
            if is_new:
                self.new_users.append(user)
                counts.created += 1
            elif changed:
                self.changed_users.append(user)
                self.changed_user_fields |= changed
                counts.updated += 1
            else:
                counts.unchanged += 1

    def resolve_user_reference(
        self, upn: str, referrer_key: str | None, role: str
    ) -> DirectoryUser | None:
        """The user a manager or member cell names; ``None`` for an empty cell or a bad row."""
        if not upn:
            return None
        key = upn.lower()
        if key == referrer_key:
            raise _Unresolved(_("a user cannot be their own manager"))
        what = _("%(role)s %(upn)s") % {"role": role, "upn": upn}
        if key in self.user_lines:
            return self.file_users.get(key)  # a bad row in the files has been reported already
        user = self.pick(self.existing_users.get(key, []), what)
        if user is None:
            raise _Unresolved(_("%(what)s does not exist") % {"what": what})
        return user

    def resolve_group_reference(self, name: str, role: str) -> DirectoryGroup | None:
        what = _("%(role)s %(name)s") % {"role": role, "name": name}
        if name in self.group_lines:
            return self.file_groups.get(name)
        group = self.pick(self.existing_groups.get(name, []), what)
        if group is None:
            raise _Unresolved(_("%(what)s does not exist") % {"what": what})
        return group

    def resolve_memberships(self) -> None:
        resolved = []
        for row in self.membership_rows:
            self.resolve_step()
            try:
                group = self.resolve_group_reference(row.group, _("group"))
            except _Unresolved as problem:
                self.error(row.file, row.line, "group", str(problem))
                group = None
            try:
                if row.member_type == "user":
                    member = self.resolve_user_reference(row.member, None, _("user"))
                else:
                    member = self.resolve_group_reference(row.member, _("group"))
            except _Unresolved as problem:
                self.error(row.file, row.line, "member", str(problem))
                continue
            if group is not None and member is not None:
                resolved.append((group, row.member_type, member))

        existing_group_ids = {
            group.pk for group, _type, _member in resolved if not group._state.adding
        }
        existing = set()
        for chunk in _chunks(sorted(existing_group_ids)):
            memberships = GroupMembership.objects.filter(group_id__in=chunk).values_list(
                "group_id", "member_user_id", "member_group_id"
            )
            for group_id, user_id, member_group_id in memberships:
                if user_id is not None:
                    existing.add((group_id, "user", user_id))
                else:
                    existing.add((group_id, "group", member_group_id))

        counts = self.report.memberships
        self.new_memberships: list[GroupMembership] = []
        for group, member_type, member in resolved:
            if (group.pk, member_type, member.pk) in existing:
                counts.unchanged += 1
                continue
            membership = GroupMembership(group=group)
            if member_type == "user":
                membership.member_user = member
            else:
                membership.member_group = member
            self.new_memberships.append(membership)
            counts.created += 1

    # --- writing ------------------------------------------------------------------------------

    def write(self) -> None:
        """Write what changed, in bulk; the caller holds the transaction.

        Objects go in slices of ``PROGRESS_EVERY`` so that progress moves while they are written.
        """
        now = timezone.now()
        self.written = 0
        self.to_write = (
            len(self.new_groups)
            + len(self.changed_groups)
            + len(self.new_users)
            + len(self.changed_users)
            + len(self.new_memberships)
        )
        self.progress(PHASE_WRITING, 0, self.to_write)
        self.bulk_create(DirectoryGroup, self.new_groups)
        self.bulk_update(DirectoryGroup, self.changed_groups, self.changed_group_fields, now)
        # Managers may point at users created in the same batch or a later one: foreign keys are
        # checked at commit (Django creates them DEFERRABLE INITIALLY DEFERRED).
        self.bulk_create(DirectoryUser, self.new_users)
        self.bulk_update(DirectoryUser, self.changed_users, self.changed_user_fields, now)
        self.bulk_create(GroupMembership, self.new_memberships)

    def wrote(self, count: int) -> None:
        self.written += count
        self.progress(PHASE_WRITING, self.written, self.to_write)

    def bulk_create(self, model, objects: list) -> None:
        for start in range(0, len(objects), PROGRESS_EVERY):
            batch = objects[start : start + PROGRESS_EVERY]
            model.objects.bulk_create(batch, batch_size=CREATE_BATCH_SIZE)
            self.wrote(len(batch))

    def bulk_update(self, model, objects: list, fields: set[str], now) -> None:
        for obj in objects:
            obj.updated_at = now  # bulk_update does not apply auto_now
        for start in range(0, len(objects), PROGRESS_EVERY):
            batch = objects[start : start + PROGRESS_EVERY]
            model.objects.bulk_update(
                batch, sorted(fields | {"updated_at"}), batch_size=UPDATE_BATCH_SIZE
            )
            self.wrote(len(batch))
