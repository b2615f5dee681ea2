"""Requests in flight (issue 16): the connector calls of a stage sent over a bounded pool.

Only connector calls run in the pool's threads (connectors never touch the database); what
comes back is handed to the cycle's own thread, which writes links, log entries and escrow in
order, exactly as when the calls were made one by one. Each call concerns one object (one
create, one group's member changes…), so one object never has two requests in flight; stages
keep their order (users, then groups, then memberships), so a group exists before members
are added to it, and a manager's account before a user's ``manager`` points at it (a user
whose manager is not linked yet is deferred to the second pass).

How many calls are actually on the wire at once is the job's
:class:`~provisioning.connectors.flow.AdaptiveConcurrency`, which the connector's HTTP client
consults around every attempt; the pool's size is only the ceiling (the job's setting).
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ..connectors.flow import AdaptiveConcurrency

T = TypeVar("T")

DEFAULT_REQUESTS_IN_FLIGHT = 8
MAX_REQUESTS_IN_FLIGHT = 64


class RequestPool:
    """The job's pool of request threads and its adaptive limit, for one cycle."""

    def __init__(self, maximum: int, connector: Any) -> None:
        self.maximum = max(1, min(MAX_REQUESTS_IN_FLIGHT, int(maximum or 1)))
        self.flow = AdaptiveConcurrency(self.maximum)
        self.concurrent = self.maximum > 1 and getattr(connector, "concurrent_requests", False)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        use_flow = getattr(connector, "use_flow", None)
        if use_flow is not None:
            use_flow(self.flow)

    def run_all(self, calls: list[Callable[[], T]]) -> list[tuple[T | None, BaseException | None]]:
        """Run ``calls`` (concurrently when allowed) and return (result, error) of each, in
        order. Errors are returned, not raised: the caller records every outcome first."""
        if not self.concurrent or len(calls) < 2:
            return [_outcome(call) for call in calls]
        executor = self._pool_executor()
        futures = [executor.submit(_outcome, call) for call in calls]
        return [future.result() for future in futures]

    def submit(self, call: Callable[[], T]) -> "Future[tuple[T | None, BaseException | None]]":
        """Start ``call`` in the pool (a sliding window of reads, e.g. reconcile's pages);
        the future's result is (result, error), as with :meth:`run_all`. Concurrent pools
        only."""
        if not self.concurrent:
            raise RuntimeError("submit() needs a concurrent pool")
        return self._pool_executor().submit(_outcome, call)

    def _pool_executor(self) -> ThreadPoolExecutor:
        with self._lock:  # the sender thread and the cycle's thread both submit
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.maximum, thread_name_prefix="target-request"
                )
            return self._executor

    def snapshot(self) -> dict:
        return self.flow.snapshot()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _outcome(call: Callable[[], T]) -> tuple[T | None, BaseException | None]:
    try:
        return call(), None
    except BaseException as error:  # handed back to the cycle's own thread
        return None, error


def sequential() -> "RequestPool":
    """A pool that sends one request at a time (no connector, no adaptive limit)."""
    return RequestPool(1, None)
