"""Directory > Users search: a prefix of the names, UPN or mail, or an employee id, by an index on
both databases, with the same matches on both.

A user matches when the lower-cased display name, given name, surname, user principal name or mail
starts with the lower-cased text, or when the employee id equals the text (as Azure's Users list).

- PostgreSQL: ``LOWER(column) LIKE 'text%'`` over an index on ``LOWER(column) text_pattern_ops``
  per column (migration 0011), combined by a BitmapOr.
- SQLite: its ``LOWER()`` folds ASCII only and its ``LIKE`` cannot use an index on an expression,
  so each connection gets ``portal_lower()`` (Python's ``str.lower``, as PostgreSQL's ``LOWER``
  for the letters of names, and deterministic, so SQLite may index it), an index on
  ``portal_lower(column)`` per column, and the prefix is asked as a range (``>= 'text'`` and
  ``< 'texu'``: in SQLite's binary collation exactly the strings starting with ``text``), in a
  subquery of its own so that SQLite unions the ranges by index (its OR optimisation). The indexes are (re)created after every
  ``migrate`` (``post_migrate``): Django does not know them, and a table rebuild by a later
  migration would drop them. A connection without ``portal_lower()`` (the ``sqlite3`` shell) can
  read the table but not write names into it.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import F, Func, Q, QuerySet
from django.db.models.functions import Lower

PREFIX_SEARCHED = ("display_name", "given_name", "surname", "user_principal_name", "mail")
SQLITE_LOWER = "portal_lower"
USER_TABLE = "provisioning_directoryuser"


def fold(value):
    """``portal_lower()``: the lower case of a text, ``NULL`` stays ``NULL``."""
    return value.lower() if isinstance(value, str) else value


def install_sqlite_lower(sender, connection, **kwargs) -> None:
    """``connection_created``: give every SQLite connection ``portal_lower()``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_LOWER, 1, fold, deterministic=True)


def create_sqlite_search_indexes(sender=None, using: str = "default", **kwargs) -> None:
    """``post_migrate``: the SQLite indexes of the search, when missing."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        if USER_TABLE not in connection.introspection.table_names(cursor):
            return
        for column in PREFIX_SEARCHED:
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS user_fold_{column} "
                f"ON {USER_TABLE} ({SQLITE_LOWER}({column}))"
            )


class SearchLower(Func):
    """``LOWER(column)``; ``portal_lower(column)`` on SQLite (indexed, Unicode-aware there too)."""

    function = "LOWER"
    arity = 1

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, function=SQLITE_LOWER, **extra_context)


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix``."""
    last = ord(prefix[-1])
    if last >= 0x10FFFF:
        return None
    return prefix[:-1] + chr(last + 1)


def search_users(text: str, *, deleted: bool = False) -> QuerySet:
    """Live users (or those in the recycle bin) matching ``text``; all of them when it is empty."""
    from ..models import DirectoryUser

    users = DirectoryUser.objects.in_recycle_bin() if deleted else DirectoryUser.objects.alive()
    if not text:
        return users
    prefix = text.lower()
    vendor = connections[users.db].vendor
    ceiling = _successor(prefix)
    if vendor == "sqlite" and ceiling is not None:
        annotations = {f"{name}_folded": SearchLower(name) for name in PREFIX_SEARCHED}
        match = Q(employee_id=text)
        for name in annotations:
            match |= Q(**{f"{name}__gte": prefix, f"{name}__lt": ceiling})
        # The matches alone in a subquery, so that SQLite unions the six index lookups; and the
        # recycle-bin test written "+deleted_at" so that SQLite does not prefer walking that
        # index through every live user (it has no statistics to know better).
        matching = DirectoryUser.objects.annotate(**annotations).filter(match).values("pk")
        return (
            DirectoryUser.objects.alias(
                deleted_mark=Func(F("deleted_at"), template="+%(expressions)s")
            )
            .filter(deleted_mark__isnull=not deleted)
            .filter(pk__in=matching)
        )
    annotations = {
        f"{name}_folded": (SearchLower if vendor == "sqlite" else Lower)(name)
        for name in PREFIX_SEARCHED
    }
    match = Q(employee_id=text)
    for name in annotations:
        match |= Q(**{f"{name}__startswith": prefix})
    return users.annotate(**annotations).filter(match)
