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


# Steps and modified properties travel as JSON text: complete, machine-readable, and cheap for
# the database to write (formatting them as prose per row cost five times the rest of the row).
STEPS = "q.steps::text"
PROPERTIES = "q.modified_properties::text"
CREATED_AT = "to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"


def entry_csv_lines(entries: QuerySet, fields: list[str]) -> Iterator[bytes]:
    """CSV lines (no header) of ``entries``, newest first: ``fields``, then steps and modified
    properties as JSON."""
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
    columns += [STEPS, PROPERTIES]  # JSON text starts with [ or {: never a formula
    statement = (
        f"COPY (SELECT {', '.join(columns)} FROM ({inner}) AS q "
        "ORDER BY q.created_at DESC, q.id DESC) TO STDOUT WITH (FORMAT csv)"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        for block in copy:
            yield bytes(block)
