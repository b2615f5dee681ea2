"""Reconcile's listing (issue 13): pages in flight through the job's request pool, taken in
order, never more than the window at once; a listing whose pages do not add up is incomplete;
a target that ignores ``startIndex`` stops the reconcile."""

import threading

import pytest

from provisioning.connectors.errors import BadRequestError
from provisioning.engine.inflight import RequestPool
from provisioning.reconcile.reader import READ_AHEAD_PAGES, Listing, resource_pages


class PagedTarget:
    """An in-memory target paging with startIndex (what ``ScimConnector.read_page`` returns)."""

    concurrent_requests = True

    def __init__(self, count, *, ignore_start=False, shrink_after_first=0, hold_until=0):
        self.ids = [f"u{n:03d}" for n in range(count)]
        self.ignore_start = ignore_start
        self.shrink_after_first = shrink_after_first
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        # Pages after the first wait until ``hold_until`` are in flight together (then all go).
        self.hold_until = hold_until
        self.gate = threading.Event()
        if not hold_until:
            self.gate.set()
        self.calls = 0

    def read_page(self, object_type, start_index, count):
        with self.lock:
            self.calls += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if self.calls == 2 and self.shrink_after_first:
                del self.ids[: self.shrink_after_first]  # deleted while the listing runs
            ids = list(self.ids)
            first = self.calls == 1
            if self.in_flight >= self.hold_until:
                self.gate.set()
        try:
            if not first:
                self.gate.wait(timeout=10)
            start = 1 if self.ignore_start else start_index
            chosen = ids[start - 1 : start - 1 + count]
            return [{"id": i} for i in chosen], len(ids)
        finally:
            with self.lock:
                self.in_flight -= 1


def listed(target, page_size, in_flight):
    pool = RequestPool(in_flight, target)
    listing = Listing("User")
    try:
        pages = list(resource_pages(target, "User", page_size, pool, listing))
    finally:
        pool.close()
    return pages, listing


@pytest.mark.parametrize("in_flight", [1, 8])
def test_every_object_once_in_order_and_the_listing_complete(in_flight):
    target = PagedTarget(23)

    pages, listing = listed(target, 5, in_flight)

    assert [r["id"] for page in pages for r in page] == target.ids
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert listing.complete and listing.received == listing.expected == 23


def test_pages_in_flight_never_exceed_the_window():
    target = PagedTarget(200, hold_until=READ_AHEAD_PAGES)
    pool = RequestPool(16, target)
    pool.flow.limit = 16.0  # the adaptive limit out of the way: only the window bounds it
    listing = Listing("User")
    pages = resource_pages(target, "User", 5, pool, listing)
    try:
        first = next(pages)  # page 1 read; the window's pages asked for meanwhile
        assert len(first) == 5
        held = sum(1 for _ in pages)
    finally:
        pool.close()
    assert held == 39
    assert target.most_in_flight == READ_AHEAD_PAGES
    assert listing.complete


@pytest.mark.parametrize("in_flight", [1, 8])
def test_objects_deleted_while_listed_make_the_listing_incomplete(in_flight):
    target = PagedTarget(20, shrink_after_first=2)

    pages, listing = listed(target, 5, in_flight)

    assert not listing.complete
    assert sum(len(page) for page in pages) < 20


@pytest.mark.parametrize("in_flight", [1, 8])
def test_a_target_ignoring_start_index_stops_the_listing(in_flight):
    target = PagedTarget(12, ignore_start=True)

    with pytest.raises(BadRequestError) as raised:
        listed(target, 5, in_flight)
    assert raised.value.code == "PagingLoop"
