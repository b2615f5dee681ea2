"""Export of the directory to CSV files in the import format (F3).

``export_directory`` writes ``users.csv``, ``groups.csv`` and ``memberships.csv`` in the canonical
form of ``provisioning.directory.csv_format``: every column, rows sorted by code point, so that
importing an export into an empty directory reproduces the data and exporting an import of
canonical files reproduces them byte for byte. Only live objects are exported: a membership whose
group or member is in the recycle bin is left out, and so is a manager in the recycle bin.

Extension attributes are exported as text (the import stores text); group display names are
the key of the groups and memberships files, so a directory whose live groups share a display name
exports files that the import rejects as ambiguous.

A text cell a spreadsheet would run as a formula (``=cmd|…``, ``+…``, ``-…``, ``@…``, tab, carriage
return) is written with a leading apostrophe; the import takes it off again, so the round trip
still reproduces the data.
"""

import json
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.functions import Coalesce, Collate

from ..models import DirectoryGroup, DirectoryUser, GroupMembership
from .csv_format import (
    GROUP_COLUMNS,
    MEMBERSHIP_HEADER,
    USER_COLUMNS,
    csv_writer,
    format_boolean,
    group_header,
    neutralise_cell,
    user_header,
)

CHUNK_SIZE = 2000


def export_directory(output_dir: Path) -> dict[str, int]:
    """Write the three files into ``output_dir``; return the number of rows of each."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if connection.in_atomic_block:
        return _export(output_dir)  # the caller's transaction decides what is seen
    # One snapshot for the three files, so no membership names a user the users file lacks.
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _export(output_dir)


def _export(output_dir: Path) -> dict[str, int]:
    return {
        "users": _export_users(output_dir / "users.csv"),
        "groups": _export_groups(output_dir / "groups.csv"),
        "memberships": _export_memberships(output_dir / "memberships.csv"),
    }


def _binary(expression):
    """Order by code point whatever the database's collation, so files are the same everywhere."""
    return Collate(expression, "C" if connection.vendor == "postgresql" else "BINARY")


def _cells(row) -> list:
    """Formula-looking text cells neutralised (see ``csv_format.neutralise_cell``)."""
    return [neutralise_cell(value) if isinstance(value, str) else value for value in row]


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _export_users(path: Path) -> int:
    users = DirectoryUser.objects.alive()
    extension_names: set[str] = set()
    for attributes in users.values_list("extension_attributes", flat=True).iterator(
        chunk_size=CHUNK_SIZE
    ):
        extension_names.update(attributes or {})
    extensions = sorted(extension_names)
    fields = [
        column.field
        for column in USER_COLUMNS
        if column.field not in ("manager", "account_enabled")
    ]
    rows = users.order_by(_binary("user_principal_name"), "id").values_list(
        *fields,
        "manager__user_principal_name",
        "manager__deleted_at",
        "account_enabled",
        "extension_attributes",
    )
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv_writer(stream)
        writer.writerow(user_header(extensions))
        for *values, manager, manager_deleted_at, account_enabled, attributes in rows.iterator(
            chunk_size=CHUNK_SIZE
        ):
            attributes = attributes or {}
            writer.writerow(
                _cells(
                    [
                        *values,
                        manager if manager and manager_deleted_at is None else "",
                        format_boolean(account_enabled),
                        *(
                            _text(attributes[name]) if name in attributes else ""
                            for name in extensions
                        ),
                    ]
                )
            )
            count += 1
    return count


def _export_groups(path: Path) -> int:
    fields = [column.field for column in GROUP_COLUMNS]
    rows = (
        DirectoryGroup.objects.alive()
        .order_by(_binary("display_name"), "id")
        .values_list(*fields)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv_writer(stream)
        writer.writerow(group_header())
        for *values, security_enabled in rows:
            writer.writerow(_cells([*values, format_boolean(security_enabled)]))
            count += 1
    return count


def _export_memberships(path: Path) -> int:
    rows = (
        GroupMembership.objects.filter(group__deleted_at__isnull=True)
        .filter(
            Q(member_user__isnull=False, member_user__deleted_at__isnull=True)
            | Q(member_group__isnull=False, member_group__deleted_at__isnull=True)
        )
        .annotate(
            member_type=Case(
                When(member_user__isnull=False, then=Value("user")),
                default=Value("group"),
                output_field=CharField(),
            ),
            member=Coalesce(F("member_user__user_principal_name"), F("member_group__display_name")),
        )
        .order_by(_binary("group__display_name"), "member_type", _binary("member"), "id")
        .values_list("group__display_name", "member_type", "member")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    count = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv_writer(stream)
        writer.writerow(MEMBERSHIP_HEADER)
        for row in rows:
            writer.writerow(_cells(row))
            count += 1
    return count
