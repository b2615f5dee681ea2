"""What each download holds: the columns of the provisioning logs and of the audit log.

The single CSV has one row per entry with its steps and modified properties as JSON; Azure's
three-file form (zipped) has a summary, the steps and the modified properties, joined by change
id. JSON has every field, steps and properties as lists.
"""

import json
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _

from .pg_copy import entry_csv_lines
from .writers import (
    csv_chunks,
    json_array_chunks,
    ndjson_chunks,
    rows_of,
    streaming_response,
    zip_chunks,
)

ENTRY_FIELDS = [
    "created_at",
    "change_id",
    "cycle_id",
    "application_id",
    "application_name",
    "job_id",
    "object_type",
    "source_display",
    "source_id",
    "target_id",
    "action",
    "status",
    "error_code",
    "reason",
    "recommendation",
    "duration_ms",
]
EVENT_FIELDS = [
    "created_at",
    "id",
    "activity",
    "actor_name",
    "channel",
    "application_id",
    "application_name",
    "target",
    "before",
    "after",
]


def _entry_header() -> list[str]:
    return [
        _("Date (UTC)"),
        _("Change id"),
        _("Cycle id"),
        _("Application id"),
        _("Application"),
        _("Job id"),
        _("Object type"),
        _("Identity"),
        _("Source id"),
        _("Target id"),
        _("Action"),
        _("Status"),
        _("Error code"),
        _("Reason"),
        _("Recommendation"),
        _("Duration (ms)"),
    ]


def _json_text(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _summary_rows(entries: QuerySet, *, with_details: bool) -> Iterator[list[Any]]:
    fields = ENTRY_FIELDS + (["steps", "modified_properties"] if with_details else [])
    for row in rows_of(entries, fields):
        cells = [row[name] for name in ENTRY_FIELDS]
        if with_details:
            cells += [_json_text(row["steps"]), _json_text(row["modified_properties"])]
        yield cells


def _step_rows(entries: QuerySet) -> Iterator[list[Any]]:
    for row in rows_of(entries, ["change_id", "steps"]):
        for number, step in enumerate(row["steps"] or [], start=1):
            if isinstance(step, dict):
                yield [
                    row["change_id"],
                    number,
                    step.get("name", ""),
                    step.get("status", ""),
                    step.get("detail", ""),
                ]


def _property_rows(entries: QuerySet) -> Iterator[list[Any]]:
    for row in rows_of(entries, ["change_id", "modified_properties"]):
        for prop in row["modified_properties"] or []:
            if isinstance(prop, dict):
                yield [row["change_id"], prop.get("name", ""), prop.get("old"), prop.get("new")]


def _entry_objects(entries: QuerySet) -> Iterator[dict]:
    yield from rows_of(entries, ENTRY_FIELDS + ["steps", "modified_properties"])


def download_entries(entries: QuerySet, kind: str) -> StreamingHttpResponse:
    """``kind``: csv, zip (Azure's summary, steps and modified properties), json, ndjson."""
    entries = entries.order_by("-created_at", "-id")
    stem = "provisioning-logs"
    if kind == "csv":
        header = _entry_header() + [_("Steps"), _("Modified properties")]
        if connection.vendor == "postgresql":
            chunks = csv_chunks(header, [], tail=entry_csv_lines(entries, ENTRY_FIELDS))
        else:
            chunks = csv_chunks(header, _summary_rows(entries, with_details=True))
    elif kind == "zip":
        chunks = zip_chunks(
            [
                (
                    "summary.csv",
                    lambda: csv_chunks(_entry_header(), _summary_rows(entries, with_details=False)),
                ),
                (
                    "steps.csv",
                    lambda: csv_chunks(
                        [_("Change id"), _("Step number"), _("Step"), _("Status"), _("Detail")],
                        _step_rows(entries),
                    ),
                ),
                (
                    "modified_properties.csv",
                    lambda: csv_chunks(
                        [_("Change id"), _("Property"), _("Old value"), _("New value")],
                        _property_rows(entries),
                    ),
                ),
            ]
        )
    elif kind == "json":
        chunks = json_array_chunks(_entry_objects(entries))
    else:
        chunks = ndjson_chunks(_entry_objects(entries))
    return streaming_response(chunks, kind, stem)


def download_events(events: QuerySet, kind: str) -> StreamingHttpResponse:
    """``kind``: csv, json, ndjson (the audit log has no steps to zip)."""
    events = events.order_by("-created_at", "-id")
    if kind == "csv":
        header = [
            _("Date (UTC)"),
            _("Id"),
            _("Activity"),
            _("Initiated by"),
            _("Channel"),
            _("Application id"),
            _("Application"),
            _("Target"),
            _("Old value"),
            _("New value"),
        ]
        rows = ([row[name] for name in EVENT_FIELDS] for row in rows_of(events, EVENT_FIELDS))
        chunks = csv_chunks(header, rows)
    elif kind == "json":
        chunks = json_array_chunks(rows_of(events, EVENT_FIELDS))
    else:
        chunks = ndjson_chunks(rows_of(events, EVENT_FIELDS))
    return streaming_response(chunks, kind, "audit-logs")
