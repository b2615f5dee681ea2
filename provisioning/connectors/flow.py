"""How many requests a job keeps in flight: AIMD, as TCP does (issue 16).

One :class:`AdaptiveConcurrency` is shared by every thread sending for one job (the
connector's :class:`~.http.HttpClient` takes a slot around each attempt). The limit starts
low, grows while answers come back fast and clean (by one per answer until the first
congestion, then by one per window of ``limit`` answers), and halves on 429, 503 and
timeouts — at most once per window, so one burst of throttled answers halves it once. A
``Retry-After`` pauses the whole job, not just the thread that got it. The limit never
exceeds the job's setting; the job's requests-per-second limit is the separate, thread-safe
:class:`~.http.RateLimiter`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

CONGESTION_STATUSES = frozenset({429, 503})
INITIAL_LIMIT = 2
MAX_PAUSE = 120.0  # a Retry-After is honoured up to this long
RATE_WINDOW = 5.0  # the rate shown is over the last few seconds
SLOWER_THAN_FASTEST = 3  # an answer this many times slower than the fastest (plus the
SLACK = 0.1  # slack, seconds) is slow: the limit stops growing


class AdaptiveConcurrency:
    """A semaphore whose size adapts to the target (additive increase, multiplicative
    decrease)."""

    def __init__(
        self,
        maximum: int,
        *,
        initial: int = INITIAL_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maximum = max(1, int(maximum))
        self.limit = float(max(1, min(self.maximum, initial)))
        self._clock = clock
        self._cond = threading.Condition()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.paused_until = 0.0
        self.slow_start = True
        self.decreases = 0
        self.increases = 0
        self.regrown = 0
        self.lowest = int(self.limit)
        self.highest = int(self.limit)
        self.retry_after_pauses = 0
        self._last_decrease = -1e18
        self._baseline: dict[str, float] = {}  # the fastest answer seen, by method (seconds)
        self._completions: deque[float] = deque()
        self.completed = 0
        self._first_start: float | None = None

    # -- taking and giving back a slot ------------------------------------------------------

    def acquire(self) -> float:
        """Wait for a slot (and for a job-wide Retry-After pause); return the start time."""
        with self._cond:
            while True:
                now = self._clock()
                if self.paused_until > now:
                    self._cond.wait(min(self.paused_until - now, 1.0))
                    continue
                if self.in_flight < int(self.limit):
                    self.in_flight += 1
                    if self._first_start is None:
                        self._first_start = now
                    self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                    return now
                self._cond.wait(1.0)

    def release(
        self,
        started: float,
        *,
        status: int | None,
        timed_out: bool = False,
        retry_after: float | None = None,
        method: str = "",
    ) -> None:
        """Give the slot back and adapt the limit to how the answer came (``method``: reads
        and writes are compared with the fastest answer of their own kind)."""
        with self._cond:
            now = self._clock()
            self.in_flight = max(0, self.in_flight - 1)
            self.completed += 1
            self._completions.append(now)
            while self._completions and self._completions[0] < now - RATE_WINDOW:
                self._completions.popleft()
            if timed_out or status in CONGESTION_STATUSES:
                self._congested(started, now)
                if retry_after is not None and retry_after > 0:
                    self.paused_until = max(self.paused_until, now + min(retry_after, MAX_PAUSE))
                    self.retry_after_pauses += 1
            elif status is not None and status < 500:
                self._answered(now - started, method)
            self._cond.notify_all()

    def _congested(self, started: float, now: float) -> None:
        # Requests sent before the last decrease saw the old limit: one halving per window.
        if started < self._last_decrease:
            return
        self.slow_start = False
        self.limit = max(1.0, self.limit / 2)
        self._last_decrease = now
        self.decreases += 1
        self.lowest = min(self.lowest, int(self.limit))

    def _answered(self, elapsed: float, method: str = "") -> None:
        baseline = self._baseline.get(method)
        if baseline is None or elapsed < baseline:
            self._baseline[method] = baseline = elapsed
        # Fast: not much slower than the fastest answer of its kind (queueing at the target,
        # the answers slowing down, says "enough").
        fast = elapsed <= SLOWER_THAN_FASTEST * baseline + SLACK
        if not fast or self.limit >= self.maximum:
            return
        before = int(self.limit)
        self.limit = min(
            float(self.maximum), self.limit + (1.0 if self.slow_start else 1.0 / self.limit)
        )
        if int(self.limit) > before:
            self.increases += 1
            if self.decreases:
                self.regrown += 1  # grew back after a decrease
            self.highest = max(self.highest, int(self.limit))

    # -- what the job's page and the cycle's record show ------------------------------------

    def rate(self) -> float:
        """Answers per second over the last few seconds."""
        with self._cond:
            now = self._clock()
            while self._completions and self._completions[0] < now - RATE_WINDOW:
                self._completions.popleft()
            if not self._completions:
                return 0.0
            span = max(1.0, min(RATE_WINDOW, now - self._completions[0]))
            return len(self._completions) / span

    def mean_rate(self) -> float:
        """Answers per second since the first request."""
        with self._cond:
            if self._first_start is None or not self.completed:
                return 0.0
            return self.completed / max(1e-3, self._clock() - self._first_start)

    def snapshot(self) -> dict:
        rate = self.rate()
        mean = self.mean_rate()
        with self._cond:
            return {
                "concurrency": int(self.limit),
                "max_concurrency": self.maximum,
                "in_flight": self.in_flight,
                "peak_in_flight": self.peak_in_flight,
                "rate_per_second": round(rate, 1),
                "mean_rate_per_second": round(mean, 1),
                "decreases": self.decreases,
                "increases": self.increases,
                "regrown": self.regrown,
                "lowest": self.lowest,
                "highest": self.highest,
                "retry_after_pauses": self.retry_after_pauses,
                "requests": self.completed,
            }
