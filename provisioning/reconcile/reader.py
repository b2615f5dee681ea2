"""Read the target back for a reconcile: page by page, with the links of each page.

Memory stays bounded whatever the target's size: a few pages of target objects (the one being
compared and at most :data:`READ_AHEAD_PAGES` asked for meanwhile) and the links, directory
objects and manager references of one page. Which linked accounts the listing returned is
written to the database (``ProvisionedObject.reconciled_in``), not kept in memory.

A target that pages with ``startIndex`` and says ``totalResults`` (the SCIM connector's
``read_page``) is read with several pages in flight when the job's request pool allows
(issue 16's machinery, issue 13's "concurrent where the target allows"), otherwise one page
ahead in a thread. The :class:`Listing` says whether the pages added up to the total every
page announced: only a complete listing may classify an account as *missing*.
"""

import contextlib
import queue
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any

from django.db.models import Q

from ..choices import LinkState, ObjectType
from ..connectors.base import Connector
from ..connectors.errors import BadRequestError
from ..engine.importing import SourceObject, load_groups, load_users
from ..log_text import gettext as _  # cycle errors translated when read
from ..models import ProvisionedObject, ProvisioningJob

PAGE_SIZE = 500
READ_AHEAD_PAGES = 4  # pages asked for while one is compared (with a concurrent pool)
MAX_PAGES = 100_000


@dataclass
class Listing:
    """How one listing went. ``complete``: every page agreed on ``totalResults`` and the pages
    added up to it (objects created or deleted meanwhile shift ``startIndex`` pages, so an
    account may have been skipped). A target that says no total is trusted, as before."""

    object_type: str
    expected: int | None = None
    received: int = 0
    consistent: bool = True

    def note(self, resources: list[dict[str, Any]], total: int | None) -> None:
        self.received += len(resources)
        if total is None:
            return
        if self.expected is None:
            self.expected = total
        elif total != self.expected:
            self.consistent = False

    @property
    def complete(self) -> bool:
        return self.consistent and (self.expected is None or self.received == self.expected)


@dataclass
class TargetPage:
    """One page of target objects with what the comparison needs from the database."""

    object_type: str
    resources: list[dict[str, Any]]
    links: dict[str, ProvisionedObject] = field(default_factory=dict)  # by target id
    sources: dict[uuid.UUID, SourceObject] = field(default_factory=dict)
    references: dict[uuid.UUID, str] = field(default_factory=dict)  # manager id → target id

    def linked(self) -> Iterator[tuple[dict[str, Any], ProvisionedObject]]:
        for resource in self.resources:
            link = self.links.get(str(resource.get("id")))
            if link is not None:
                yield resource, link

    def unlinked(self) -> list[dict[str, Any]]:
        return [r for r in self.resources if str(r.get("id")) not in self.links]


_DONE = object()


