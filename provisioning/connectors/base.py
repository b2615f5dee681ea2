"""The one interface the engine uses to talk to any target.

A connector speaks one protocol (SCIM 2.0, GoTo's API…) and hides it behind the
methods below. Connectors never touch the ORM: the engine hands them plain
credentials and flat attribute dicts and gets plain dicts back. Every failure is
one of the kinds in :mod:`provisioning.connectors.errors`.

Objects are identified by ``object_type`` (``"User"`` or ``"Group"``) and the
target's own id (``target_id``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

from .errors import ConnectorError

USER = "User"
GROUP = "Group"
OBJECT_TYPES = (USER, GROUP)


@dataclass(frozen=True)
class Capabilities:
    """What the target supports, as announced by it (or assumed conservatively)."""

    filter: bool = True
    patch: bool = True
    bulk: bool = False
    bulk_max_operations: int = 0
    bulk_max_payload_size: int = 0
    etag: bool = False
    max_results: int | None = None
    sort: bool = False


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    message: str
    detail: str = ""


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the connector meant to send it (dry-run and observability)."""

    method: str
    url: str
    json_body: Any = None


@dataclass(frozen=True)
class BulkOperation:
    """One operation of a bulk request.

    ``data`` is the engine's flat attribute dict: the attributes to create (POST),
    the full representation (PUT) or the changes (PATCH); ``None`` for DELETE.
    ``bulk_id`` is how the caller finds the matching :class:`BulkResult`.
    ``members_added`` (PATCH of a group only): member target ids to add, instead of ``data``
    (a group's member changes sent in Bulk, issue 16).
    """

    method: str
    object_type: str
    bulk_id: str
    target_id: str | None = None
    data: dict[str, Any] | None = None
    members_added: list[str] | None = None


@dataclass
class BulkResult:
    bulk_id: str
    status: int
    target_id: str | None = None
    resource: dict[str, Any] | None = None
    error: ConnectorError | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, operation: BulkOperation, error: ConnectorError) -> BulkResult:
        """The outcome of an operation the target refused (or that failed in transit)."""
        return cls(operation.bulk_id, error.http_status or 0, operation.target_id, error=error)


@dataclass(frozen=True)
class CreateStarted:
    """A create whose first part was done in a batch (:meth:`Connector.create_batch`):
    ``complete`` does the rest for this one object, with its own requests, and returns its
    :class:`BulkResult` (per-object errors inside it; errors that stop the job raised)."""

    bulk_id: str
    complete: Callable[[], BulkResult]
    # The object's id in the target, already known (GoTo: the added user's key), and what
    # ``complete`` still applies — for the record when the cycle stops before it runs.
    target_id: str = ""
    pending: tuple[str, ...] = ()


