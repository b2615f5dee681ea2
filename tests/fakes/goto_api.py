"""A fake of GoTo's API built from its public reference; not GoTo.

GoTo's real API cannot be reached from our machines, so the GoToMeeting connector is tested
against this fake: a small HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` in a
thread) with in-memory accounts, users and licences.

From GoTo's public developer reference (developer.goto.com guides, the APIs-guru notes in
``/work/shared/reference/provisioning-facts.md``):

- ``POST /oauth/v2/token``: OAuth2 password and refresh-token grants, the OAuth client in an
  HTTP Basic header, a form body; the answer has ``access_token``, ``token_type``,
  ``refresh_token``, ``expires_in``, ``account_key``, ``email``, ``firstName``, ``lastName``.
- ``GET /admin/rest/v1/me``: the signed-in admin with ``accounts[].key``.
- ``GET /admin/rest/v1/accounts/{accountKey}/users?filter=email eq "…"``,
  ``POST …/users`` with ``{"users": [{email, firstName, lastName}], "suppressEmail": true}``,
  ``GET|PUT|DELETE …/users/{userKey}`` (PUT writes ``licenseKeys`` and ``adminRoles``, e.g.
  ``SUPER_USER``, ``MANAGE_ACCOUNT``).
- ``GET /admin/rest/v1/accounts/{accountKey}/licenses`` with each licence's ``products``
  (``["G2M"]`` for GoToMeeting) and ``seats``.
- 10 requests per second by default, then 429 *without* Retry-After.

Where the reference we could establish is silent, these are the fake's own choices (kept
simple, and what the connector must cope with anyway): paging with ``offset``/``limit`` (at
most 100) answered as ``{"results": [...], "total": n}``; error bodies ``{"errorCode",
"message"}`` from the Admin API, ``{"int_err_code", "msg"}`` from the gateway (bad or
expired token, throttling) and ``{"error", "error_description"}`` from the token endpoint
(RFC 6749: 400 ``invalid_grant``, 401 ``invalid_client``); PUT answers 204; an admin whose
roles include none of ``SUPER_USER``, ``MANAGE_ACCOUNT``, ``MANAGE_USERS`` lacks the *Team
Admin* permission and gets 403 on everything under ``/accounts``; assigning more users to a
licence than it has seats answers 400.

Use it as a context manager (``with start_fake_goto() as fake: …``) and script it:
``fake.fail_next(503)``, ``fake.drop_next()``, ``fake.delay_next(2)``, ``fake.revoke_tokens()``,
``fake.rate_limit = 10``; read it: ``fake.users()``, ``fake.user_by_email(…)``,
``fake.count(…)``, ``fake.grants``, ``fake.throttled``, ``fake.welcome_emails``,
``fake.peak_requests_per_second()``.
A :class:`VirtualClock` shared with the connector makes expiry and rate limits deterministic.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HOST = "127.0.0.1"
API_PREFIX = "/admin/rest/v1"
TOKEN_PATH = "/oauth/v2/token"
FAKE_CLIENT_ID = "fake-goto-client-id"
FAKE_CLIENT_SECRET = "fake-goto-client-secret"
FAKE_ADMIN_EMAIL = "team.admin@contoso.example"
FAKE_ADMIN_PASSWORD = "fake-admin-Passw0rd!"
KNOWN_ADMIN_ROLES = frozenset(
    {
        "SUPER_USER",
        "MANAGE_ACCOUNT",
        "MANAGE_USERS",
        "MANAGE_SEATS",
        "MANAGE_SETTINGS",
        "MANAGE_GROUPS",
        "RUN_REPORTS",
        "MANAGE_DEVICE_GROUPS",
    }
)
# The roles that give an admin the Team Admin permission the tutorial asks for.
TEAM_ADMIN_ROLES = frozenset({"SUPER_USER", "MANAGE_ACCOUNT", "MANAGE_USERS"})
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_DELAY = 30.0
# Tolerance of the one-second rate window, for float noise in clocks that advance by sleeps.
WINDOW_EPSILON = 1e-6
EMAIL_FILTER = re.compile(r'^\s*email\s+eq\s+"([^"\\]*)"\s*$', re.IGNORECASE)


class VirtualClock:
    """A clock that only moves when someone sleeps on it (or calls :meth:`advance`).

    Share it between the fake (token expiry, rate window) and the connector (token cache,
    rate limiter, retry backoff) and nothing depends on wall time.
    """

    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, float(seconds))


@dataclass
class FakeLicence:
    key: int
    description: str
    products: list[str]
    seats: int
    enabled: bool = True

    def as_json(self, used: int) -> dict[str, Any]:
        return {
            "key": self.key,
            "description": self.description,
            "enabled": self.enabled,
            "seats": self.seats,
            "usedSeats": used,
            "products": list(self.products),
        }


@dataclass
class FakeAccount:
    key: str
    name: str
    licences: dict[int, FakeLicence] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # userKey -> user

    def seats_used(self, licence_key: int) -> int:
        return sum(licence_key in u["licenseKeys"] for u in self.users.values())

    def g2m_licence(self) -> FakeLicence:
        return next(lic for lic in self.licences.values() if "G2M" in lic.products)


@dataclass
class FakeAdmin:
    email: str
    password: str
    user_key: str
    account_key: str


@dataclass
class _IssuedToken:
    access_token: str
    refresh_token: str
    admin_email: str
    expires_at: float
    revoked: bool = False


@dataclass
class _Fault:
    kind: str  # "status" | "drop" | "delay"
    status: int = 500
    body: Any = None
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None
    remaining: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path in path
        )


@dataclass(frozen=True)
class SeenRequest:
    at: float  # on the fake's clock
    method: str
    path: str
    status: int | None  # None: the connection was dropped


class _Reply(Exception):
    """Raised by a route to answer with ``status`` and a JSON ``body``."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _api_error(status: int, code: str, message: str) -> _Reply:
    return _Reply(status, {"errorCode": code, "message": message})


