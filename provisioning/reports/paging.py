"""Keyset pages, newest first by (created_at, id): no OFFSET, no COUNT(*).

A page is "the next N rows after this key" (or before it, going back), read from an index that
ends in (created_at, id): the first page and the 20,000th cost the same. The key travels in the
URL as ``after=`` / ``before=`` ``<microseconds since the epoch>.<id>``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_key(created_at: datetime, pk: int) -> str:
    return f"{(created_at - EPOCH) // timedelta(microseconds=1)}.{pk}"


def decode_key(text: str | None) -> tuple[datetime, int] | None:
    if not text:
        return None
    try:
        micros, pk = text.split(".", 1)
        return EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


@dataclass
class KeysetPage:
    items: list[Any]
    has_next: bool
    has_previous: bool

    @property
    def next_key(self) -> str:
        last = self.items[-1]
        return encode_key(last.created_at, last.pk)

    @property
    def previous_key(self) -> str:
        first = self.items[0]
        return encode_key(first.created_at, first.pk)


def keyset_page(queryset: QuerySet, query: QueryDict, size: int = PAGE_SIZE) -> KeysetPage:
    after, before = decode_key(query.get("after")), decode_key(query.get("before"))
    if before is not None and after is None:
        at, pk = before
        rows = list(
            queryset.filter(created_at__gte=at)
            .filter(Q(created_at__gt=at) | Q(pk__gt=pk))
            .order_by("created_at", "id")[: size + 1]
        )
        has_more = len(rows) > size
        rows = rows[:size]
        rows.reverse()
        return KeysetPage(items=rows, has_next=bool(rows), has_previous=has_more)
    if after is not None:
        at, pk = after
        queryset = queryset.filter(created_at__lte=at).filter(Q(created_at__lt=at) | Q(pk__lt=pk))
    rows = list(queryset.order_by("-created_at", "-id")[: size + 1])
    return KeysetPage(items=rows[:size], has_next=len(rows) > size, has_previous=after is not None)


def query_without_cursor(query: QueryDict) -> str:
    """The current query string minus the page key, for the pager's links."""
    params = query.copy()
    for name in ("after", "before", "page"):
        params.pop(name, None)
    return params.urlencode()
