"""The outbound address policy: where the portal may send requests to targets (issue 12).

An administrator types a Tenant URL; without a policy the portal would send requests — and a
bearer token — to whatever that names: the cloud metadata service (169.254.169.254), the
database on loopback, a private network behind the firewall. So every connection a connector
opens goes through :class:`GuardedAdapter`, which:

- resolves the host itself and refuses, before a single byte is sent, an address that is not
  public: loopback, link-local (169.254.0.0/16, fe80::/10, the metadata addresses), private and
  unique-local ranges, carrier-grade NAT, multicast, reserved and unspecified addresses — unless
  the address is inside ``settings.PROVISIONING_ALLOWED_TARGET_NETWORKS`` (development default:
  loopback, so ``make run`` and the tests reach their local targets; production default: none);
- connects to exactly the address it checked, so a DNS answer that changes between the check and
  the connection (rebinding) cannot slip through; odd spellings such as ``0x7f000001`` or
  ``2130706433`` are resolved by the same resolver the connection uses, and so are caught.

:func:`read_capped` reads an answer's body up to ``settings.PROVISIONING_MAX_RESPONSE_BYTES``
and :func:`reply_excerpt` turns a reply that is not JSON into its status, content type and a
short excerpt with control characters escaped — what messages, logs and e-mails may show.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from provisioning.connectors.errors import ConfigurationError, _
from provisioning.security.text import escape_controls

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
EXCERPT_CHARS = 200
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetAddressRefused(ConfigurationError):
    """The target's host resolves to an address the outbound policy does not allow."""

    default_code = "AddressRefused"
    stops_job = True


class ResponseTooLarge(ConfigurationError):
    """The target's answer is larger than ``PROVISIONING_MAX_RESPONSE_BYTES``."""

    default_code = "ResponseTooLarge"


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(str(network).strip(), strict=False)
        for network in getattr(settings, "PROVISIONING_ALLOWED_TARGET_NETWORKS", [])
        if str(network).strip()
    ]


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: what a SaaS application's API is reached at."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def address_allowed(address: str | IPAddress, networks: Iterable | None = None) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    nets = allowed_networks() if networks is None else networks
    if any(ip.version == net.version and ip in net for net in nets):
        return True
    return is_public(ip)


def refusal(host: str, address: str) -> TargetAddressRefused:
    return TargetAddressRefused(
        _(
            "%(host)s resolves to %(address)s, a private, loopback or link-local address; the "
            "portal does not send requests there unless PROVISIONING_ALLOWED_TARGET_NETWORKS "
            "includes it."
        )
        % {"host": host, "address": address}
    )


def resolve_allowed(host: str, port: int) -> list[tuple]:
    """The ``getaddrinfo`` entries of host:port that the policy allows; raises
    :class:`TargetAddressRefused` when it resolves only to refused addresses."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    networks = allowed_networks()
    allowed = [info for info in infos if address_allowed(info[4][0], networks)]
    if not allowed:
        raise refusal(host, infos[0][4][0] if infos else "?")
    return allowed


def outbound_refusal(url: str) -> str | None:
    """Why the policy would refuse every address ``url``'s host resolves to (for forms, so a
    Tenant URL is refused when it is saved, not only when it is used); None when it resolves to
    an allowed address or not at all (Test Connection and cycles then say why)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not parts.hostname:
            return None
        resolve_allowed(parts.hostname, port)
    except TargetAddressRefused as refused:
        return refused.message
    except (OSError, ValueError, UnicodeError):
        return None
    return None


_sent = threading.local()


@contextmanager
def on_request_sent(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` in this thread right after a request has been written to its socket.

    The rate limiter (issue 16) counts a request's place in the window from the moment it
    went out, which is only known here: a grant may wait for the thread to be scheduled.
    """
    previous = getattr(_sent, "callback", None)
    _sent.callback = callback
    try:
        yield
    finally:
        _sent.callback = previous


class _GuardedConnectionMixin:
    """``_new_conn`` of urllib3 2 (``create_connection``), connecting only to addresses the
    policy allowed — the very addresses it resolved and checked; and the signal of
    :func:`on_request_sent` once a request is written."""

    def request(self, *args, **kwargs):
        super().request(*args, **kwargs)
        callback = getattr(_sent, "callback", None)
        if callback is not None:
            callback()

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")
        try:
            candidates = resolve_allowed(host, self.port)
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e
        last_error: OSError | None = None
        for family, socktype, proto, _name, address in candidates:
            sock = None
            try:
                sock = socket.socket(family, socktype, proto)
                urllib3_connection._set_socket_options(sock, self.socket_options)
                if self.timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(self.timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(address)
                return sock
            except OSError as e:
                last_error = e
                if sock is not None:
                    sock.close()
        if isinstance(last_error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from last_error
        raise NewConnectionError(
            self, f"Failed to establish a new connection: {last_error}"
        ) from last_error


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A ``requests`` adapter whose connections obey the outbound address policy."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }


def max_response_bytes() -> int:
    return int(getattr(settings, "PROVISIONING_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES))


def read_capped(response, limit: int | None = None) -> bytes:
    """The body of a streamed ``requests`` response, refusing more than ``limit`` bytes."""
    limit = max_response_bytes() if limit is None else limit
    too_large = ResponseTooLarge(
        _("The target's answer is larger than %(limit)d bytes; it was not read.")
        % {"limit": limit},
        http_status=response.status_code,
    )
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise too_large
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            response.close()
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def reply_excerpt(response) -> str:
    """What may be shown of a target's answer: a JSON document as it is (bounded later), anything
    else — an HTML error page, a proxy's banner, a metadata document — as its status, content
    type and at most a short excerpt with control characters escaped."""
    content = getattr(response, "content", b"") or b""
    text = content.decode("utf-8", errors="replace")
    content_type = str(response.headers.get("Content-Type", "") or "").split(";")[0].strip()
    try:
        if isinstance(json.loads(text), dict | list):
            return text
    except ValueError:
        pass
    if not content:
        return ""
    excerpt = " ".join(escape_controls(text[: EXCERPT_CHARS * 2]).split())[:EXCERPT_CHARS]
    if len(text) > EXCERPT_CHARS:
        excerpt += "…"
    return _("HTTP %(status)s, %(type)s, %(size)d bytes: %(excerpt)s") % {
        "status": response.status,
        "type": content_type or _("no content type"),
        "size": len(content),
        "excerpt": excerpt,
    }
