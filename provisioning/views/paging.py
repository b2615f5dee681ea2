"""Offset paging without COUNT(*): one extra row tells whether there is a next page, so a page of
a million-row log costs the same as the first."""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

PAGE_SIZE = 50
MAX_PAGE = 10_000


@dataclass
class Page:
    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def page_number(request: HttpRequest) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def paginate(queryset, request: HttpRequest, size: int = PAGE_SIZE) -> Page:
    number = page_number(request)
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return Page(items=rows[:size], number=number, has_next=len(rows) > size)


def query_without_page(request: HttpRequest) -> str:
    """The current query string minus ``page``, for the previous/next links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
