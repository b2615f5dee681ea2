"""The single CSV of provisioning logs formatted by PostgreSQL itself (``COPY … TO STDOUT``).

Python formats a few thousand rows a second here; PostgreSQL tens of thousands, streamed in blocks
so the portal's memory stays flat. Same columns, text and neutralisation as the Python path in
``exports._summary_rows`` (used on other databases); the tests run both.
"""

from collections.abc import Iterator

from django.db import connection
from django.db.models import QuerySet

TEXT_COLUMNS = frozenset(
    {"application_name", "source_display", "target_id", "error_code", "reason", "recommendation"}
)


def neutralised(expression: str) -> str:
    """SQL twin of ``writers.neutralise``."""
    return (
        f"CASE WHEN left({expression}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) "
        f"THEN chr(39) || {expression} ELSE {expression} END"
    )


def plain(value: str) -> str:
    """SQL twin of ``exports._plain`` for a jsonb value: lists joined with commas."""
    return (
        f"CASE jsonb_typeof({value}) WHEN 'string' THEN {value} #>> '{{}}' "
        f"WHEN 'array' THEN (SELECT coalesce(string_agg(CASE jsonb_typeof(x) WHEN 'string' "
        f"THEN x #>> '{{}}' ELSE x::text END, ', '), '') FROM jsonb_array_elements({value}) AS x) "
        f"WHEN 'null' THEN '' ELSE coalesce({value}::text, '') END"
    )


def _objects_of(column: str, alias: str) -> str:
    return (
        f"jsonb_array_elements(CASE jsonb_typeof(q.{column}) WHEN 'array' THEN q.{column} "
        f"ELSE '[]'::jsonb END) WITH ORDINALITY AS t({alias}, n)"
    )


STEPS = (
    "(SELECT coalesce(string_agg(coalesce(s ->> 'name', '') || ': ' || "
    "coalesce(s ->> 'status', '') || CASE WHEN coalesce(s ->> 'detail', '') <> '' "
    "THEN ' — ' || (s ->> 'detail') ELSE '' END, '; ' ORDER BY n), '') "
    f"FROM {_objects_of('steps', 's')} WHERE jsonb_typeof(s) = 'object')"
)
PROPERTIES = (
    "(SELECT coalesce(string_agg(coalesce(p ->> 'name', '') || ': ' || "
    f"{plain(chr(40) + 'p -> ' + chr(39) + 'old' + chr(39) + chr(41))} || ' → ' || "
    f"{plain(chr(40) + 'p -> ' + chr(39) + 'new' + chr(39) + chr(41))}, '; ' ORDER BY n), '') "
    f"FROM {_objects_of('modified_properties', 'p')} WHERE jsonb_typeof(p) = 'object')"
)
CREATED_AT = "to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"


def entry_csv_lines(entries: QuerySet, fields: list[str]) -> Iterator[bytes]:
    """CSV lines (no header) of ``entries``, newest first: ``fields``, then steps and modified
    properties as text."""
    inner, params = (
        entries.order_by()
        .values_list("id", *fields, "steps", "modified_properties")
        .query.sql_with_params()
    )
    columns = []
    for name in fields:
        if name == "created_at":
            columns.append(CREATED_AT)
        elif name in TEXT_COLUMNS:
            columns.append(neutralised(f"q.{name}"))
        else:
            columns.append(f"q.{name}")
    columns += [neutralised(STEPS), neutralised(PROPERTIES)]
    statement = (
        f"COPY (SELECT {', '.join(columns)} FROM ({inner}) AS q "
        "ORDER BY q.created_at DESC, q.id DESC) TO STDOUT WITH (FORMAT csv)"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        for block in copy:
            yield bytes(block)
