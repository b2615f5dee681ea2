"""The one outbound HTTP path of every connector.

:func:`build_session` makes the pooled ``requests`` session; :class:`HttpClient`
sends each request with explicit (connect, read) timeouts, waits for the
:class:`RateLimiter`, retries what may succeed later (429, most 5xx, timeouts,
connection errors) with bounded exponential backoff, and turns the rest of the
network failures into the taxonomy of :mod:`.errors`. It never logs headers, so
the ``Authorization`` header and other secrets stay out of logs and messages.

Dry-run: unsafe methods (POST, PUT, PATCH, DELETE) are not sent; they are handed to
a ``recorder`` callback and answered by a synthetic response, while reads go out
as usual so that matching still sees the real target.

With ``retry_non_idempotent=False`` (the SCIM connector; the default keeps the old
behaviour for the other connectors) only idempotent requests are retried (GET,
HEAD, PUT, DELETE and PATCH, whose replay is harmless). A POST is not: when its answer is lost (a reset, a read
timeout or a 5xx that may have come after the target did the work), it is never
resent; the :class:`TransientError` raised carries ``outcome_unknown=True`` and the
caller resolves it by looking the object up (see ``engine/act.py``). A POST is
retried only when it certainly never reached the target's application: connection
refused, DNS failure, connect timeout, or 429 (the target says it did nothing).
urllib3's ``Retry`` (which never retries POST by default either) was considered;
the loop here is kept because it must also honour Retry-After dates with a cap,
an injected ``sleep`` and the rate limiter on every attempt.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import random
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.structures import CaseInsensitiveDict

from provisioning.security.outbound import (
    GuardedAdapter,
    on_request_sent,
    read_capped,
    reply_excerpt,
)
from provisioning.security.redaction import REDACTED, is_secret_key

from .base import RecordedRequest
from .errors import (
    ConfigurationError,
    ConnectorError,
    CredentialsError,
    TransientError,
    _,
)
from .flow import AdaptiveConcurrency

logger = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Replaying these is harmless: they are retried after a lost answer (RFC 9110 §9.2.2; PATCH
# as SCIM uses it, with replace/add/remove operations that converge when applied twice).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
# Failures after which the request certainly did nothing at the target.
NOT_SENT_CODES = frozenset({"ConnectionRefused", "DnsFailure"})
# 501 and 505 say "never", the rest of 5xx say "not now".
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 509, 520, 522, 524})
DEFAULT_TIMEOUT = (5.0, 30.0)
RATE_WINDOW = 1.0  # seconds: the window no more than the rate may be granted in
# The target counts arrivals: a place in the window is kept this much longer than a second after
# its request went out (RateLimiter.slot) or was granted (RateLimiter.acquire), for the way to
# the target, whose time varies between requests.
RATE_MARGIN = 0.05
# A place held until the answer (RateLimiter.slot) is certain to cover the arrival; this is only
# for the target's own clock and counting granularity.
RATE_HOLD_MARGIN = 0.01


def default_user_agent() -> str:
    """``ProvisioningPortal/<version>``, the version taken from the loaded project package."""
    portal = sys.modules.get("portal")
    return f"ProvisioningPortal/{getattr(portal, '__version__', 'dev')}"


def build_session(
    user_agent: str | None = None,
    *,
    pool_connections: int = 4,
    pool_maxsize: int = 16,
) -> requests.Session:
    """Return a ``requests.Session`` with a pooled adapter and no hidden retries.

    Retries are :class:`HttpClient`'s job, so urllib3's own are switched off.
    """
    session = requests.Session()
    adapter = GuardedAdapter(  # the outbound address policy, checked at connect time
        pool_connections=pool_connections, pool_maxsize=pool_maxsize, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent or default_user_agent()
    return session


def safe_url(url: str) -> str:
    """Strip credentials and the query string from a URL before showing it."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with optional jitter.

    ``max_attempts`` counts the first try. A Retry-After longer than
    ``max_retry_after`` is waited only up to that cap.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True
    max_retry_after: float = 120.0

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Delay before retry number ``retry_number`` (1 for the first retry)."""
        delay = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number - 1)))
        if self.jitter:
            # "Equal jitter": at least half the delay, so backoff still grows.
            delay = (rng or random).uniform(delay / 2, delay)
        return delay


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


class RateLimiter:
    """A thread-safe token bucket and window; ``requests_per_second=None`` means unlimited.

    Each caller reserves a token under the lock and sleeps outside it, so concurrent callers
    queue up at the configured spacing. On top of the bucket, no more than the rate of places
    are live in any window: :meth:`acquire` keeps a grant's place for one window (and
    RATE_MARGIN); :meth:`slot`, which the HTTP client uses, keeps it from the grant until the
    answer is in and one window after that.
    """

    def __init__(
        self,
        requests_per_second: float | None,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_second is not None and requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive or None")
        self.requests_per_second = requests_per_second
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Condition(threading.Lock())
        self._tokens = float(self.burst)
        self._updated = clock()
        self._places: list[list[float]] = []  # [expires]; math.inf while its request is out

    def acquire(self) -> float:
        """Wait for a token; return how long this caller waited (seconds)."""
        return self._take(hold=False)[0]

    @contextmanager
    def slot(self) -> Iterator[Callable[[], None]]:
        """Wait for a token and hold its place in the window while the request is out.

        The target counts arrivals. A grant may wait for its thread to be scheduled (on a
        loaded machine, longer than any fixed margin), so the place's window is counted from
        the moment the request was written — the caller reports it by calling the yielded
        function — plus RATE_MARGIN for the way there. A request never reported as written
        keeps its place until the answer is in and one window after that: an arrival lies
        between the grant and the answer, so rate + 1 arrivals can never share a window.
        """
        _waited, place = self._take(hold=True)

        def sent() -> None:
            if place is not None:
                with self._lock:
                    if place[0] == math.inf:
                        place[0] = self._clock() + RATE_WINDOW + RATE_MARGIN
                        self._lock.notify_all()

        try:
            yield sent
        finally:
            if place is not None:
                with self._lock:
                    if place[0] == math.inf:
                        place[0] = self._clock() + RATE_WINDOW + RATE_HOLD_MARGIN
                    self._lock.notify_all()

    def _take(self, *, hold: bool) -> tuple[float, list[float] | None]:
        rate = self.requests_per_second
        if rate is None:
            return 0.0, None
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * rate)
            self._updated = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / rate
            scheduled = now + wait
        if wait > 0:
            self._sleep(wait)
        per_window = int(rate)
        if per_window < 1:
            return wait, None
        # Requests in flight (issue 16): a sleep that overshot, then a grant on time, must not
        # put rate + 1 requests in one window. A place is reserved at once for the moment the
        # window has room (places out with their requests have no end yet: then wait for one).
        extra = 0.0
        while True:
            with self._lock:
                now = max(self._clock(), scheduled)  # a sleep may overshoot, never undershoot
                self._places = [p for p in self._places if p[0] > now]
                ends = sorted(p[0] for p in self._places)
                start = now if len(ends) < per_window else ends[len(ends) - per_window]
                if start == math.inf:  # every place it needs is out with its request
                    waiting = time.monotonic()
                    self._lock.wait(timeout=1.0)
                    extra += time.monotonic() - waiting
                    continue
                place = [math.inf if hold else start + RATE_WINDOW + RATE_MARGIN]
                self._places.append(place)
            if start > now:
                self._sleep(start - now)
                extra += start - now
            return wait + extra, place


@dataclass
class HttpResponse:
    """What a connector needs from an answer, real or synthetic (dry-run)."""

    status: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=CaseInsensitiveDict)
    url: str = ""
    method: str = "GET"
    dry_run: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """Parse the body; raises ``ValueError`` when it is not JSON."""
        return json.loads(self.content.decode("utf-8"))


def synthetic_response(request: RecordedRequest) -> HttpResponse:
    """The default dry-run answer: what a well-behaved REST target would say."""
    headers = CaseInsensitiveDict({"Content-Type": "application/json", "X-Dry-Run": "1"})
    body: Any = None
    status = 204
    if request.method == "POST":
        status = 201
        body = dict(request.json_body) if isinstance(request.json_body, dict) else {}
        body["id"] = f"dry-run-{uuid.uuid4()}"
    elif request.method == "PUT":
        status = 200
        body = dict(request.json_body) if isinstance(request.json_body, dict) else {}
        body.setdefault("id", urlsplit(request.url).path.rstrip("/").rsplit("/", 1)[-1])
    content = json.dumps(body).encode() if body is not None else b""
    return HttpResponse(
        status, content, headers, url=request.url, method=request.method, dry_run=True
    )


def _exception_chain(error: BaseException) -> Iterator[BaseException]:
    """Walk an exception and what it wraps (args, ``reason``, cause, context), bounded."""
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack and len(seen) < 32:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for candidate in (
            getattr(current, "reason", None),
            current.__cause__,
            current.__context__,
            *current.args,
        ):
            if isinstance(candidate, BaseException):
                stack.append(candidate)


def describe_connection_error(error: BaseException, url: str) -> tuple[str, str]:
    """Return a short code and an administrator-readable message for a network failure."""
    where = urlsplit(url).netloc.rsplit("@", 1)[-1] or safe_url(url)
    chain = list(_exception_chain(error))
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "ConnectionRefused", _("Connection refused by %(host)s.") % {"host": where}
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "ConnectionReset", _("The connection to %(host)s was reset.") % {"host": where}
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        "NameResolution" in type(e).__name__ for e in chain
    ):
        return "DnsFailure", _("The host name of %(host)s could not be resolved.") % {"host": where}
    text = " ".join(str(e) for e in chain).lower()
    if "remotedisconnected" in text or "connection aborted" in text:
        return "ConnectionReset", _("%(host)s closed the connection without answering.") % {
            "host": where
        }
    return "ConnectionError", _("Could not connect to %(host)s.") % {"host": where}


def certainly_not_applied(failure: TransientError) -> bool:
    """True when the failed attempt cannot have changed anything at the target."""
    return (
        failure.code in NOT_SENT_CODES
        or failure.http_status == 429
        or getattr(failure, "not_applied", False)
    )


class HttpClient:
    """Send requests with timeouts, rate limiting, bounded retries and dry-run.

    ``on_request(recorded, status)`` is called after every attempt that went over
    the wire (``status`` is ``None`` when no answer came back); ``recorder`` gets
    each unsafe request withheld by dry-run; ``dry_run_responder`` builds the
    synthetic answer to it.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        user_agent: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        now: Callable[[], float] = time.time,
        dry_run: bool = False,
        recorder: Callable[[RecordedRequest], None] | None = None,
        dry_run_responder: Callable[[RecordedRequest], HttpResponse] | None = None,
        on_request: Callable[[RecordedRequest, int | None], None] | None = None,
        default_headers: Mapping[str, str] | None = None,
        json_content_type: str = "application/json",
        verify: bool | str = True,
        retry_non_idempotent: bool = True,
    ) -> None:
        self.session = session or build_session(user_agent)
        if user_agent:
            self.session.headers["User-Agent"] = user_agent
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.rate_limiter = rate_limiter
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._now = now
        self.dry_run = dry_run
        self.recorder = recorder
        self.dry_run_responder = dry_run_responder or synthetic_response
        self.on_request = on_request
        self.default_headers = dict(default_headers or {})
        self.json_content_type = json_content_type
        self.verify = verify
        # True keeps the historical behaviour (POSTs retried like the rest) for connectors
        # that have not opted in; the SCIM connector passes False (issue 9).
        self.retry_non_idempotent = retry_non_idempotent
        # Issue 16: the job's adaptive limit on requests in flight (None: no limit here).
        self.flow: AdaptiveConcurrency | None = None

    def use_flow(self, flow: AdaptiveConcurrency | None) -> None:
        """Share ``flow`` (the job's requests in flight) and size the connection pool to it.

        ``requests``' Session is used from several threads: its urllib3 pool hands each thread
        its own connection, so the pool must hold as many connections as may be in flight.
        """
        self.flow = flow
        if flow is None:
            return
        for prefix in ("http://", "https://"):
            adapter = self.session.adapters.get(prefix)
            if isinstance(adapter, GuardedAdapter) and adapter._pool_maxsize < flow.maximum:
                self.session.mount(
                    prefix,
                    GuardedAdapter(  # the outbound guard stays on every connection
                        pool_connections=adapter._pool_connections,
                        pool_maxsize=flow.maximum,
                        max_retries=0,
                    ),
                )

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] | None = None,
        idempotent: bool | None = None,
        keep_retrying: Callable[[], bool] | None = None,
    ) -> HttpResponse:
        """Send one logical request and return the answer.

        ``keep_retrying`` (optional) is asked before each retry: False gives up at once
        (requests in flight of a kind the target keeps failing, issue 16).

        ``idempotent`` (default: by method, POST is not) says whether the request may be
        sent again after a lost answer. A non-idempotent request whose answer is lost raises
        :class:`TransientError` with ``outcome_unknown`` set, at once, without a retry.

        Raises :class:`TransientError` once retries are spent,
        :class:`CredentialsError` on 401/403 and :class:`ConfigurationError` on
        an unusable URL or a TLS failure. Every other status is returned for the
        caller to interpret.
        """
        method = method.upper()
        full_url = self._full_url(method, url, params)
        recorded = RecordedRequest(method, full_url, json_body)
        if self.dry_run and method in UNSAFE_METHODS:
            if self.recorder is not None:
                self.recorder(recorded)
            logger.info("dry-run: withheld %s %s", method, safe_url(full_url))
            return self.dry_run_responder(recorded)

        policy = retry or self.retry
        request_headers = {**self.default_headers, **(headers or {})}
        body = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            request_headers.setdefault("Content-Type", self.json_content_type)
        attempts = max(1, policy.max_attempts)
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS or self.retry_non_idempotent
        failure: TransientError | None = None
        for attempt in range(1, attempts + 1):
            flow = self.flow
            started = flow.acquire() if flow is not None else 0.0
            status: int | None = None
            response = failure = None
            try:
                with (
                    self.rate_limiter.slot() if self.rate_limiter else nullcontext(None) as sent,
                    on_request_sent(sent) if sent else nullcontext(),
                ):
                    response, failure = self._attempt(
                        method,
                        url,
                        params,
                        body,
                        request_headers,
                        timeout or self.timeout,
                        recorded,
                    )
            except ConnectorError as error:
                status = error.http_status
                raise
            finally:
                if flow is not None:
                    if response is not None:
                        status = response.status
                    elif failure is not None:
                        status = failure.http_status
                    flow.release(
                        started,
                        status=status,
                        timed_out=failure is not None and failure.code == "Timeout",
                        retry_after=failure.retry_after if failure is not None else None,
                        method=method,
                    )
            if response is not None:
                return response
            assert failure is not None
            logger.info(
                "%s %s failed (%s), attempt %d/%d",
                method,
                safe_url(full_url),
                failure.code,
                attempt,
                attempts,
            )
            if not idempotent and not certainly_not_applied(failure):
                failure.outcome_unknown = True
                failure.message = _(
                    "%(message)s The request was not repeated: whether the target applied it "
                    "is unknown."
                ) % {"message": failure.message}
                raise failure
            if attempt == attempts:
                break
            if keep_retrying is not None and not keep_retrying():
                attempts = attempt
                break
            if failure.retry_after is not None:
                delay = min(failure.retry_after, policy.max_retry_after)
            else:
                delay = policy.backoff(attempt, self._rng)
            self._sleep(delay)
        assert failure is not None
        failure.message = _("%(message)s (gave up after %(attempts)d attempts)") % {
            "message": failure.message,
            "attempts": attempts,
        }
        raise failure

    def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: tuple[float, float],
        recorded: RecordedRequest,
    ) -> tuple[HttpResponse | None, TransientError | None]:
        """One try: an answer to return, or a retryable failure; raises the rest."""
        try:
            raw = self.session.request(
                method,
                url,
                params=params,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                verify=self.verify,
                stream=True,
            )
            content = read_capped(raw)
        except requests.exceptions.SSLError as error:
            self._notify(recorded, None)
            reason = next(
                (str(e) for e in _exception_chain(error) if isinstance(e, ssl.SSLError)),
                "",
            )
            raise ConfigurationError(
                _("TLS handshake with %(url)s failed.") % {"url": safe_url(url)},
                code="TLS",
                detail=reason,
            ) from None
        except requests.exceptions.Timeout as error:
            self._notify(recorded, None)
            phase = "connect" if isinstance(error, requests.exceptions.ConnectTimeout) else "read"
            seconds = timeout[0] if phase == "connect" else timeout[1]
            message = (
                _("Could not connect to %(url)s within %(seconds)s seconds.")
                if phase == "connect"
                else _("%(url)s did not answer within %(seconds)s seconds.")
            )
            failure = TransientError(
                message % {"url": safe_url(url), "seconds": seconds}, code="Timeout"
            )
            failure.not_applied = phase == "connect"
            return None, failure
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ):
            raise ConfigurationError(
                _("The URL %(url)s cannot be used.") % {"url": safe_url(url)},
                code="InvalidURL",
            ) from None
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as e:
            self._notify(recorded, None)
            code, message = describe_connection_error(e, url)
            return None, TransientError(message, code=code)

        response = HttpResponse(
            raw.status_code, content, raw.headers, url=raw.url or url, method=method
        )
        self._notify(recorded, response.status)
        logger.debug("%s %s -> %s", method, safe_url(recorded.url), response.status)
        if response.status in (401, 403):
            message = (
                _("The target rejected the credentials (HTTP 401).")
                if response.status == 401
                else _("The credentials are not allowed to do this (HTTP 403).")
            )
            raise CredentialsError(
                message,
                http_status=response.status,
                detail=self.scrub(reply_excerpt(response)),
            )
        if response.status in RETRYABLE_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now)
            message = (
                _("The target is throttling requests (HTTP 429).")
                if response.status == 429
                else _("The target failed with HTTP %(status)d.") % {"status": response.status}
            )
            return None, TransientError(
                message,
                http_status=response.status,
                detail=self.scrub(reply_excerpt(response)),
                retry_after=retry_after,
            )
        return response, None

    @staticmethod
    def _full_url(method: str, url: str, params: Mapping[str, Any] | None) -> str:
        try:
            return requests.Request(method, url, params=params).prepare().url or url
        except (requests.exceptions.RequestException, ValueError):
            raise ConfigurationError(
                _("The URL %(url)s cannot be used.") % {"url": safe_url(url)},
                code="InvalidURL",
            ) from None

    def scrub(self, text: str) -> str:
        """Remove the values of our secret headers (e.g. the bearer token) from text.

        Targets sometimes echo a request back in an error body; what we show or
        store from it must not carry our credentials.
        """
        secrets = []
        for name, value in [*self.default_headers.items(), *self.session.headers.items()]:
            if not value or not is_secret_key(str(name), ("x-api-key", "cookie")):
                continue
            value = str(value)
            secrets.append(value)
            secrets.append(value.rsplit(" ", 1)[-1])  # the token after "Bearer "
        for secret in sorted(set(secrets), key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, REDACTED)
        return text

    def _notify(self, recorded: RecordedRequest, status: int | None) -> None:
        if self.on_request is not None:
            self.on_request(recorded, status)

    def close(self) -> None:
        self.session.close()