def prefetched(pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    """Read the next page in a thread while this one is compared, so the target's time and
    ours overlap instead of adding up. At most two pages are in memory (a queue of one)."""
    slot: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        slot.put(page, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slot.put(_DONE)
        except BaseException as error:  # handed to the consumer, raised in its thread
            slot.put(error)

    thread = threading.Thread(target=produce, name="reconcile-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = slot.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            slot.get_nowait()  # unblock a producer waiting to put
        thread.join(timeout=30)


def read_target(
    job: ProvisioningJob,
    connector: Connector,
    object_type: str,
    page_size: int = PAGE_SIZE,
    *,
    requests: Any = None,
    listing: Listing | None = None,
) -> Iterator[TargetPage]:
    """Yield the target's objects of one type as :class:`TargetPage` s, in a fixed number of
    queries per page (the next pages are read from the target meanwhile)."""
    listing = listing or Listing(object_type)
    for resources in resource_pages(connector, object_type, page_size, requests, listing):
        resources = [r for r in resources if r.get("id") not in (None, "")]
        page = TargetPage(object_type, resources)
        ids = [str(r["id"]) for r in resources]
        page.links = {
            link.target_id: link
            for link in ProvisionedObject.objects.filter(
                job=job, object_type=object_type, target_id__in=ids
            )
        }
        source_ids = [link.source_id for link in page.links.values()]
        loader = load_users if object_type == ObjectType.USER else load_groups
        page.sources = loader(job.application_id, source_ids) if source_ids else {}
        manager_ids = {o.manager_id for o in page.sources.values() if o.manager_id}
        if manager_ids:
            page.references = dict(
                ProvisionedObject.objects.filter(
                    Q(state=LinkState.PROVISIONED) | Q(state=LinkState.DISABLED),
                    job=job,
                    object_type=ObjectType.USER,
                    source_id__in=manager_ids,
                )
                .exclude(target_id="")
                .values_list("source_id", "target_id")
            )
        yield page


def resource_pages(
    connector: Connector, object_type: str, page_size: int, requests: Any, listing: Listing
) -> Iterator[list[dict[str, Any]]]:
    """The target's pages of one type: several in flight when the target pages with
    ``startIndex`` and the pool is concurrent, else one page ahead in a thread."""
    if not hasattr(connector, "read_page"):
        return prefetched(connector.read_pages(object_type, page_size=page_size))
    if requests is not None and getattr(requests, "concurrent", False):
        window = max(1, min(READ_AHEAD_PAGES, requests.maximum))
        return _pages_in_flight(connector, object_type, page_size, requests, window, listing)
    return prefetched(_pages_one_by_one(connector, object_type, page_size, listing))


def _paging_loop() -> BadRequestError:
    return BadRequestError(
        _("The target ignores startIndex and repeats the same page."), code="PagingLoop"
    )


def _first_id(resources: list[dict[str, Any]]) -> Any:
    return resources[0].get("id") if resources else None


def _pages_one_by_one(
    connector: Any,
    object_type: str,
    page_size: int,
    listing: Listing,
    first: list[dict[str, Any]] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Page after page, each starting after what came (``first``: page 1, read already)."""
    start, previous = (1, None) if first is None else (1 + len(first), _first_id(first))
    for _number in range(MAX_PAGES):
        resources, total = connector.read_page(object_type, start, page_size)
        if not resources:
            if total is not None and listing.received < total:
                listing.consistent = False  # the target ran out before its own total
            return
        if start > 1 and _first_id(resources) is not None and _first_id(resources) == previous:
            raise _paging_loop()
        previous = _first_id(resources)
        listing.note(resources, total)
        yield resources
        start += len(resources)
        if total is not None and listing.received >= total:
            return
    raise BadRequestError(_("Listing stopped after too many pages."), code="PagingLimit")


def _pages_in_flight(
    connector: Any, object_type: str, page_size: int, requests: Any, window: int, listing: Listing
) -> Iterator[list[dict[str, Any]]]:
    """Page 1 says the total and the page size the target keeps to; then up to ``window``
    pages are in flight, taken in order (a sliding window: memory stays ``window`` pages)."""
    first, total = connector.read_page(object_type, 1, page_size)
    listing.note(first, total)
    if not first:
        return
    if total is None:  # nothing to plan the pages with: one after the other
        yield first
        yield from _pages_one_by_one(connector, object_type, page_size, listing, first)
        return
    size = len(first)
    if len(range(1 + size, total + 1, size)) > MAX_PAGES:
        raise BadRequestError(_("Listing stopped after too many pages."), code="PagingLimit")
    starts = iter(range(1 + size, total + 1, size))
    pending: deque = deque(
        requests.submit(partial(connector.read_page, object_type, start, size))
        for start in islice(starts, window)
    )
    previous = _first_id(first)
    try:
        yield first
        del first
        while pending:
            outcome, error = pending.popleft().result()
            if error is not None:
                raise error
            following = next(starts, None)
            if following is not None:
                pending.append(
                    requests.submit(partial(connector.read_page, object_type, following, size))
                )
            resources, page_total = outcome
            if _first_id(resources) is not None and _first_id(resources) == previous:
                raise _paging_loop()
            previous = _first_id(resources) or previous
            listing.note(resources, page_total)
            if len(resources) < size and pending:
                listing.consistent = False  # a short page before the last: pages shifted
            if resources:
                yield resources
    finally:
        for future in pending:
            future.cancel()
