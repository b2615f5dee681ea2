"""The CSV format of directory import and export (F3): columns, header detection, values.

There is one file format per kind of object, told apart by the header row:

* users — ``userPrincipalName`` and ``displayName`` plus any of the optional columns of
  ``USER_COLUMNS``; a column ``extension_<name>`` holds the extension attribute ``<name>``;
* groups — ``displayName`` plus any of the optional columns of ``GROUP_COLUMNS``;
* memberships — exactly ``group,memberType,member``.

Column names are Azure's attribute names and are case-sensitive; surrounding whitespace is ignored
in headers and values. When a row updates an existing object, a column absent from the header
leaves that attribute alone and an empty cell clears it (an empty ``extension_`` cell removes the
attribute), except a boolean: its empty cell keeps the current value (a new object takes true).
Files are UTF-8 (a byte-order mark is accepted). The canonical form, which
the exporter writes, has every column in the order below, rows sorted by code point, ``\\n`` line
ends, minimal quoting and no byte-order mark.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import DirectoryGroup, DirectoryUser

EXTENSION_PREFIX = "extension_"
TRUE_VALUES = frozenset({"true", "yes", "1"})
FALSE_VALUES = frozenset({"false", "no", "0"})
LINE_TERMINATOR = "\n"

# Azure's rule for the name part of a user principal name; the domain part is a DNS name.
_UPN_PATTERN = re.compile(
    r"^[A-Za-z0-9'.\-_!#^~]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?$"
)


class FileKind(models.TextChoices):
    USERS = "users", gettext_lazy("users")
    GROUPS = "groups", gettext_lazy("groups")
    MEMBERSHIPS = "memberships", gettext_lazy("memberships")


class ValueKind(models.TextChoices):
    TEXT = "text"
    EMAIL = "email"
    BOOLEAN = "boolean"
    USER_PRINCIPAL_NAME = "upn"


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: ValueKind = ValueKind.TEXT
    required: bool = False

    def max_length(self, model: type[models.Model]) -> int | None:
        """The model field's limit (``manager`` is a user principal name, so it has that one)."""
        field = "user_principal_name" if self.field == "manager" else self.field
        return model._meta.get_field(field).max_length


# Canonical order: the order of the export and of the design's attribute list.
USER_COLUMNS: tuple[Column, ...] = (
    Column("userPrincipalName", "user_principal_name", ValueKind.USER_PRINCIPAL_NAME, True),
    Column("displayName", "display_name", required=True),
    Column("mail", "mail", ValueKind.EMAIL),
    Column("givenName", "given_name"),
    Column("surname", "surname"),
    Column("jobTitle", "job_title"),
    Column("department", "department"),
    Column("employeeId", "employee_id"),
    Column("mobile", "mobile"),
    Column("country", "country"),
    Column("preferredLanguage", "preferred_language"),
    Column("manager", "manager", ValueKind.USER_PRINCIPAL_NAME),
    Column("accountEnabled", "account_enabled", ValueKind.BOOLEAN),
)
GROUP_COLUMNS: tuple[Column, ...] = (
    Column("displayName", "display_name", required=True),
    Column("mail", "mail", ValueKind.EMAIL),
    Column("mailNickname", "mail_nickname"),
    Column("description", "description"),
    Column("securityEnabled", "security_enabled", ValueKind.BOOLEAN),
)
MEMBERSHIP_HEADER: tuple[str, ...] = ("group", "memberType", "member")
MEMBER_TYPES = ("user", "group")

MODEL_OF_KIND: dict[str, type[models.Model]] = {
    FileKind.USERS: DirectoryUser,
    FileKind.GROUPS: DirectoryGroup,
}
_COLUMNS_OF_KIND = {FileKind.USERS: USER_COLUMNS, FileKind.GROUPS: GROUP_COLUMNS}


