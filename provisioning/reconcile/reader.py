"""Read the target back for a reconcile: one page at a time, with the links of that page.

Memory stays bounded whatever the target's size: one page of target objects (``page_size``), the
links, directory objects and manager references of that page, and the set of target ids seen
(needed to find the *missing* accounts once the listing is complete).
"""

import contextlib
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from ..choices import LinkState, ObjectType
from ..connectors.base import Connector
from ..engine.importing import SourceObject, load_groups, load_users
from ..models import ProvisionedObject, ProvisioningJob

PAGE_SIZE = 500


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
    job: ProvisioningJob, connector: Connector, object_type: str, page_size: int = PAGE_SIZE
) -> Iterator[TargetPage]:
    """Yield the target's objects of one type as :class:`TargetPage` s, in a fixed number of
    queries per page (the next page is read from the target meanwhile)."""
    for resources in prefetched(connector.read_pages(object_type, page_size=page_size)):
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
