"""Streamed downloads of exactly the filtered set: CSV, Azure's three zipped CSV files, a JSON
array, or one JSON object per line.

Rows are read with a server-side cursor (``iterator``) as plain values and written in batches, so
the server's memory stays flat whatever the size and the first bytes leave at once. Every text cell
of a CSV that a spreadsheet would run as a formula is neutralised.
"""

import csv
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
READ_CHUNK = 2000
WRITE_BATCH = 500
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "zip": ("application/zip", "zip"),
    "json": ("application/json", "json"),
    "ndjson": ("application/x-ndjson", "ndjson"),
}


def neutralise(value: Any) -> Any:
    """A text starting with = + - @ tab or carriage return gets a leading apostrophe, so that a
    spreadsheet shows it as text instead of running it (OWASP "CSV injection")."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(cell) for cell in row]


class _Buffer:
    """A file-like sink whose content is taken out in pieces (for csv.writer and zipfile)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: str | bytes) -> int:
        self.parts.append(data.encode() if isinstance(data, str) else data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts = []
        return data


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        # Always with microseconds, as PostgreSQL's COPY path writes it (reports/pg_copy.py).
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder)
    return str(value)


def csv_chunks(
    header: list[str], rows: Iterable[list[Any]], *, tail: Iterable[bytes] = ()
) -> Iterator[bytes]:
    """UTF-8 CSV (with a BOM, so spreadsheets read the accents), in batches of rows; ``tail``:
    CSV lines formatted already (by the database), passed on as they come."""
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\n")  # as PostgreSQL's COPY writes
    buffer.write("\ufeff")
    writer.writerow(header)
    yield buffer.take()
    for count, row in enumerate(rows, start=1):
        writer.writerow(neutralise_row(_text(cell) for cell in row))
        if count % WRITE_BATCH == 0:
            yield buffer.take()
    yield buffer.take()
    yield from tail


def json_array_chunks(objects: Iterable[dict]) -> Iterator[bytes]:
    yield b"["
    first = True
    batch: list[str] = []
    for obj in objects:
        batch.append(("" if first else ",") + json.dumps(obj, cls=DjangoJSONEncoder))
        first = False
        if len(batch) >= WRITE_BATCH:
            yield "\n".join(batch).encode()
            batch = []
    if batch:
        yield "\n".join(batch).encode()
    yield b"]\n"


def ndjson_chunks(objects: Iterable[dict]) -> Iterator[bytes]:
    batch: list[str] = []
    for obj in objects:
        batch.append(json.dumps(obj, cls=DjangoJSONEncoder))
        if len(batch) >= WRITE_BATCH:
            yield ("\n".join(batch) + "\n").encode()
            batch = []
    if batch:
        yield ("\n".join(batch) + "\n").encode()


def zip_chunks(files: list[tuple[str, Callable[[], Iterator[bytes]]]]) -> Iterator[bytes]:
    """A zip written as it streams (data descriptors, no seeking), one member after another."""
    sink = _Buffer()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, produce in files:
            with archive.open(name, "w", force_zip64=True) as member:
                for piece in produce():
                    member.write(piece)
                    data = sink.take()
                    if data:
                        yield data
    yield sink.take()


def rows_of(queryset: QuerySet, fields: list[str]) -> Iterator[dict]:
    """Plain dicts from a server-side cursor: flat memory, no model instances."""
    return queryset.values(*fields).iterator(chunk_size=READ_CHUNK)


def download_name(stem: str, extension: str) -> str:
    return f"{stem}-{timezone.now():%Y%m%d-%H%M%S}.{extension}"


def streaming_response(chunks: Iterator[bytes], kind: str, stem: str) -> StreamingHttpResponse:
    content_type, extension = FORMATS[kind]
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{download_name(stem, extension)}"'
    response["X-Accel-Buffering"] = "no"  # let a proxy pass the first bytes on at once
    response["Cache-Control"] = "no-store"
    return response


def unsupported_format() -> str:
    return _("Unknown download format.")
