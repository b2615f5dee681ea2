"""A fake of GoTo's API, built from GoTo's public developer documentation; not GoTo.

GoTo's real API cannot be reached from here, so the GoToMeeting connector, its tests and
``make run``'s demo talk to this fake: a small HTTP server on 127.0.0.1 (stdlib
``ThreadingHTTPServer`` in a thread) with in-memory accounts, users and licences. It lives in
the product (``provisioning/demo``) because ``make run`` starts it; the tests import it from
here too (``tests/fakes/goto_api.py`` re-exports it).

What it does, and the documentation page each behaviour comes from (developer.goto.com):

- **Token host** — ``POST /oauth/token`` on the authentication host
  (*Migrating to New Token Retrieval with authentication.logmeininc.com*,
  guides/Authentication/New_Token_Retrieval_Migration_Guide). The decommissioned
  ``/oauth/v2/token`` of ``api.getgo.com`` answers 410 here, so a client still using it fails.
  The OAuth client authenticates with HTTP Basic ``client_id:client_secret``; the body is
  form-encoded (*How to obtain an OAuth access token*, guides/Authentication/03_HOW_accessToken).
- **Authorization code** — ``GET /oauth/authorize?client_id&response_type=code&redirect_uri``
  shows a sign-in and consent page ("Allow"); allowing redirects to ``redirect_uri`` with
  ``code`` (and the client's ``state``); the code is exchanged once
  (``grant_type=authorization_code``); a second exchange fails (03_HOW_accessToken). The
  redirect URI must be one registered on the OAuth client (*How to create an OAuth client*,
  guides/Get Started/02_HOW_createClient).
- **Refresh** — ``grant_type=refresh_token``; the answer normally has *no* ``refresh_token``
  (the stored one stays valid) and has one only when GoTo issued a new one
  (*How to Obtain and Use Refresh Tokens*, guides/Authentication/05_HOW_refreshToken).
  ``rotate_refresh_token_next()`` scripts that case; ``revoke_refresh_tokens()`` makes every
  refresh token fail with ``invalid_grant``.
- **Password grant** — only for OAuth clients that still have it enabled
  (``password_grant_enabled``, default True for the tutorial's legacy path): *New OAuth
  clients … will not work with a password grant flow* (*Direct login migration*,
  guides/References/05_Direct-Login_migration). A client without it gets
  ``unauthorized_client``.
- **Personal access token** — ``grant_type=personal_access_token&pat=…``, when the client has
  that grant enabled (*How to obtain an OAuth access token using a Personal Access Token*,
  guides/Authentication/03.1_HOW_accessTokenPAT).
- **Users** — ``GET /admin/rest/v1/accounts/{accountKey}/users`` paged with ``pageSize`` and
  ``offset`` and filtered with ``filter=(email="…")`` where the value is a regular
  expression (``(?i)`` allowed) and terms may be joined with ``|``
  (*Paging, Sorting & Filtering Output*, guides/References/03_Page-Sort-Filter).
  ``POST …/users`` with ``{"users": [{email, firstName, lastName}], "suppressEmail": true}``
  answers 201 with ``key`` and ``email`` of each user, *existing (conflicting) users included*
  (*How to create, update and delete account users via Admin API*,
  guides/GoToConnect/10_HOW_manageAccountUsers). ``GET|PUT|DELETE …/users/{userKey}``.
- **Admin roles** — ``SUPER_USER``, ``MANAGE_USERS``, ``MANAGE_SEATS``, ``MANAGE_SETTINGS``,
  ``MANAGE_GROUPS``, ``RUN_REPORTS`` (the Admin API's role list as GoTo's connector partners
  document it, e.g. SailPoint's GoToMeeting connector "Admin Roles"); any other role, such as
  the ``MANAGE_ACCOUNT`` this portal once granted, is refused with 400.
- **Rate limit** — 10 requests per second by default, then 429 (*Rate Limiting*,
  guides/References/Ref-Rate-Limits). That page says nothing about ``Retry-After``: the fake
  sends none unless ``retry_after`` is set, so clients are tested both ways.

Still assumed, where the pages we could read are silent (kept simple, and what a client must
cope with anyway):

- PKCE (RFC 7636): GoTo's pages do not mention it. When the authorize request carries a
  ``code_challenge`` (``S256`` or ``plain``), the exchange must carry the matching
  ``code_verifier``, as RFC 7636 requires of any server that supports it.
- The authorization code lives 10 minutes (RFC 6749's recommended maximum).
- The personal-access-token answer carries no refresh token (the PAT is exchanged again).
- Paging answers ``{"results": [...], "total": n}``; ``pageSize`` is at most 100 (default
  50); query parameters the page does not document (such as ``limit``) are refused with 400
  so a client using the old shape is noticed.
- Error bodies: ``{"errorCode", "message"}`` from the Admin API, ``{"int_err_code", "msg"}``
  from the gateway (bad or expired token, throttling), ``{"error", "error_description"}``
  from the token endpoint (RFC 6749); PUT answers 204.
- An admin whose roles include neither ``SUPER_USER`` nor ``MANAGE_USERS`` lacks the
  *Team Admin* permission of the tutorial and gets 403 under ``/accounts``; only a
  ``SUPER_USER`` may grant ``SUPER_USER``.
- Granting a licence beyond its seats answers 400 ``SEATS_EXCEEDED``.

Use it as a context manager (``with start_fake_goto() as fake: …``) and script it:
``fake.fail_next(503)``, ``fake.drop_next()``, ``fake.lose_answer_next()`` (carried out, then no
answer), ``fake.delay_next(2)``, ``fake.revoke_tokens()``, ``fake.revoke_refresh_tokens()``,
``fake.rotate_refresh_token_next()``,
``fake.add_personal_access_token(email)``, ``fake.register_redirect_uri(uri)``,
``fake.rate_limit = 10``, ``fake.retry_after = 2``, ``fake.latency = 0.2`` (seconds before every
answer); read it: ``fake.users()``,
``fake.user_by_email(…)``, ``fake.count(…)``, ``fake.grants``, ``fake.throttled``,
``fake.welcome_emails``, ``fake.user_queries``, ``fake.peak_requests_per_second()``.
A :class:`VirtualClock` shared with the connector makes expiry and rate limits deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import html
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
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

HOST = "127.0.0.1"
API_PREFIX = "/admin/rest/v1"
TOKEN_PATH = "/oauth/token"
AUTHORIZE_PATH = "/oauth/authorize"
# The token path of the decommissioned host (api.getgo.com); answered with 410 Gone.
LEGACY_TOKEN_PATH = "/oauth/v2/token"
FAKE_CLIENT_ID = "fake-goto-client-id"
FAKE_CLIENT_SECRET = "fake-goto-client-secret"
FAKE_ADMIN_EMAIL = "team.admin@contoso.example"
FAKE_ADMIN_PASSWORD = "fake-admin-Passw0rd!"
KNOWN_ADMIN_ROLES = frozenset(
    {
        "SUPER_USER",
        "MANAGE_USERS",
        "MANAGE_SEATS",
        "MANAGE_SETTINGS",
        "MANAGE_GROUPS",
        "RUN_REPORTS",
    }
)
# The roles that give an admin the Team Admin permission the tutorial asks for.
TEAM_ADMIN_ROLES = frozenset({"SUPER_USER", "MANAGE_USERS"})
AUTHORIZATION_CODE_LIFETIME = 600.0
USER_LIST_PARAMETERS = frozenset({"pageSize", "offset", "filter", "ascending", "descending"})
# One term of the documented filter syntax: (name="value"), the value a regular expression.
FILTER_TERM = re.compile(r'^\(\s*(email|firstName|lastName)\s*=\s*"((?:[^"\\]|\\.)*)"\s*\)$')
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
MAX_DELAY = 30.0
# Tolerance of the one-second rate window, for float noise in clocks that advance by sleeps.
WINDOW_EPSILON = 1e-6


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
class _RefreshGrant:
    admin_email: str
    revoked: bool = False


@dataclass
class _AuthorizationCode:
    admin_email: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    code_challenge_method: str
    expires_at: float


@dataclass
class _Fault:
    kind: str  # "status" | "drop" | "delay"
    status: int = 500
    body: Any = None
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None
    remaining: int = 1
    headers: dict[str, str] = field(default_factory=dict)

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
    """Raised by a route to answer with ``status`` and a JSON ``body`` (or raw bytes)."""

    def __init__(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.content_type = content_type

    def content(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


def _api_error(status: int, code: str, message: str) -> _Reply:
    return _Reply(status, {"errorCode": code, "message": message})


def _html_reply(status: int, title: str, text: str) -> _Reply:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" '
        f'href="data:,"><title>{html.escape(title)}</title></head><body><h1>'
        f"{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return _Reply(status, page.encode(), content_type="text/html; charset=utf-8")


def _redirect(redirect_uri: str, *, state: dict[str, str], **params: str) -> _Reply:
    """302 back to the client's redirect URI with ``params`` and the client's ``state``."""
    if state.get("state"):
        params["state"] = state["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return _Reply(302, None, {"Location": redirect_uri + separator + urlencode(params)})


def _pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 §4.6: the verifier hashed (S256) or as is (plain) equals the challenge."""
    if not verifier:
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        computed = verifier
    return computed == challenge


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
        password_grant_enabled: bool = True,
        personal_access_token_grant_enabled: bool = True,
        retry_after: float | None = None,
        redirect_uris: tuple[str, ...] = (),
        access_token_value: str | None = None,
        latency: float = 0.0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.rate_limit = rate_limit
        self.clock = clock
        # False: even a password grant answers without a refresh token.
        self.issue_refresh_tokens = issue_refresh_tokens
        self.password_grant_enabled = password_grant_enabled
        self.personal_access_token_grant_enabled = personal_access_token_grant_enabled
        # Seconds sent as Retry-After with a 429; None: no header (GoTo documents none).
        self.retry_after = retry_after
        self.redirect_uris: list[str] = list(redirect_uris)
        # The access token to issue instead of a random one: tests point a SCIM server that
        # accepts one fixed bearer token (the *GoTo* gallery app's target) at this fake.
        self.access_token_value = access_token_value
        # Seconds added before every answer: GoTo is far away (a real round trip is 50-300 ms).
        self.latency = latency
        # The query strings of the user lists received (paging and filter shapes, for tests).
        self.user_queries: list[dict[str, list[str]]] = []
        self.accounts: dict[str, FakeAccount] = {}
        self.admins: dict[str, FakeAdmin] = {}  # lower-cased e-mail -> admin
        self.grants: Counter[str] = Counter()
        self.throttled = 0
        # E-mails GoTo would have sent a welcome e-mail to (POST users without suppressEmail).
        self.welcome_emails: list[str] = []
        self.requests: list[SeenRequest] = []
        self._tokens: dict[str, _IssuedToken] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._codes: dict[str, _AuthorizationCode] = {}
        self._personal_access_tokens: dict[str, str] = {}  # token -> admin e-mail (lower case)
        self._rotate_next_refresh = False
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
    def authorize_url(self) -> str:
        return self.url + AUTHORIZE_PATH

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
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next matching request(s) with ``status`` (an Admin API error body)."""
        if body is None:
            body = {"errorCode": "INJECTED_FAULT", "message": f"injected HTTP {status}"}
        with self._lock:
            self._faults.append(
                _Fault("status", status, body, 0.0, method, path, times, dict(headers or {}))
            )

    def drop_next(self, *, times: int = 1, method: str | None = None, path: str | None = None):
        """Close the connection of the next matching request(s) without answering."""
        with self._lock:
            self._faults.append(_Fault("drop", 0, None, 0.0, method, path, times))

    def lose_answer_next(
        self, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Carry out the next matching request(s), then close the connection without answering
        (the answer lost on its way back: the write happened, the client cannot know)."""
        with self._lock:
            self._faults.append(_Fault("lose", 0, None, 0.0, method, path, times))

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

    def revoke_refresh_tokens(self) -> None:
        """Invalidate every refresh token issued so far (an admin revoked the app's access)."""
        with self._lock:
            for grant in self._refresh.values():
                grant.revoked = True

    def rotate_refresh_token_next(self) -> None:
        """Make the next refresh answer carry a new refresh token (and retire the old one)."""
        with self._lock:
            self._rotate_next_refresh = True

    def register_redirect_uri(self, uri: str) -> None:
        """Add a redirect URI to the fake OAuth client (as on GoTo's developer site)."""
        with self._lock:
            if uri not in self.redirect_uris:
                self.redirect_uris.append(uri)

    def add_personal_access_token(self, email: str = FAKE_ADMIN_EMAIL) -> str:
        """A personal access token of an admin (as created at myaccount.goto.com)."""
        with self._lock:
            token = "pat-" + uuid.uuid4().hex
            self._personal_access_tokens[token] = email.lower()
            return token

    def refresh_token_valid(self, refresh_token: str) -> bool:
        with self._lock:
            grant = self._refresh.get(refresh_token)
            return grant is not None and not grant.revoked

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
            # The documented 429; Retry-After only when scripted (the rate-limit page names none).
            extra = {} if self.retry_after is None else {"Retry-After": f"{self.retry_after:g}"}
            return _Reply(
                429, {"int_err_code": "TooManyRequests", "msg": "Rate limit exceeded"}, extra
            )
        try:
            if path == LEGACY_TOKEN_PATH:
                raise _Reply(
                    410,
                    {
                        "error": "gone",
                        "error_description": "api.getgo.com token retrieval is "
                        "decommissioned; use authentication.logmeininc.com/oauth/token",
                    },
                )
            if path == TOKEN_PATH and method == "POST":
                return self._token(headers, body)
            if path == AUTHORIZE_PATH and method == "GET":
                return self._authorize_page(parse_qs(query, keep_blank_values=True))
            if path == AUTHORIZE_PATH and method == "POST":
                return self._authorize_decision(headers, body)
            if not path.startswith(API_PREFIX + "/"):
                raise _api_error(404, "NOT_FOUND", "No such resource")
            admin = self._authenticate(headers)
            return self._route(admin, method, path[len(API_PREFIX) :], query, body)
        except _Reply as reply:
            return reply

    # -- OAuth: the authorization endpoint ------------------------------------------------------

    def _authorization_request(self, params: dict[str, list[str]]) -> dict[str, str]:
        """Validate an authorization request; its parameters, or a page explaining the refusal.

        Errors about the client or the redirect URI are shown on the page, never redirected
        (RFC 6749 §4.1.2.1): the redirect URI is not trusted yet.
        """
        values = {k: v[0] for k, v in params.items() if v}
        if values.get("client_id") != self.client_id:
            raise _html_reply(400, "Unknown OAuth client", "The client_id is not registered.")
        redirect_uri = values.get("redirect_uri", "")
        if redirect_uri not in self.redirect_uris:
            raise _html_reply(
                400,
                "Redirect URI not registered",
                "The redirect_uri is not one of the OAuth client's redirect URIs.",
            )
        if values.get("response_type") != "code":
            raise _redirect(redirect_uri, error="unsupported_response_type", state=values)
        method = values.get(
            "code_challenge_method", "plain" if values.get("code_challenge") else ""
        )
        if method not in ("", "plain", "S256"):
            raise _redirect(redirect_uri, error="invalid_request", state=values)
        return values

    def _authorize_page(self, params: dict[str, list[str]]) -> _Reply:
        values = self._authorization_request(params)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in values.items()
        )
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Sign in to GoTo (fake)</title></head>
<body><main>
<h1>Sign in to GoTo</h1>
<p>A local fake of GoTo's sign-in and consent page; not GoTo.</p>
<form method="post" action="{AUTHORIZE_PATH}">{hidden}
<p><label for="email">Email</label> <input id="email" name="email" type="email" autocomplete="off"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password"></p>
<p>The application asks to manage the users of your GoTo account.</p>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></main></body></html>"""
        return _Reply(200, body.encode(), content_type="text/html; charset=utf-8")

    def _authorize_decision(self, headers: Any, body: bytes) -> _Reply:
        params = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        values = self._authorization_request(params)
        redirect_uri = values["redirect_uri"]
        if values.get("decision") != "allow":
            return _redirect(redirect_uri, error="access_denied", state=values)
        with self._lock:
            admin = self.admins.get(values.get("email", "").lower())
            if admin is None or admin.password != values.get("password", ""):
                return _html_reply(401, "Sign-in failed", "Wrong email or password.")
            code = uuid.uuid4().hex + uuid.uuid4().hex
            self._codes[code] = _AuthorizationCode(
                admin_email=admin.email.lower(),
                client_id=values["client_id"],
                redirect_uri=redirect_uri,
                code_challenge=values.get("code_challenge", ""),
                code_challenge_method=values.get("code_challenge_method", "plain"),
                expires_at=self.clock() + AUTHORIZATION_CODE_LIFETIME,
            )
        return _redirect(redirect_uri, code=code, state=values)

    # -- OAuth: the token endpoint --------------------------------------------------------------

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
        refresh = ""
        with self._lock:
            if grant == "authorization_code":
                code = self._codes.pop(form.get("code", ""), None)  # one exchange only
                if code is None or code.client_id != self.client_id:
                    return oauth_error(400, "invalid_grant", "Invalid authorization code")
                if self.clock() >= code.expires_at:
                    return oauth_error(400, "invalid_grant", "Authorization code expired")
                if form.get("redirect_uri", "") != code.redirect_uri:
                    return oauth_error(400, "invalid_grant", "redirect_uri mismatch")
                if code.code_challenge and not _pkce_matches(
                    form.get("code_verifier", ""), code.code_challenge, code.code_challenge_method
                ):
                    return oauth_error(400, "invalid_grant", "PKCE verification failed")
                admin = self.admins[code.admin_email]
                refresh = self._new_refresh_token(admin)
            elif grant == "refresh_token":
                previous = self._refresh.get(form.get("refresh_token", ""))
                if previous is None or previous.revoked:
                    return oauth_error(400, "invalid_grant", "Invalid refresh token")
                admin = self.admins[previous.admin_email]
                if self._rotate_next_refresh:
                    self._rotate_next_refresh = False
                    previous.revoked = True
                    refresh = self._new_refresh_token(admin)
            elif grant == "password":
                if not self.password_grant_enabled:
                    return oauth_error(
                        400, "unauthorized_client", "The password grant is not enabled"
                    )
                admin = self.admins.get(form.get("username", "").lower())
                if admin is None or admin.password != form.get("password"):
                    return oauth_error(400, "invalid_grant", "Invalid username or password")
                refresh = self._new_refresh_token(admin) if self.issue_refresh_tokens else ""
            elif grant == "personal_access_token":
                if not self.personal_access_token_grant_enabled:
                    return oauth_error(
                        400, "unauthorized_client", "The personal access token grant is not enabled"
                    )
                email = self._personal_access_tokens.get(form.get("pat", ""))
                if email is None:
                    return oauth_error(400, "invalid_grant", "Invalid personal access token")
                admin = self.admins[email]
            else:
                return oauth_error(400, "unsupported_grant_type", f"Grant {grant!r}")
            self.grants[grant] += 1
            token = _IssuedToken(
                self.access_token_value or uuid.uuid4().hex,
                refresh,
                admin.email.lower(),
                self.clock() + self.token_lifetime,
            )
            self._tokens[token.access_token] = token
        answer = {
            "access_token": token.access_token,
            "token_type": "Bearer",
            "expires_in": int(self.token_lifetime),
            "scope": "identity:scim.org users.v1.read",
            "principal": admin.email,
        }
        if refresh:
            answer["refresh_token"] = refresh
        return _Reply(200, answer)

    def _new_refresh_token(self, admin: FakeAdmin) -> str:
        refresh = uuid.uuid4().hex + uuid.uuid4().hex
        self._refresh[refresh] = _RefreshGrant(admin.email.lower())
        return refresh

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
        self.user_queries.append(params)
        unknown = sorted(set(params) - USER_LIST_PARAMETERS)
        if unknown:
            raise _api_error(400, "INVALID_REQUEST", f"Unknown query parameters {unknown}")
        offset = self._int_param(params, "offset", 0)
        page_size = min(self._int_param(params, "pageSize", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE) or 1
        users = list(account.users.values())
        if "filter" in params:
            wanted = self._filter(params["filter"][0])
            users = [u for u in users if wanted(u)]
        page = users[offset : offset + page_size]
        return _Reply(200, {"results": [dict(u) for u in page], "total": len(users)})

    @staticmethod
    def _filter(text: str) -> Callable[[dict[str, Any]], bool]:
        """The documented filter: ``(name="regex")`` terms joined by ``|`` (any may match).

        The terms of one attribute are matched as one alternation, so a filter of many
        addresses costs one regular-expression match per user, not one per term and user
        (a read-back of 50 addresses in an account of 10,000 users took 0.2 s of the fake's
        CPU, and its other answers waited for it)."""
        patterns: dict[str, list[str]] = {}
        for term in text.split("|"):
            match = FILTER_TERM.match(term.strip())
            if match is None:
                raise _api_error(
                    400, "INVALID_FILTER", 'Filters look like (email="value"), joined by |'
                )
            name, pattern = match.group(1), match.group(2).replace('\\"', '"')
            try:
                re.compile(pattern)
            except re.error:
                raise _api_error(400, "INVALID_FILTER", "The filter value is not valid") from None
            # A leading (?i) applies to its own term only once the terms are joined.
            scoped = f"(?i:{pattern[4:]})" if pattern.startswith("(?i)") else f"(?:{pattern})"
            patterns.setdefault(name, []).append(scoped)
        try:
            tests = [(name, re.compile("|".join(group))) for name, group in patterns.items()]
        except re.error:
            raise _api_error(400, "INVALID_FILTER", "The filter value is not valid") from None
        return lambda user: any(c.fullmatch(str(user.get(n) or "")) for n, c in tests)

    def _create_users(self, account: FakeAccount, body: Any) -> _Reply:
        new_users = body.get("users") if isinstance(body, dict) else None
        if not isinstance(new_users, list) or not new_users:
            raise _api_error(400, "INVALID_REQUEST", "users must be a non-empty list")
        for item in new_users:
            email = str(item.get("email") or "") if isinstance(item, dict) else ""
            if "@" not in email or email.startswith("@") or email.endswith("@"):
                raise _api_error(400, "INVALID_EMAIL", f"Invalid email {email!r}")
        by_email = {u["email"].lower(): u for u in account.users.values()}
        answer = []
        for item in new_users:
            existing = by_email.get(str(item["email"]).lower())
            if existing is None:
                # Existing (conflicting) users are answered as they are, not created again.
                existing = self.add_user(
                    account,
                    str(item["email"]),
                    str(item.get("firstName") or ""),
                    str(item.get("lastName") or ""),
                )
                by_email[existing["email"].lower()] = existing
                if body.get("suppressEmail") is not True:
                    self.welcome_emails.append(existing["email"])
            answer.append({"key": existing["key"], "email": existing["email"]})
        return _Reply(201, answer)

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
        if fault is not None and fault.kind == "lose":
            fake.handle(self.command, parts.path, parts.query, self.headers, body)
            fake._record(at, self.command, parts.path, None)
            self.close_connection = True
            return
        if fault is not None:
            reply = _Reply(fault.status, fault.body, dict(fault.headers))
        else:
            reply = fake.handle(self.command, parts.path, parts.query, self.headers, body)
        if fake.latency > 0:
            fake._stopping.wait(min(fake.latency, MAX_DELAY))
        fake._record(at, self.command, parts.path, reply.status)
        content = reply.content()
        self.send_response(reply.status)
        if content:
            self.send_header("Content-Type", reply.content_type)
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
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="a redirect URI of the fake OAuth client (the portal's Authorize callback)",
    )
    args = parser.parse_args()
    fake = FakeGoTo(redirect_uris=tuple(args.redirect_uri))
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
