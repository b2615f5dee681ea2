"""A scriptable fault-injecting HTTP proxy on 127.0.0.1, for connector and engine tests.

Put it in front of a target and tell it which requests to break::

    with FaultProxy(scim_server.url) as proxy:        # proxy.url: same path, other port
        proxy.inject(Fault.status(409), method="POST", path="/Users")   # next POST /Users
        proxy.inject(Fault.status(503), times=2)                       # next two requests
        proxy.inject(Fault.retry_after(3))                             # 429 + Retry-After: 3
        proxy.inject(Fault.reset(after_upstream=True), method="POST")  # applied, answer lost
        proxy.set_random_faults(0.2, seed=7)                           # 20 % of the rest
        proxy.set_random_faults(0.3, [Fault.lost_answer()], method=WRITES)  # applied, 502
        proxy.inject(Fault.status(500), method="GET", path="/Users", query="filter=")
        ...
        proxy.count("POST", "/Users")      # requests seen (faulted or not)
        proxy.count("POST", forwarded=True)  # requests that reached the target

Scripted rules are consumed in the order they were added, first match wins; a
request no rule matches may get a random fault, else passes through. Faults:

- ``Fault.passthrough()``: forward unchanged.
- ``Fault.status(code, detail=…, headers=…)``: answer a SCIM Error body.
- ``Fault.retry_after(seconds_or_date, status=429)``.
- ``Fault.json(status, body)``: any JSON answer, e.g. a resource without ``id``
  (``Fault.without_id()``); ``Fault.malformed_json()``: a body that is not JSON.
- ``Fault.reset()``: close the connection with a TCP RST, no answer.
- ``Fault.delay(seconds)``: wait (past the client's read timeout), then forward.
- ``Fault.lost_answer(status=502)``: forward (the target does the work), then answer
  ``status`` instead of the target's answer; ``Fault.dropped_answer()``: forward, then
  drop the connection without an answer.

``method`` may be one method or several (``WRITES``); ``query`` matches as a substring
of the (percent-encoded) query string, ``body`` as a substring of the request body.
``Fault.rewrite(function)`` forwards ``function(body)`` instead of the body (a target
that speaks a dialect, e.g. one that takes only Azure's member-removal form).

Any fault built with ``after_upstream=True`` first forwards the request, so the
target applies it, and only then replaces the answer: the "did it happen?" case.

Without an upstream (``FaultProxy(None)``) pass-through answers 200 with a JSON
echo of the request (method, path, query, headers, body), for HTTP client tests.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
UPSTREAM_TIMEOUT = 30.0
MAX_DELAY = 30.0


@dataclass(frozen=True)
class Fault:
    """What to do with one request. Build with the class methods."""

    kind: str  # "pass", "respond", "reset", "delay"
    status_code: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    after_upstream: bool = False
    body_rewrite: Callable[[bytes], bytes] | None = None

    @classmethod
    def passthrough(cls) -> Fault:
        return cls("pass")

    @classmethod
    def status(
        cls,
        code: int,
        *,
        detail: str | None = None,
        scim_type: str | None = None,
        headers: dict[str, str] | None = None,
        after_upstream: bool = False,
    ) -> Fault:
        error: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(code),
            "detail": detail or f"injected HTTP {code}",
        }
        if scim_type:
            error["scimType"] = scim_type
        return cls(
            "respond",
            status_code=code,
            body=json.dumps(error).encode(),
            headers=(("Content-Type", "application/scim+json"), *(headers or {}).items()),
            after_upstream=after_upstream,
        )

    @classmethod
    def retry_after(cls, value: float | str, *, status: int = 429) -> Fault:
        text = value if isinstance(value, str) else f"{value:g}"
        return cls.status(status, headers={"Retry-After": text})

    @classmethod
    def json(cls, status: int, body: Any, *, after_upstream: bool = False) -> Fault:
        return cls(
            "respond",
            status_code=status,
            body=json.dumps(body).encode(),
            headers=(("Content-Type", "application/scim+json"),),
            after_upstream=after_upstream,
        )

    @classmethod
    def without_id(cls, status: int = 201, *, after_upstream: bool = False) -> Fault:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "no-id",
        }
        return cls.json(status, body, after_upstream=after_upstream)

    @classmethod
    def malformed_json(cls, status: int = 200, *, after_upstream: bool = False) -> Fault:
        return cls(
            "respond",
            status_code=status,
            body=b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:List',
            headers=(("Content-Type", "application/scim+json"),),
            after_upstream=after_upstream,
        )

    @classmethod
    def reset(cls, *, after_upstream: bool = False) -> Fault:
        return cls("reset", after_upstream=after_upstream)

    @classmethod
    def lost_answer(cls, status: int = 502) -> Fault:
        """The target applies the request; the client gets ``status`` instead of its answer."""
        return cls.status(status, detail="injected: answer lost", after_upstream=True)

    @classmethod
    def dropped_answer(cls) -> Fault:
        """The target applies the request; the connection is then dropped unanswered."""
        return cls.reset(after_upstream=True)

    @classmethod
    def rewrite(cls, function: Callable[[bytes], bytes]) -> Fault:
        """Forward the request with its body rewritten by ``function``."""
        return cls("pass", body_rewrite=function)

    @classmethod
    def delay(cls, seconds: float, *, after_upstream: bool = False) -> Fault:
        """Wait, then forward; with ``after_upstream``, forward (the target applies it), then
        hold the answer back that long."""
        return cls("delay", seconds=min(seconds, MAX_DELAY), after_upstream=after_upstream)


def _methods(method: str | tuple[str, ...] | list[str] | None) -> frozenset[str] | None:
    if method is None:
        return None
    if isinstance(method, str):
        return frozenset({method.upper()})
    return frozenset(m.upper() for m in method)


@dataclass
class _Rule:
    fault: Fault
    method: frozenset[str] | None
    path: str | None
    remaining: int | None
    query: str | None = None
    body: bytes | None = None

    def matches(self, method: str, path: str, query: str = "", body: bytes = b"") -> bool:
        return (
            (self.method is None or method in self.method)
            and (self.path is None or self.path in path)
            and (self.query is None or self.query in query)
            and (self.body is None or self.body in body)
        )


@dataclass
class _RandomFaults:
    rate: float
    faults: list[Fault]
    rng: random.Random
    method: frozenset[str] | None = None
    path: str | None = None


@dataclass
class SeenRequest:
    method: str
    path: str
    query: str
    fault: str
    body: bytes = field(repr=False, default=b"")
    # When the request arrived and when its answer (or reset) went out (time.monotonic()):
    # tests of requests in flight check that one object never had two at once (issue 16).
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    status: int | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read counters, not logs."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        proxy = self.server.proxy
        parts = urlsplit(self.path)
        fault, seen = proxy._choose_seen(self.command, parts.path, parts.query, body)
        try:
            self._handle_fault(fault, body, seen)
        finally:
            seen.finished = time.monotonic()

    def _handle_fault(self, fault: Fault, body: bytes, seen: SeenRequest) -> None:
        proxy = self.server.proxy
        if proxy.latency > 0 and proxy._stopping.wait(proxy.latency):
            return self._reset()  # a far target: every request takes this long (issue 16)
        if fault.kind == "delay" and not fault.after_upstream:
            if proxy._stopping.wait(fault.seconds):
                return self._reset()
            fault = Fault.passthrough()
        if fault.body_rewrite is not None:
            body = fault.body_rewrite(body)
        if fault.kind == "pass" or fault.after_upstream:
            try:
                status, headers, content = self._forward(body)
            except (OSError, http.client.HTTPException) as error:
                status, headers = 502, [("Content-Type", "text/plain")]
                content = f"fault proxy: upstream failed: {error}".encode()
        if fault.kind == "delay" and proxy._stopping.wait(fault.seconds):
            return self._reset()  # applied by the target; the answer never comes
        if fault.kind == "reset":
            return self._reset()
        if fault.kind == "respond":
            status, headers, content = fault.status_code, list(fault.headers), fault.body
        seen.status = status
        self._reply(status, headers, content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if proxy.upstream is None:
            parts = urlsplit(self.path)
            echo = {
                "method": self.command,
                "path": parts.path,
                "query": parts.query,
                "headers": dict(self.headers.items()),
                "body": body.decode("utf-8", errors="replace"),
            }
            proxy._count_forwarded(self.command, parts.path)
            return 200, [("Content-Type", "application/json")], json.dumps(echo).encode()
        with proxy._upstream_slots:
            return self._forward_upstream(body, headers)

    def _forward_upstream(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        upstream = http.client.HTTPConnection(
            proxy._upstream_host, proxy._upstream_port, timeout=UPSTREAM_TIMEOUT
        )
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            content = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            proxy._count_forwarded(self.command, urlsplit(self.path).path)
            return response.status, kept, content
        finally:
            upstream.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST instead of an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out or connections we reset are expected here."""