class Connector(abc.ABC):
    """Abstract target. Subclasses implement one protocol."""

    kind: str = ""
    # A re-enable sends the whole representation: the target's disable may take more than
    # `active` away (GoTo removes the licence and admin roles). SCIM sends only what changed.
    reenable_with_full_representation: bool = True

    @abc.abstractmethod
    def test_connection(self, matching_attribute: str = "userName") -> ConnectionTestResult:
        """Check credentials and reachability; never raises for ordinary failures."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abc.abstractmethod
    def find(self, object_type: str, attribute: str, value: Any) -> list[dict[str, Any]]:
        """Return the target objects whose ``attribute`` equals ``value``."""

    @abc.abstractmethod
    def get(self, object_type: str, target_id: str) -> dict[str, Any]:
        """Return one object; :class:`NotFoundError` when it does not exist."""

    @abc.abstractmethod
    def list(self, object_type: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Yield every object of a type, page by page."""

    @abc.abstractmethod
    def create(self, object_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
        """Create an object and return it (with its ``id``)."""

    @abc.abstractmethod
    def update(
        self,
        object_type: str,
        target_id: str,
        changes: dict[str, Any],
        full: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Write only ``changes``; ``full`` is the whole representation for targets
        that can only replace. Returns the object when the target sends it back."""

    @abc.abstractmethod
    def disable(self, object_type: str, target_id: str) -> None: ...

    @abc.abstractmethod
    def delete(self, object_type: str, target_id: str) -> None:
        """Delete an object; an object already gone counts as deleted."""

    @abc.abstractmethod
    def add_members(self, group_id: str, member_ids: list[str]) -> None: ...

    @abc.abstractmethod
    def remove_members(self, group_id: str, member_ids: list[str]) -> None: ...

    def read_attributes(
        self, object_type: str, resource: dict[str, Any], paths: list[str]
    ) -> dict[str, Any]:
        """Read flat attribute paths back out of a resource (matching, drift comparison)."""
        return {path: resource.get(path) for path in paths}

    def member_ids(self, resource: dict[str, Any]) -> list[str]:
        """The target ids of a group resource's members."""
        return [
            str(member["value"])
            for member in resource.get("members") or []
            if isinstance(member, dict) and member.get("value")
        ]

    # -- reading the target back (reconcile, DESIGN B4) ---------------------------------------

    def read_pages(self, object_type: str, page_size: int = 200) -> Iterator[list[dict[str, Any]]]:
        """Yield every object of a type, one page (at most ``page_size`` objects) at a time,
        with every attribute the mappings can target. Group members may be left out: read
        them with :meth:`read_members`. Only one page is held at a time."""
        page: list[dict[str, Any]] = []
        for resource in self.list(object_type, page_size=page_size):
            page.append(resource)
            if len(page) >= page_size:
                yield page
                page = []
        if page:
            yield page

    def read_members(self, group: dict[str, Any]) -> list[str]:
        """The member target ids of a group yielded by :meth:`read_pages`."""
        return self.member_ids(group)

    def is_active(self, object_type: str, resource: dict[str, Any]) -> bool:
        """Whether the target account is active (an absent ``active`` counts as active)."""
        value = self.read_attributes(object_type, resource, ["active"]).get("active")
        return not (value is False or str(value).strip().lower() == "false")

    def case_insensitive_paths(self, object_type: str) -> frozenset[str]:
        """Attribute paths whose values the target compares without regard to case, so a
        value echoed in another case is not drift."""
        return frozenset()

    def is_protected(self, object_type: str, resource: dict[str, Any]) -> bool:
        """Whether reconcile must never disable this unmanaged account (e.g. the admin account
        the connector signs in with)."""
        return False

    def display_name(self, object_type: str, resource: dict[str, Any]) -> str:
        """A name for a target object in reports."""
        for key in ("userName", "email", "displayName", "id"):
            if resource.get(key):
                return str(resource[key])
        return ""

    def bulk(self, operations: list[BulkOperation]) -> list[BulkResult]:
        """Run operations and report each one's outcome without raising per-object errors.

        This default runs them one by one; connectors whose target has a bulk
        endpoint override it. Errors that stop the job are still raised.
        """
        results = []
        for operation in operations:
            results.append(self._run_one(operation))
        return results

    def run_operation(self, operation: BulkOperation) -> BulkResult:
        """One operation as its own request (how requests in flight send a chunk, issue 16);
        per-object errors are in the result, errors that stop the job are raised."""
        return self._run_one(operation)

    # Whether the engine may call this connector from several threads at once (issue 16).
    concurrent_requests: bool = False

    # How many creates one request may carry when the target has no Bulk but its API adds a
    # list of objects at once (GoTo's Admin API, issue 16); 0 or 1: one create per request.
    create_batch_size: int = 0

    def create_batch(self, operations: list[BulkOperation]) -> list[BulkResult | CreateStarted]:
        """Start the creates of ``operations`` (POSTs, at most :attr:`create_batch_size`)
        together. Each answer is either the object's :class:`BulkResult` or a
        :class:`CreateStarted` whose ``complete`` the caller runs (concurrently with the
        others) to finish that object. Per-object errors are in the results; errors that stop
        the job are raised. This default creates each object on its own."""
        return [self._run_one(operation) for operation in operations]

    def use_flow(self, flow: Any) -> None:
        """Share the job's adaptive limit on requests in flight with the HTTP client."""
        http = getattr(self, "http", None)
        if http is not None and hasattr(http, "use_flow"):
            http.use_flow(flow)

    def _run_one(self, operation: BulkOperation) -> BulkResult:
        method = operation.method.upper()
        try:
            if method == "POST":
                resource = self.create(operation.object_type, operation.data or {})
                return BulkResult(operation.bulk_id, 201, resource.get("id"), resource)
            if method in ("PATCH", "PUT"):
                if operation.target_id is None:
                    raise ValueError("PATCH/PUT bulk operations need a target_id")
                if operation.members_added is not None:
                    self.add_members(operation.target_id, operation.members_added)
                    return BulkResult(operation.bulk_id, 204, operation.target_id)
                data = operation.data or {}
                full = data if method == "PUT" else None
                resource = self.update(operation.object_type, operation.target_id, data, full)
                return BulkResult(
                    operation.bulk_id,
                    200 if resource else 204,
                    operation.target_id,
                    resource,
                )
            if method == "DELETE":
                if operation.target_id is None:
                    raise ValueError("DELETE bulk operations need a target_id")
                self.delete(operation.object_type, operation.target_id)
                return BulkResult(operation.bulk_id, 204, operation.target_id)
        except ConnectorError as error:
            if error.stops_job:
                raise
            return BulkResult.failed(operation, error)
        raise ValueError(f"unsupported bulk method {operation.method!r}")

    def begin_cycle(self) -> None:  # noqa: B027 - an optional hook
        """Forget per-cycle state (request kinds stopped after repeated failures)."""

    stopped_kinds: dict[str, str] = {}  # request kinds not sent any more this cycle

    def apply_learnt(self, learnt: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Take what earlier cycles learnt about the target (the job's ``target_learnt``)."""

    @property
    def learnt(self) -> dict[str, Any]:
        """What this connector learnt about the target, to keep for the next cycles."""
        return {}

    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Release network resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