class FormatError(Exception):
    """A problem with a whole file (encoding, header, CSV syntax), at ``line`` of the file."""

    def __init__(self, message: str, line: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Header:
    kind: FileKind
    names: tuple[str, ...]

    def column(self, name: str) -> Column | None:
        """The column definition of ``name`` (``None`` for memberships and extensions)."""
        for column in _COLUMNS_OF_KIND.get(self.kind, ()):
            if column.header == name:
                return column
        return None


def decode(raw: bytes) -> str:
    """Decode UTF-8 (with or without a byte-order mark), naming where the first bad byte is."""
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise FormatError(
            _("the file is not valid UTF-8: byte 0x%(byte)02X at byte offset %(offset)d")
            % {"byte": raw[error.start], "offset": error.start},
            line=line,
        ) from error


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """A leading apostrophe before text a spreadsheet would run as a formula (and before text
    that already starts with apostrophes then such a character, so that the import's
    ``restore_cell`` gives back exactly the value)."""
    if value.lstrip("'").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def restore_cell(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def read_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number where the record starts, cells)``, skipping blank lines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FormatError(
                _("the file is not valid CSV: %(error)s") % {"error": error}, line=line
            ) from error
        if cells:
            yield line, [restore_cell(cell) for cell in cells]


def detect_header(cells: list[str]) -> Header:
    """Tell the kind of file from its header row, rejecting unknown or repeated columns."""
    names = tuple(cell.strip() for cell in cells)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FormatError(
            _("repeated column(s) in the header: %(names)s") % {"names": ", ".join(repeated)}
        )
    if names == MEMBERSHIP_HEADER:
        return Header(FileKind.MEMBERSHIPS, names)
    if set(names) & set(MEMBERSHIP_HEADER):
        raise FormatError(
            _("a memberships file's header must be exactly %(header)s")
            % {"header": ",".join(MEMBERSHIP_HEADER)}
        )
    if "userPrincipalName" in names:
        kind = FileKind.USERS
    elif "displayName" in names:
        kind = FileKind.GROUPS
    else:
        raise FormatError(
            _(
                "cannot tell the kind of file from the header: users need userPrincipalName and "
                "displayName, groups need displayName, memberships need %(header)s"
            )
            % {"header": ",".join(MEMBERSHIP_HEADER)}
        )
    known = {column.header for column in _COLUMNS_OF_KIND[kind]}
    missing = [
        column.header
        for column in _COLUMNS_OF_KIND[kind]
        if column.required and column.header not in names
    ]
    if missing:
        raise FormatError(
            _("the header of a %(kind)s file lacks the column(s) %(names)s")
            % {"kind": kind.label, "names": ", ".join(missing)}
        )
    unknown = [
        name
        for name in names
        if name not in known
        and not (kind == FileKind.USERS and _EXTENSION_NAME.fullmatch(extension_name(name)))
    ]
    if unknown:
        raise FormatError(
            _("unknown column(s) in the header of a %(kind)s file: %(names)s")
            % {"kind": kind.label, "names": ", ".join(_describe_unknown(name) for name in unknown)}
        )
    return Header(kind, names)


def _describe_unknown(name: str) -> str:
    """``'name'``, with the column meant when only the case is wrong (names are case-sensitive)."""
    known = [column.header for columns in _COLUMNS_OF_KIND.values() for column in columns]
    meant = next(
        (header for header in known + list(MEMBERSHIP_HEADER) if header.lower() == name.lower()),
        None,
    )
    return f"{name!r} ({meant}?)" if meant else repr(name)


# Azure AD's limit for a string directory extension; a longer value is refused on import.
EXTENSION_MAX_LENGTH = 256
_EXTENSION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")


def extension_value_problem(value: str) -> str | None:
    """Why an extension attribute's cell cannot be imported, or None."""
    from ..security.text import unsafe_character, unsafe_character_message

    unsafe = unsafe_character(value)
    if unsafe is not None:
        return unsafe_character_message(unsafe)
    if len(value) > EXTENSION_MAX_LENGTH:
        return _("is %(length)d characters long; at most %(max)d are allowed") % {
            "length": len(value),
            "max": EXTENSION_MAX_LENGTH,
        }
    return None


def extension_name(header: str) -> str:
    """``"extension_costCenter"`` → ``"costCenter"``; ``""`` for any other column."""
    if header.startswith(EXTENSION_PREFIX):
        return header[len(EXTENSION_PREFIX) :]
    return ""


def parse_boolean(value: str) -> bool | None:
    """``true/yes/1`` and ``false/no/0`` (any case); ``None`` for anything else."""
    value = value.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    return None


def format_boolean(value: bool) -> str:
    return "true" if value else "false"


def is_user_principal_name(value: str) -> bool:
    return bool(_UPN_PATTERN.match(value))


def user_header(extension_names: list[str]) -> list[str]:
    """The canonical users header: the fixed columns, then the extensions sorted by name."""
    return [column.header for column in USER_COLUMNS] + [
        EXTENSION_PREFIX + name for name in sorted(extension_names)
    ]


def group_header() -> list[str]:
    return [column.header for column in GROUP_COLUMNS]


def csv_writer(stream: io.TextIOBase):
    """A writer of the canonical form (open ``stream`` with ``newline=""``)."""
    return csv.writer(stream, lineterminator=LINE_TERMINATOR, quoting=csv.QUOTE_MINIMAL)