class FaultProxy:
    """See the module docstring. Thread-safe; start/stop or use as a context manager."""

    def __init__(
        self,
        upstream: str | None,
        *,
        seed: int = 0,
        latency: float = 0.0,
        upstream_slots: int = 4,
    ) -> None:
        self.upstream = upstream
        self.latency = latency  # seconds added to every request (a far target)
        # scim2-server answers one request at a time and its listen backlog is short: many
        # clients in flight (issue 16) wait here for a slot instead of being reset by it.
        self._upstream_slots = threading.BoundedSemaphore(max(1, upstream_slots))
        self._upstream_path = ""
        if upstream is not None:
            parts = urlsplit(upstream)
            if parts.hostname is None:
                raise ValueError(f"upstream needs a host: {upstream!r}")
            self._upstream_host = parts.hostname
            self._upstream_port = parts.port or 80
            self._upstream_path = parts.path.rstrip("/")
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._random: _RandomFaults | None = None
        self._seed = seed
        self._stopping = threading.Event()
        self.seen: Counter[tuple[str, str]] = Counter()
        self.forwarded: Counter[tuple[str, str]] = Counter()
        self.faults: Counter[str] = Counter()
        self.requests: deque[SeenRequest] = deque(maxlen=10_000)
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> FaultProxy:
        server = _ProxyServer((HOST, 0), _Handler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fault-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The upstream URL with the proxy's host and port (same path)."""
        return f"{self.base_url}{self._upstream_path}"

    # -- scripting ---------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        method: str | tuple[str, ...] | None = None,
        path: str | None = None,
        times: int | None = 1,
        query: str | None = None,
        body: str | None = None,
    ) -> None:
        """Apply ``fault`` to the next ``times`` matching requests (``None``: forever).

        ``path`` matches as a substring of the request path (without query), ``query`` as a
        substring of the query string, ``body`` as a substring of the request body (UTF-8).
        """
        encoded = body.encode("utf-8") if body is not None else None
        with self._lock:
            self._rules.append(_Rule(fault, _methods(method), path, times, query, encoded))

    def set_random_faults(
        self,
        rate: float,
        faults: list[Fault] | None = None,
        *,
        seed: int | None = None,
        method: str | tuple[str, ...] | None = None,
        path: str | None = None,
    ) -> None:
        """Give each otherwise unscripted request a ``rate`` chance of a random fault."""
        choices = faults or [
            Fault.status(500),
            Fault.status(503),
            Fault.retry_after(0),
            Fault.reset(),
        ]
        with self._lock:
            self._random = _RandomFaults(
                rate,
                choices,
                random.Random(self._seed if seed is None else seed),
                _methods(method),
                path,
            )

    def clear(self) -> None:
        """Drop scripted and random faults (counters are kept; see :meth:`reset_counters`)."""
        with self._lock:
            self._rules.clear()
            self._random = None

    def reset_counters(self) -> None:
        with self._lock:
            self.seen.clear()
            self.forwarded.clear()
            self.faults.clear()
            self.requests.clear()

    @property
    def pending_rules(self) -> int:
        with self._lock:
            return sum(1 for rule in self._rules if rule.remaining != 0)

    def count(
        self, method: str | None = None, path: str | None = None, *, forwarded: bool = False
    ) -> int:
        """Requests seen (or, with ``forwarded``, that reached the target) matching."""
        counter = self.forwarded if forwarded else self.seen
        with self._lock:
            return sum(
                n
                for (m, p), n in counter.items()
                if (method is None or m == method.upper()) and (path is None or path in p)
            )

    # -- called by the handler ------------------------------------------------------

    def _choose(self, method: str, path: str, query: str, body: bytes) -> Fault:
        return self._choose_seen(method, path, query, body)[0]

    def _choose_seen(
        self, method: str, path: str, query: str, body: bytes
    ) -> tuple[Fault, SeenRequest]:
        with self._lock:
            self.seen[(method, path)] += 1
            chosen = Fault.passthrough()
            for rule in self._rules:
                if rule.remaining != 0 and rule.matches(method, path, query, body):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    chosen = rule.fault
                    break
            else:
                chance = self._random
                if (
                    chance is not None
                    and (chance.method is None or method in chance.method)
                    and (chance.path is None or chance.path in path)
                    and chance.rng.random() < chance.rate
                ):
                    chosen = chance.rng.choice(chance.faults)
            label = chosen.kind if chosen.kind != "respond" else f"respond:{chosen.status_code}"
            if chosen.kind != "pass":
                self.faults[label] += 1
            seen = SeenRequest(method, path, query, label, body)
            self.requests.append(seen)
            return chosen, seen

    def _count_forwarded(self, method: str, path: str) -> None:
        with self._lock:
            self.forwarded[(method, path)] += 1
