"""Cursor pagination: stable under inserts (new log entries do not shift later pages) and as
cheap for the millionth row as for the first. ``?limit=`` (at most 500) sets the page size;
follow ``next`` until it is null."""

from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500


def cursor_pagination(*ordering: str) -> type[CursorPagination]:
    """A cursor pagination class ordered by ``ordering`` (the first field should be unique or
    nearly so: ties are resolved by an offset)."""
    return type(
        "CursorPagination_" + "_".join(o.strip("-") for o in ordering),
        (NewestFirstCursorPagination,),
        {"ordering": ordering},
    )