class FakeGoTo:
    """The fake's state and behaviour; :meth:`start` serves it on a free loopback port."""

    def __init__(
        self,
        *,
        client_id: str = FAKE_CLIENT_ID,
        client_secret: str = FAKE_CLIENT_SECRET,
        token_lifetime: float = 3600.0,
        rate_limit: int | None = 10,
        clock: Callable[[], float] = time.monotonic,
        issue_refresh_tokens: bool = True,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.rate_limit = rate_limit
        self.clock = clock
        self.issue_refresh_tokens = issue_refresh_tokens
        self.accounts: dict[str, FakeAccount] = {}
        self.admins: dict[str, FakeAdmin] = {}  # lower-cased e-mail -> admin
        self.grants: Counter[str] = Counter()
        self.throttled = 0
        # E-mails GoTo would have sent a welcome e-mail to (POST users without suppressEmail).
        self.welcome_emails: list[str] = []
        self.requests: list[SeenRequest] = []
        self._tokens: dict[str, _IssuedToken] = {}
        self._refresh: dict[str, _IssuedToken] = {}
        self._faults: list[_Fault] = []
        self._accepted_times: list[float] = []
        self._keys = itertools.count(7_310_000_000_000_000_001)
        self._licence_keys = itertools.count(5_550_001)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake GoTo API is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def connector_options(self) -> dict[str, Any]:
        """The connector options (GOTO_* settings) that point at this fake."""
        return {
            "token_url": self.token_url,
            "api_url": self.api_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def start(self, port: int = 0) -> FakeGoTo:
        server = ThreadingHTTPServer((HOST, port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
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

    def __enter__(self) -> FakeGoTo:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- set-up -------------------------------------------------------------------------------

    def _next_key(self) -> str:
        return str(next(self._keys))

    def add_account(
        self,
        name: str = "Contoso",
        *,
        licences: tuple[tuple[str, list[str], int], ...] = (("GoToMeeting Business", ["G2M"], 25),),
    ) -> FakeAccount:
        """An account with licences given as (description, products, seats)."""
        with self._lock:
            account = FakeAccount(key=self._next_key(), name=name)
            for description, products, seats in licences:
                licence = FakeLicence(next(self._licence_keys), description, list(products), seats)
                account.licences[licence.key] = licence
            self.accounts[account.key] = account
            return account

    def add_user(
        self,
        account: FakeAccount,
        email: str,
        first_name: str = "",
        last_name: str = "",
        *,
        licence_keys: tuple[int, ...] = (),
        admin_roles: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        with self._lock:
            user = {
                "key": self._next_key(),
                "email": email,
                "firstName": first_name,
                "lastName": last_name,
                "locale": "en_US",
                "licenseKeys": list(licence_keys),
                "adminRoles": list(admin_roles),
            }
            account.users[user["key"]] = user
            return dict(user)

    def add_admin(
        self,
        email: str = FAKE_ADMIN_EMAIL,
        password: str = FAKE_ADMIN_PASSWORD,
        *,
        account: FakeAccount | None = None,
        team_admin: bool = True,
        admin_roles: tuple[str, ...] | None = None,
    ) -> FakeAdmin:
        """An admin who can sign in; ``team_admin=False`` gives one without the permission."""
        with self._lock:
            account = account or next(iter(self.accounts.values()), None) or self.add_account()
            roles = (
                admin_roles if admin_roles is not None else (("SUPER_USER",) if team_admin else ())
            )
            user = self.add_user(account, email, "Team", "Admin", admin_roles=tuple(roles))
            admin = FakeAdmin(email, password, user["key"], account.key)
            self.admins[email.lower()] = admin
            return admin

    def seed(self) -> tuple[FakeAccount, FakeAdmin]:
        """The usual start: one account with a GoToMeeting licence and a Team Admin."""
        account = self.add_account()
        admin = self.add_admin(account=account)
        return account, admin

    # -- inspection ---------------------------------------------------------------------------

    @property
    def account(self) -> FakeAccount:
        """The first account (the one :meth:`seed` made)."""
        return next(iter(self.accounts.values()))

    def users(self, account_key: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            account = self.accounts[account_key] if account_key else self.account
            return [json.loads(json.dumps(u)) for u in account.users.values()]

    def user_by_email(self, email: str, account_key: str | None = None) -> dict[str, Any] | None:
        return next(
            (u for u in self.users(account_key) if u["email"].lower() == email.lower()), None
        )

    def g2m_licence_key(self, account_key: str | None = None) -> int:
        account = self.accounts[account_key] if account_key else self.account
        return account.g2m_licence().key

    def count(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> int:
        """Requests seen (``path`` is a substring of the path, without the query)."""
        with self._lock:
            return sum(
                (method is None or r.method == method)
                and (path is None or path in r.path)
                and (status is None or r.status == status)
                for r in self.requests
            )

    def peak_requests_per_second(self) -> int:
        """The most requests received in any one-second window (throttled ones included)."""
        with self._lock:
            times = sorted(r.at for r in self.requests)
        peak, start = 0, 0
        for end, at in enumerate(times):
            while times[start] <= at - 1.0 + WINDOW_EPSILON:
                start += 1
            peak = max(peak, end - start + 1)
        return peak

    # -- scripting ----------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 503,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next matching request(s) with ``status`` (an Admin API error body)."""
        if body is None:
            body = {"errorCode": "INJECTED_FAULT", "message": f"injected HTTP {status}"}
        with self._lock:
            self._faults.append(_Fault("status", status, body, 0.0, method, path, times))

    def drop_next(self, *, times: int = 1, method: str | None = None, path: str | None = None):
        """Close the connection of the next matching request(s) without answering."""
        with self._lock:
            self._faults.append(_Fault("drop", 0, None, 0.0, method, path, times))

    def delay_next(
        self, seconds: float, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Wait ``seconds`` of wall time before answering the next matching request(s)."""
        with self._lock:
            self._faults.append(
                _Fault("delay", 0, None, min(seconds, MAX_DELAY), method, path, times)
            )

    def revoke_tokens(self) -> None:
        """Invalidate every access token issued so far (refresh tokens stay valid)."""
        with self._lock:
            for token in self._tokens.values():
                token.revoked = True

    def set_team_admin(self, email: str, allowed: bool) -> None:
        """Give or take the Team Admin permission of an admin."""
        with self._lock:
            admin = self.admins[email.lower()]
            user = self.accounts[admin.account_key].users[admin.user_key]
            roles = [r for r in user["adminRoles"] if r not in TEAM_ADMIN_ROLES]
            user["adminRoles"] = ["SUPER_USER", *roles] if allowed else roles

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- request handling ---------------------------------------------------------------------

    def _throttle(self, now: float) -> bool:
        """Count the request in the one-second window; True when it must be refused."""
        with self._lock:
            window_start = now - 1.0 + WINDOW_EPSILON
            self._accepted_times = [t for t in self._accepted_times if t > window_start]
            if self.rate_limit is not None and len(self._accepted_times) >= self.rate_limit:
                self.throttled += 1
                return True
            self._accepted_times.append(now)
            return False

    def _record(self, at: float, method: str, path: str, status: int | None) -> None:
        with self._lock:
            self.requests.append(SeenRequest(at, method, path, status))

    def handle(self, method: str, path: str, query: str, headers: Any, body: bytes) -> _Reply:
        if self._throttle(self.clock()):
            # GoTo's documented behaviour: 429 and no Retry-After header.
            return _Reply(429, {"int_err_code": "TooManyRequests", "msg": "Rate limit exceeded"})
        try:
            if path == TOKEN_PATH and method == "POST":
                return self._token(headers, body)
            if not path.startswith(API_PREFIX + "/"):
                raise _api_error(404, "NOT_FOUND", "No such resource")
            admin = self._authenticate(headers)
            return self._route(admin, method, path[len(API_PREFIX) :], query, body)
        except _Reply as reply:
            return reply

    # -- OAuth ---------------------------------------------------------------------------------

    def _token(self, headers: Any, body: bytes) -> _Reply:
        def oauth_error(status: int, code: str, description: str) -> _Reply:
            return _Reply(status, {"error": code, "error_description": description})

        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if (headers.get("Authorization") or "") != f"Basic {expected}":
            return oauth_error(401, "invalid_client", "Client authentication failed")
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return oauth_error(400, "invalid_request", "The body must be form-encoded")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type", "")
        with self._lock:
            if grant == "password":
                admin = self.admins.get(form.get("username", "").lower())
                if admin is None or admin.password != form.get("password"):
                    return oauth_error(400, "invalid_grant", "Invalid username or password")
            elif grant == "refresh_token":
                previous = self._refresh.get(form.get("refresh_token", ""))
                if previous is None:
                    return oauth_error(400, "invalid_grant", "Invalid refresh token")
                admin = self.admins[previous.admin_email]
            else:
                return oauth_error(400, "unsupported_grant_type", f"Grant {grant!r}")
            self.grants[grant] += 1
            refresh = uuid.uuid4().hex if self.issue_refresh_tokens else ""
            token = _IssuedToken(
                uuid.uuid4().hex, refresh, admin.email.lower(), self.clock() + self.token_lifetime
            )
            self._tokens[token.access_token] = token
            if refresh:
                self._refresh[refresh] = token
            user = self.accounts[admin.account_key].users[admin.user_key]
        answer = {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": int(self.token_lifetime),
            "account_key": admin.account_key,
            "account_type": "",
            "email": admin.email,
            "firstName": user["firstName"],
            "lastName": user["lastName"],
            "organizer_key": admin.user_key,
            "version": "3",
        }
        if refresh:
            answer["refresh_token"] = refresh
        return _Reply(200, answer)

    def _authenticate(self, headers: Any) -> FakeAdmin:
        header = headers.get("Authorization") or ""
        invalid = _Reply(401, {"int_err_code": "InvalidToken", "msg": "Invalid token passed"})
        if not header.startswith("Bearer "):
            raise invalid
        with self._lock:
            token = self._tokens.get(header[len("Bearer ") :])
            if token is None or token.revoked:
                raise invalid
            if self.clock() >= token.expires_at:
                raise _Reply(401, {"int_err_code": "InvalidToken", "msg": "Token expired"})
            return self.admins[token.admin_email]

    # -- Admin API -----------------------------------------------------------------------------

    def _route(self, admin: FakeAdmin, method: str, path: str, query: str, body: bytes) -> _Reply:
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if segments == ["me"] and method == "GET":
            return self._me(admin)
        if len(segments) < 3 or segments[0] != "accounts":
            raise _api_error(404, "NOT_FOUND", "No such resource")
        with self._lock:
            account = self.accounts.get(segments[1])
            if account is None or account.key != admin.account_key:
                raise _api_error(403, "FORBIDDEN", "Not an admin of this account")
            caller = account.users[admin.user_key]
            if not set(caller["adminRoles"]) & TEAM_ADMIN_ROLES:
                raise _api_error(
                    403, "FORBIDDEN", "The user does not have permission to manage users"
                )
            rest = segments[2:]
            if rest == ["licenses"] and method == "GET":
                return _Reply(
                    200,
                    [lic.as_json(account.seats_used(lic.key)) for lic in account.licences.values()],
                )
            if rest == ["users"] and method == "GET":
                return self._list_users(account, query)
            if rest == ["users"] and method == "POST":
                return self._create_users(account, self._json_body(body))
            if len(rest) == 2 and rest[0] == "users":
                user = account.users.get(rest[1])
                if user is None:
                    raise _api_error(404, "NOT_FOUND", "User not found")
                if method == "GET":
                    return _Reply(200, dict(user))
                if method == "PUT":
                    return self._update_user(account, caller, user, self._json_body(body))
                if method == "DELETE":
                    if user["key"] == admin.user_key:
                        raise _api_error(400, "INVALID_REQUEST", "An admin cannot delete itself")
                    del account.users[user["key"]]
                    return _Reply(204)
        raise _api_error(404, "NOT_FOUND", "No such resource")

    @staticmethod
    def _json_body(body: bytes) -> Any:
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _api_error(400, "INVALID_REQUEST", "The body is not JSON") from None

    def _me(self, admin: FakeAdmin) -> _Reply:
        with self._lock:
            account = self.accounts[admin.account_key]
            user = account.users[admin.user_key]
            return _Reply(
                200,
                {
                    "key": user["key"],
                    "email": user["email"],
                    "firstName": user["firstName"],
                    "lastName": user["lastName"],
                    "locale": user["locale"],
                    "adminRoles": list(user["adminRoles"]),
                    "accounts": [
                        {
                            "key": account.key,
                            "name": account.name,
                            "adminRoles": list(user["adminRoles"]),
                        }
                    ],
                },
            )

    @staticmethod
    def _int_param(params: dict[str, list[str]], name: str, default: int) -> int:
        try:
            value = int(params.get(name, [default])[0])
        except ValueError:
            raise _api_error(400, "INVALID_REQUEST", f"{name} must be a number") from None
        if value < 0:
            raise _api_error(400, "INVALID_REQUEST", f"{name} must not be negative")
        return value

    def _list_users(self, account: FakeAccount, query: str) -> _Reply:
        params = parse_qs(query, keep_blank_values=True)
        offset = self._int_param(params, "offset", 0)
        limit = min(self._int_param(params, "limit", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE) or 1
        users = list(account.users.values())
        if "filter" in params:
            match = EMAIL_FILTER.match(params["filter"][0])
            if match is None:
                raise _api_error(400, "INVALID_FILTER", 'Only email eq "…" is supported')
            wanted = match.group(1).lower()
            users = [u for u in users if u["email"].lower() == wanted]
        page = users[offset : offset + limit]
        return _Reply(200, {"results": [dict(u) for u in page], "total": len(users)})

    def _create_users(self, account: FakeAccount, body: Any) -> _Reply:
        new_users = body.get("users") if isinstance(body, dict) else None
        if not isinstance(new_users, list) or not new_users:
            raise _api_error(400, "INVALID_REQUEST", "users must be a non-empty list")
        existing = {u["email"].lower() for u in account.users.values()}
        for item in new_users:
            email = str(item.get("email") or "") if isinstance(item, dict) else ""
            if "@" not in email or email.startswith("@") or email.endswith("@"):
                raise _api_error(400, "INVALID_EMAIL", f"Invalid email {email!r}")
            if email.lower() in existing:
                raise _api_error(409, "USER_ALREADY_EXISTS", f"{email} is already a user")
            existing.add(email.lower())
        created = [
            self.add_user(
                account,
                str(item["email"]),
                str(item.get("firstName") or ""),
                str(item.get("lastName") or ""),
            )
            for item in new_users
        ]
        if body.get("suppressEmail") is not True:
            self.welcome_emails.extend(user["email"] for user in created)
        return _Reply(201, created)

    def _update_user(self, account: FakeAccount, caller: dict, user: dict, body: Any) -> _Reply:
        if not isinstance(body, dict):
            raise _api_error(400, "INVALID_REQUEST", "The body must be an object")
        allowed = {"email", "firstName", "lastName", "locale", "licenseKeys", "adminRoles"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise _api_error(400, "INVALID_REQUEST", f"Unknown fields {unknown}")
        if "email" in body:
            email = str(body["email"] or "")
            if "@" not in email:
                raise _api_error(400, "INVALID_EMAIL", f"Invalid email {email!r}")
            if any(
                u["email"].lower() == email.lower() and u["key"] != user["key"]
                for u in account.users.values()
            ):
                raise _api_error(409, "USER_ALREADY_EXISTS", f"{email} is already a user")
        if "licenseKeys" in body:
            keys = body["licenseKeys"]
            if not isinstance(keys, list):
                raise _api_error(400, "INVALID_REQUEST", "licenseKeys must be a list")
            for key in keys:
                try:
                    licence = account.licences[int(key)]
                except (KeyError, TypeError, ValueError):
                    raise _api_error(400, "INVALID_LICENSE", f"No licence {key!r}") from None
                new_seat = licence.key not in user["licenseKeys"]
                if new_seat and account.seats_used(licence.key) >= licence.seats:
                    raise _api_error(
                        400, "SEATS_EXCEEDED", f"Licence {licence.key} has no free seat"
                    )
        if "adminRoles" in body:
            roles = body["adminRoles"]
            if not isinstance(roles, list) or not set(roles) <= KNOWN_ADMIN_ROLES:
                raise _api_error(400, "INVALID_ROLE", f"Unknown admin roles {roles!r}")
            granting_owner = "SUPER_USER" in roles and "SUPER_USER" not in user["adminRoles"]
            if granting_owner and "SUPER_USER" not in caller["adminRoles"]:
                raise _api_error(403, "FORBIDDEN", "Only a super user can grant SUPER_USER")
        for name in ("email", "firstName", "lastName", "locale"):
            if name in body:
                user[name] = str(body[name] if body[name] is not None else "")
        if "licenseKeys" in body:
            user["licenseKeys"] = list(dict.fromkeys(int(k) for k in body["licenseKeys"]))
        if "adminRoles" in body:
            user["adminRoles"] = list(dict.fromkeys(body["adminRoles"]))
        return _Reply(204)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every kept-alive request.
    disable_nagle_algorithm = True
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read counters, not logs."""

    def _handle(self) -> None:
        fake: FakeGoTo = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        at = fake.clock()
        fault = fake._take_fault(self.command, parts.path)
        if fault is not None and fault.kind == "drop":
            fake._record(at, self.command, parts.path, None)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "delay":
            fake._stopping.wait(fault.seconds)
            fault = None
        if fault is not None:
            reply = _Reply(fault.status, fault.body)
        else:
            reply = fake.handle(self.command, parts.path, parts.query, self.headers, body)
        fake._record(at, self.command, parts.path, reply.status)
        content = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        if content:
            self.send_header("Content-Type", "application/json")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if content:
            self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


@contextmanager
def start_fake_goto(*, seed: bool = True, **options: Any) -> Iterator[FakeGoTo]:
    """Serve a :class:`FakeGoTo` on 127.0.0.1 for the ``with`` block.

    ``seed`` adds one account with a GoToMeeting licence (25 seats) and a Team Admin
    (``FAKE_ADMIN_EMAIL`` / ``FAKE_ADMIN_PASSWORD``). ``options`` go to :class:`FakeGoTo`.
    """
    fake = FakeGoTo(**options)
    if seed:
        fake.seed()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def main() -> None:
    """Serve the fake on a fixed loopback port until interrupted (the demo target of `make run`)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="A fake of GoTo's API (not GoTo), on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    fake = FakeGoTo()
    fake.seed()
    fake.start(args.port)
    print(
        f"Fake GoTo API (not GoTo) on http://{HOST}:{args.port}: admin {FAKE_ADMIN_EMAIL} / "
        f"{FAKE_ADMIN_PASSWORD}",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()
