"""The GoToMeeting connector: GoTo's Admin API behind the :class:`Connector` interface.

What it speaks, from GoTo's public developer documentation (developer.goto.com; the fake in
``provisioning/demo/goto_api.py`` names the page of each behaviour):

- **Token**: ``POST`` to ``token_url`` (default ``authentication.logmeininc.com/oauth/token``,
  the host of GoTo's token retrieval migration guide) with the portal's OAuth client in an
  HTTP Basic header and a form body. Three grants, in this order of preference:

  1. ``refresh_token`` — from the **Authorize** step (authorization code with ``state`` and
     PKCE, see :func:`build_authorization_url` and :meth:`GoToMeetingConnector.exchange_code`).
     GoTo's refresh answer normally has no ``refresh_token``: the stored one is kept. A new one
     in the answer replaces it, and ``on_refresh_token(old, new)`` is told (the registry's
     factory stores it in the job, see :func:`store_rotated_refresh_token`). A refused refresh token (revoked
     or expired) is a :class:`CredentialsError` whose message says *reauthorize*.
  2. ``personal_access_token`` — for headless setups.
  3. ``password`` — the tutorial's Admin User Name and Admin Password: the *legacy* password
     grant, which GoTo keeps only for OAuth clients that still have it enabled.

  The access token is cached until shortly before it expires, then renewed. A 401 on an API
  call drops the token and retries that call once with a new one.
- **Account**: ``GET /me`` lists the admin's ``accounts[].key``; the first account is used.
- **Users**: ``GET /accounts/{key}/users`` paged with ``pageSize``/``offset`` and filtered with
  ``filter=(email="…")`` (GoTo's Page-Sort-Filter reference; the value is a regular
  expression, so the answer is filtered again here for an exact, case-insensitive match),
  ``POST /accounts/{key}/users`` with ``{"users": [{email, firstName, lastName}],
  "suppressEmail": true}`` — which answers ``key`` and ``email``, existing users included
  (a match, never a conflict) — and ``GET|PUT|DELETE /accounts/{key}/users/{userKey}``.
- **Licences and admin roles**: ``GET /accounts/{key}/licenses`` names the licences and their
  ``products``; the GoToMeeting licence is the one whose products include ``G2M``. A user's
  ``licenseKeys`` and ``adminRoles`` are written with ``PUT`` after reading the user, so
  licences of other products and admin roles this connector does not manage are kept.
- **Creates in lists** (issue 16): the engine hands a chunk's new users to
  :meth:`GoToMeetingConnector.create_batch`, 100 at a time — one ``POST`` of the list, one
  filtered ``GET`` per ~60 addresses (``(email="…")`` terms joined by ``|``) to read them back,
  then one ``PUT`` each for licence and roles: about one request per user at GoTo's 10 per
  second, where one by one (``create``) needs three.
- **Limits**: 10 requests per second by default. GoTo's rate-limit page does not mention
  ``Retry-After``: it is honoured when present, and the :class:`~.http.RetryPolicy`'s
  exponential backoff applies when absent. Failures carry this connector's own codes
  (``GOTO_429``, ``GOTO_503``…), never the SCIM connector's.

How the engine's flat attributes map onto that (targets named by ``gallery/gotomeeting.py``):

============  =====================================================================
``email``     the user's e-mail, and the only attribute GoTo can filter (matching)
``firstName`` / ``lastName``  written with PUT
``active``    True = the GoToMeeting licence is granted; False = it is removed (and the
              admin roles this connector grants with it). The GoTo account itself stays:
              disabling never deletes (F17). Azure's string "False" counts as False.
``role``      ``User``: the licence. ``Administrator``: the licence and the admin roles in
              ``administrator_roles`` (default ``["MANAGE_USERS"]``, GoTo's documented role
              to create, modify and delete users; never the owner-level ``SUPER_USER``,
              which a provisioning service should not hand out and a Team Admin cannot
              grant).
============  =====================================================================

Roles are authoritative for the roles this connector manages: a user provisioned as *User*
loses ``administrator_roles`` granted by hand in GoTo, while other admin roles (and other
products' licences) are left alone.

Groups are not part of this template: every group operation raises :class:`BadRequestError`.
Secrets (the admin password, the personal access token, the client secret and the tokens)
never appear in messages, details or logs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import random
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from provisioning.security.outbound import reply_excerpt
from provisioning.security.redaction import REDACTED

from . import register_connector
from .base import (
    GROUP,
    USER,
    BulkOperation,
    BulkResult,
    Capabilities,
    ConnectionTestResult,
    Connector,
    CreateStarted,
    RecordedRequest,
)
from .errors import (
    AlreadyExistsError,
    BadRequestError,
    ConfigurationError,
    ConnectorError,
    CredentialsError,
    NotFoundError,
    PartlyCreatedError,
    TransientError,
    _,
)
from .goto_settings import (
    DEFAULT_ADMIN_API_URL,
    DEFAULT_REQUESTS_PER_SECOND,
    DEFAULT_TOKEN_URL,
    goto_settings,
)
from .http import (
    DEFAULT_TIMEOUT,
    HttpClient,
    HttpResponse,
    RateLimiter,
    RetryPolicy,
    certainly_not_applied,
    safe_url,
)
from .scim import ScimConnector

logger = logging.getLogger(__name__)

G2M_PRODUCT = "G2M"
ROLE_USER = "User"
ROLE_ADMINISTRATOR = "Administrator"
DEFAULT_ADMINISTRATOR_ROLES = ("MANAGE_USERS",)
# The owner-level role: an admin holding it counts as Administrator, but it is never granted.
OWNER_ROLE = "SUPER_USER"
USER_ATTRIBUTES = ("email", "firstName", "lastName", "active", "role")
NAME_ATTRIBUTES = ("email", "firstName", "lastName")
MAX_PAGE_SIZE = 100
# Users added by one POST (its body is a list, issue 16): a body of about 10 KB.
CREATE_BATCH_SIZE = 100
# Filter characters of one read-back GET: about 4 KB of URL once encoded, where HTTP asks servers
# to take request lines of 8,000 octets (RFC 9110 §4.1) — 60 or so addresses a GET. A read-back
# refused as too long (READ_BACK_TOO_LONG) is split, and the shorter length kept.
READ_BACK_FILTER_CHARS = 2_800
READ_BACK_MIN_CHARS = 200
READ_BACK_TOO_LONG = frozenset({413, 414, 431})
READ_BACK_SPLIT = READ_BACK_TOO_LONG | {400}
READ_BACK_MAX_PAGES = 10
MAX_LIST_PAGES = 10_000
DEFAULT_TOKEN_LIFETIME = 3600.0
# Renew this long before the token expires, so a request never leaves with a dying token.
TOKEN_EXPIRY_MARGIN = 60.0
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
DRY_RUN_RECORD_LIMIT = 10_000
# Characters with a meaning in the regular expression of GoTo's filter values.
REGEX_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()]")
REAUTHORIZE = "reauthorize"


class _TokenClient(HttpClient):
    """The HTTP client of the token endpoint: same session, limiter and retries, form body.

    :class:`HttpClient` sends JSON; OAuth2 token requests are form-encoded. The body handed
    to :meth:`request` as ``json_body`` is re-encoded here, right before it goes out. This
    client never runs dry (a dry run still reads the target, so it needs a token) and has
    no recorder, so the password never reaches a hook.
    """

    def _attempt(self, method, url, params, body, headers, timeout, recorded):
        if body is not None and headers.get("Content-Type") == FORM_CONTENT_TYPE:
            body = urlencode(json.loads(body)).encode("ascii")
        return super()._attempt(method, url, params, body, headers, timeout, recorded)


@dataclass(frozen=True)
class _Token:
    access_token: str
    refresh_token: str
    expires_at: float  # on the connector's clock


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` and its ``S256`` ``code_challenge`` (RFC 7636 §4.1–4.2)."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def build_authorization_url(
    authorize_url: str, *, client_id: str, redirect_uri: str, state: str, code_challenge: str
) -> str:
    """Where the Authorize button sends the administrator: GoTo's authorization endpoint with
    the portal's client, its callback, the anti-forgery ``state`` and the PKCE challenge."""
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{authorize_url}{'&' if '?' in authorize_url else '?'}{query}"


def email_filter(email: str) -> str:
    """GoTo's documented filter for one e-mail: ``(email="…")``, whose value is a regular
    expression. Characters special to it become ``.`` (any character), so the address still
    matches itself; the answer is filtered for the exact address afterwards."""
    return f'(email="(?i){REGEX_SPECIAL.sub(".", email)}")'


class GrantFailedAfterCreate(PartlyCreatedError):
    """The user was added to the GoTo account, but its licence or admin roles were refused.

    ``created_id`` is the new (or existing) user's key: the engine links the object, logs the
    create as done — so it is never created twice — and logs this error as the failure of
    the ``unapplied`` attributes, which the escrow retries. ``recommendation`` says what to do.
    """


@dataclass(frozen=True)
class _NewUser:
    """One user a create adds: its address, what it is granted, and the POST's item."""

    email: str
    active: bool
    role: str
    body: dict[str, str]


def _as_bool(value: Any, default: bool = True) -> bool:
    """Read ``active``: booleans, Azure's strings "True"/"False", 1/0; None is ``default``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise BadRequestError(
        _("The value %(value)s of active is not a boolean.") % {"value": value},
        code="InvalidActive",
    )


def _same_key(left: Any, right: Any) -> bool:
    """GoTo keys are numbers in some answers and strings in others."""
    return left is not None and right is not None and str(left) == str(right)


def _items(body: Any, *names: str) -> list[dict[str, Any]]:
    """The list in an answer: a bare JSON list, or the first of ``names`` that holds one."""
    if isinstance(body, list):
        items = body
    elif isinstance(body, Mapping):
        items = next((body[n] for n in names if isinstance(body.get(n), list)), None)
        if items is None:
            raise ValueError("no list in the answer")
    else:
        raise ValueError("the answer is neither a list nor an object")
    if not all(isinstance(item, Mapping) for item in items):
        raise ValueError("a list item is not an object")
    return [dict(item) for item in items]


def _error_fields(body: Any) -> tuple[str, str]:
    """GoTo's error shapes: ``{errorCode, message}`` (Admin API), ``{int_err_code, msg}``
    (the API gateway) and ``{error, error_description}`` (OAuth). Returns (code, message)."""
    if not isinstance(body, Mapping):
        return "", str(body or "")
    code = next(
        (str(body[k]) for k in ("errorCode", "int_err_code", "error", "code") if body.get(k)),
        "",
    )
    message = next(
        (
            str(body[k])
            for k in ("message", "msg", "error_description", "description", "errorMessage")
            if body.get(k)
        ),
        "",
    )
    return code, message


class GoToMeetingConnector(Connector):
    """Provision GoToMeeting users, licences and admin roles through GoTo's Admin API.

    Credentials (the job's, see ``gallery/gotomeeting.py``): ``refresh_token`` (and
    ``authorized_principal``) from the Authorize step, ``personal_access_token``, or the legacy
    ``admin_username`` and ``admin_password``; the first complete one is used.
    Options: ``token_url``, ``api_url``, ``client_id``, ``client_secret`` (the GOTO_*
    settings, see :mod:`.goto_settings`); ``administrator_roles`` granted with the
    *Administrator* role; ``license_key`` to pin one GoToMeeting licence when the account has
    several; ``timeout``; ``retry``; ``requests_per_second`` (default 10, GoTo's limit) or a
    shared ``rate_limiter``; ``sleep`` and ``clock`` (tests inject a virtual clock: token
    expiry and the rate limiter use it); ``rng``; ``dry_run`` with ``recorder``;
    ``on_request``; ``user_agent``; ``session``; ``verify``; ``on_refresh_token(old, new)``
    when GoTo replaces the refresh token.
    """

    kind = "gotomeeting"
    # Requests in flight (issue 16): the token, the account and licence keys are cached under
    # ``_lock``; everything else is per call. The job's rate limit (10 per second, GoTo sends
    # no Retry-After) is one thread-safe limiter shared by every thread, so many requests in
    # flight keep the rate at the limit when GoTo is far away, never above it.
    concurrent_requests = True
    # GoTo's POST adds a list of users: the engine sends a chunk's creates in batches.
    create_batch_size = CREATE_BATCH_SIZE

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        token_url: str = DEFAULT_TOKEN_URL,
        api_url: str = DEFAULT_ADMIN_API_URL,
        client_id: str = "",
        client_secret: str = "",
        administrator_roles: tuple[str, ...] | list[str] = DEFAULT_ADMINISTRATOR_ROLES,
        license_key: str | int | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        requests_per_second: float | None = DEFAULT_REQUESTS_PER_SECOND,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        dry_run: bool = False,
        recorder: Callable[[RecordedRequest], None] | None = None,
        on_request: Callable[[RecordedRequest, int | None], None] | None = None,
        user_agent: str | None = None,
        session: requests.Session | None = None,
        verify: bool | str = True,
        on_refresh_token: Callable[[str, str], None] | None = None,
    ) -> None:
        self.username = str(credentials.get("admin_username") or "").strip()
        self._password = str(credentials.get("admin_password") or "")
        # The refresh token stored by the Authorize step, and who authorized.
        self._authorized_refresh_token = str(credentials.get("refresh_token") or "")
        self.authorized_principal = str(credentials.get("authorized_principal") or "")
        self._personal_access_token = str(credentials.get("personal_access_token") or "")
        self._on_refresh_token = on_refresh_token
        self.token_url = str(token_url or DEFAULT_TOKEN_URL)
        self.api_url = str(api_url or DEFAULT_ADMIN_API_URL).rstrip("/")
        self.client_id = str(client_id or "")
        self._client_secret = str(client_secret or "")
        self.administrator_roles = tuple(dict.fromkeys(administrator_roles))
        self._pinned_license_key = license_key
        self._clock = clock
        self.dry_run = dry_run
        self.recorded_requests: deque[RecordedRequest] = deque(maxlen=DRY_RUN_RECORD_LIMIT)
        self._recorder = recorder
        if rate_limiter is None and requests_per_second is not None:
            rate_limiter = RateLimiter(requests_per_second, clock=clock, sleep=sleep)
        self.rate_limiter = rate_limiter
        headers = {"Accept": "application/json"}
        self.http = HttpClient(
            session=session,
            user_agent=user_agent,
            timeout=timeout,
            retry=retry,
            rate_limiter=rate_limiter,
            sleep=sleep,
            rng=rng,
            dry_run=dry_run,
            recorder=self._record,
            dry_run_responder=self._dry_run_response,
            on_request=on_request,
            default_headers=headers,
            verify=verify,
        )

        def token_hook(recorded: RecordedRequest, status: int | None) -> None:
            # Observers see that a token request went out, never its body.
            if on_request is not None:
                on_request(RecordedRequest(recorded.method, recorded.url, None), status)

        self._auth_http = _TokenClient(
            session=self.http.session,
            timeout=timeout,
            retry=retry,
            rate_limiter=rate_limiter,
            sleep=sleep,
            rng=rng,
            on_request=token_hook,
            default_headers=headers,
            verify=verify,
        )
        self._lock = threading.RLock()
        self._token: _Token | None = None
        self._account_key: str | None = None
        self._license_key: Any = None
        self._me: dict[str, Any] = {}
        self._read_back_chars = READ_BACK_FILTER_CHARS

    # -- secrets ------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        values = [
            self._password,
            self._client_secret,
            self._authorized_refresh_token,
            self._personal_access_token,
        ]
        token = self._token
        if token is not None:
            values += [token.access_token, token.refresh_token]
        return [v for v in values if v and len(v) >= 4]

    def _scrub(self, text: str) -> str:
        """Remove the password, the client secret and the tokens from text."""
        text = self.http.scrub(text or "")
        for secret in sorted(set(self._secrets()), key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def _scrubbed(self, error: ConnectorError) -> ConnectorError:
        """Secrets out, and the connector's own error code (``GOTO_429``, not ``SCIM_429``)."""
        error.message = self._scrub(error.message)
        error.detail = self._scrub(error.detail)
        if error.code.startswith("SCIM_"):
            error.code = "GOTO_" + error.code.removeprefix("SCIM_")
        return error

    @property
    def grant(self) -> str:
        """How this connector signs in: ``authorization_code``, ``personal_access_token``,
        ``password`` or ``""`` (nothing to sign in with)."""
        if self._authorized_refresh_token:
            return "authorization_code"
        if self._personal_access_token:
            return "personal_access_token"
        if self.username and self._password:
            return "password"
        return ""

    @property
    def refresh_token(self) -> str:
        """The refresh token in use (the stored one unless GoTo issued a new one)."""
        token = self._token
        return (token.refresh_token if token else "") or self._authorized_refresh_token

    # -- the token ------------------------------------------------------------------------

    def _access_token(self) -> str:
        with self._lock:
            token = self._token
            if token is not None and self._clock() < token.expires_at:
                return token.access_token
            self._token = self._new_token(token)
            self.http.default_headers["Authorization"] = f"Bearer {self._token.access_token}"
            return self._token.access_token

    def _expire_token(self, access_token: str) -> None:
        """Make the next request get a new token (after a 401), keeping the refresh token."""
        with self._lock:
            token = self._token
            if token is not None and token.access_token == access_token:
                self._token = _Token(token.access_token, token.refresh_token, -math.inf)

    def _new_token(self, previous: _Token | None) -> _Token:
        """Renew the access token with the best grant there is (see the module docstring)."""
        grant = self.grant
        if grant == "authorization_code":
            refresh = (previous.refresh_token if previous else "") or self._authorized_refresh_token
            return self._refresh(refresh, authorized=True)
        if previous is not None and previous.refresh_token:
            try:
                return self._refresh(previous.refresh_token, authorized=False)
            except (CredentialsError, BadRequestError) as error:
                logger.info("GoTo refused the refresh token (%s); signing in again", error.code)
        if grant == "personal_access_token":
            return self._token_request(
                {"grant_type": "personal_access_token", "pat": self._personal_access_token},
                "personal_access_token",
            )
        if grant == "password":
            return self._token_request(
                {"grant_type": "password", "username": self.username, "password": self._password},
                "password",
            )
        raise CredentialsError(
            _(
                "GoTo is not authorized yet: click Authorize, or enter a personal access "
                "token, or the Admin User Name and Admin Password (legacy password grant)."
            ),
            code="MissingCredentials",
        )

    def _refresh(self, refresh_token: str, *, authorized: bool) -> _Token:
        """The refresh grant. GoTo's answer normally has no refresh token: keep ours."""
        try:
            token = self._token_request(
                {"grant_type": "refresh_token", "refresh_token": refresh_token}, "refresh"
            )
        except (CredentialsError, BadRequestError) as error:
            if not authorized:
                raise
            raise CredentialsError(
                _(
                    "GoTo refused the refresh token of the Authorize step (it was revoked or has "
                    "expired): reauthorize — open the Provisioning tab, click Authorize and "
                    "sign in to GoTo again."
                ),
                code="GoToReauthorize",
                http_status=error.http_status,
                detail=error.detail,
                reason=REAUTHORIZE,
            ) from None
        if not token.refresh_token:
            return _Token(token.access_token, refresh_token, token.expires_at)
        if token.refresh_token != refresh_token and self._on_refresh_token is not None:
            self._on_refresh_token(refresh_token, token.refresh_token)
        return token

    def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> dict[str, str]:
        """The Authorize step's exchange: the authorization code (with its PKCE verifier) for
        tokens. Returns ``refresh_token`` and ``principal`` (who signed in at GoTo); the access
        token is kept for this connector's next requests."""
        with self._lock:
            token, principal = self._token_request(
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
                "authorization_code",
                with_principal=True,
            )
            if not token.refresh_token:
                raise BadRequestError(
                    _("GoTo answered the authorization without a refresh token."),
                    code="MalformedTokenResponse",
                )
            self._token = token
            self._authorized_refresh_token = token.refresh_token
            self.authorized_principal = principal
            self.http.default_headers["Authorization"] = f"Bearer {token.access_token}"
            return {"refresh_token": token.refresh_token, "principal": principal}

    def _token_request(self, form: dict[str, str], grant: str, *, with_principal: bool = False):
        if not self.client_id:
            raise ConfigurationError(
                _(
                    "The portal has no GoTo OAuth client: set GOTO_CLIENT_ID and "
                    "GOTO_CLIENT_SECRET (see the README)."
                ),
                code="GoToClientMissing",
            )
        basic = base64.b64encode(f"{self.client_id}:{self._client_secret}".encode()).decode()
        headers = {"Content-Type": FORM_CONTENT_TYPE, "Authorization": f"Basic {basic}"}
        try:
            response = self._auth_http.request(
                "POST", self.token_url, json_body=form, headers=headers
            )
        except CredentialsError as error:
            raise self._token_refused(error.http_status or 401, error.detail, grant) from None
        except ConnectorError as error:
            raise self._scrubbed(error) from None
        if response.status != 200:
            raise self._token_refused(response.status, reply_excerpt(response), grant)
        try:
            body = response.json()
            access_token = str(body["access_token"])
        except (ValueError, KeyError, TypeError):
            raise BadRequestError(
                _("GoTo's token endpoint answered without an access token."),
                code="MalformedTokenResponse",
                http_status=response.status,
            ) from None
        try:
            lifetime = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        margin = min(TOKEN_EXPIRY_MARGIN, lifetime / 10)
        logger.info("GoTo token obtained (%s grant), valid for %.0f s", grant, lifetime)
        token = _Token(
            access_token,
            str(body.get("refresh_token") or ""),
            self._clock() + lifetime - margin,
        )
        if with_principal:
            principal = body.get("principal") or body.get("email") or ""
            return token, str(principal)
        return token

    def _token_refused(self, status: int, text: str, grant: str = "password") -> ConnectorError:
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        code, message = _error_fields(body)
        detail = self._scrub(message or text)
        values = {"status": status, "code": f" {code}" if code else ""}
        if code == "unauthorized_client" and grant in ("password", "personal_access_token"):
            message = (
                _(
                    "The portal's GoTo OAuth client does not allow the legacy password grant "
                    "(HTTP %(status)s%(code)s): click Authorize instead, or use a personal "
                    "access token."
                )
                if grant == "password"
                else _(
                    "The portal's GoTo OAuth client does not allow personal access tokens "
                    "(HTTP %(status)s%(code)s): enable that grant type on the client, or click "
                    "Authorize instead."
                )
            )
            return CredentialsError(
                message % values,
                code="GoToGrantNotAllowed",
                http_status=status,
                detail=detail,
                reason=code,
            )
        if code in ("invalid_client", "unauthorized_client"):
            return ConfigurationError(
                _("GoTo refused the portal's OAuth client (HTTP %(status)s%(code)s); ") % values
                + _("check GOTO_CLIENT_ID and GOTO_CLIENT_SECRET."),
                code="GoToClientRefused",
                http_status=status,
                detail=detail,
                reason=code or None,
            )
        if 500 <= status < 600:
            return TransientError(
                _("GoTo's token endpoint failed (HTTP %(status)s).") % values,
                code=f"GOTO_{status}",
                http_status=status,
                detail=detail,
                reason=code or None,
            )
        refused = {
            "password": _(
                "GoTo refused the admin user name or password (HTTP %(status)s%(code)s); the "
                "legacy password grant works only for OAuth clients that still allow it."
            ),
            "personal_access_token": _(
                "GoTo refused the personal access token (HTTP %(status)s%(code)s)."
            ),
            "authorization_code": _(
                "GoTo refused the authorization code (HTTP %(status)s%(code)s); click "
                "Authorize again."
            ),
            "refresh": _("GoTo refused the refresh token (HTTP %(status)s%(code)s)."),
        }
        return CredentialsError(
            refused.get(grant, refused["password"]) % values,
            code="GoToSignInRefused",
            http_status=status,
            detail=detail,
            reason=code or None,
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, *segments: Any) -> str:
        return "/".join([self.api_url, *(quote(str(s), safe="") for s in segments)])

    def _api(
        self,
        method: str,
        segments: tuple[Any, ...],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> HttpResponse:
        """Send one API request with a valid token; a 401 renews the token and retries once."""
        url = self._url(*segments)
        for attempt in (1, 2):
            token = self._access_token()
            try:
                return self.http.request(
                    method, url, params=params, json_body=json_body, idempotent=idempotent
                )
            except CredentialsError as error:
                if error.http_status == 401 and attempt == 1:
                    logger.info("GoTo answered 401 to %s %s; renewing the token", method, url)
                    self._expire_token(token)
                    continue
                raise self._credentials_error(error, method, url) from None
            except ConnectorError as error:
                raise self._scrubbed(error) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _credentials_error(self, error: CredentialsError, method: str, url: str) -> ConnectorError:
        what = f"{method} {urlsplit(safe_url(url)).path}"
        code, message = _error_fields(self._json_or_text(error.detail))
        detail = self._scrub(message or error.detail)
        if error.http_status == 403:
            return CredentialsError(
                _(
                    "%(what)s: GoTo does not allow this admin to manage users (HTTP 403); the "
                    "admin needs an admin role such as SUPER_USER or MANAGE_USERS."
                )
                % {"what": what},
                code="GOTO_403",
                http_status=403,
                detail=detail,
                reason=code or None,
            )
        return CredentialsError(
            _("%(what)s: GoTo rejected the access token even after signing in again (HTTP 401).")
            % {"what": what},
            code="GOTO_401",
            http_status=error.http_status,
            detail=detail,
            reason=code or None,
        )

    @staticmethod
    def _json_or_text(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            return text

    def error_for(self, status: int, body: Any, what: str) -> ConnectorError:
        """Map a GoTo refusal (status and error body) onto the taxonomy."""
        reason, message = _error_fields(body)
        detail = self._scrub(message or (json.dumps(body) if isinstance(body, Mapping) else ""))
        values = {"what": what, "status": status, "reason": f" {reason}" if reason else ""}
        kwargs = {
            "code": f"GOTO_{status}",
            "http_status": status,
            "detail": detail,
            "reason": reason or None,
        }
        if status == 404:
            return NotFoundError(_("%(what)s: not found in GoTo (HTTP 404).") % values, **kwargs)
        if status == 409:
            return AlreadyExistsError(
                _("%(what)s: the user already exists in GoTo (HTTP 409%(reason)s).") % values,
                **kwargs,
            )
        if status in (401, 403):
            return CredentialsError(
                _("%(what)s: GoTo refused the credentials (HTTP %(status)s).") % values,
                **kwargs,
            )
        if status == 429 or (500 <= status < 600 and status not in (501, 505)):
            return TransientError(
                _("%(what)s: GoTo failed temporarily (HTTP %(status)s).") % values, **kwargs
            )
        if 300 <= status < 400:
            return ConfigurationError(
                _("%(what)s: GoTo redirected the request (HTTP %(status)s); ") % values
                + _("check GOTO_ADMIN_API_URL."),
                **kwargs,
            )
        return BadRequestError(
            _("%(what)s: GoTo refused the request (HTTP %(status)s%(reason)s).") % values,
            **kwargs,
        )

    def _check(self, response: HttpResponse, what: str) -> None:
        if 200 <= response.status < 300:
            return
        raise self.error_for(response.status, self._json_or_text(reply_excerpt(response)), what)

    def _json(self, response: HttpResponse, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise BadRequestError(
                _("GoTo answered %(what)s with a body that is not JSON.") % {"what": what},
                code="MalformedResponse",
                http_status=response.status,
                detail=self._scrub(reply_excerpt(response)),
            ) from None

    def _malformed(self, response: HttpResponse, what: str, problem: str) -> BadRequestError:
        return BadRequestError(
            _("GoTo answered %(what)s with something unexpected (%(problem)s).")
            % {"what": what, "problem": problem},
            code="MalformedResponse",
            http_status=response.status,
            detail=self._scrub(reply_excerpt(response)),
        )

    def _record(self, request: RecordedRequest) -> None:
        self.recorded_requests.append(request)
        if self._recorder is not None:
            self._recorder(request)

    def _dry_run_response(self, request: RecordedRequest) -> HttpResponse:
        """What GoTo would answer to a withheld write: a created user, or no content."""
        headers = CaseInsensitiveDict({"Content-Type": "application/json", "X-Dry-Run": "1"})
        if request.method == "POST" and isinstance(request.json_body, Mapping):
            created = [
                {
                    **user,
                    "key": f"dry-run-{uuid.uuid4()}",
                    "licenseKeys": [],
                    "adminRoles": [],
                }
                for user in request.json_body.get("users") or []
                if isinstance(user, Mapping)
            ]
            return HttpResponse(
                201,
                json.dumps(created).encode(),
                headers,
                url=request.url,
                method=request.method,
                dry_run=True,
            )
        return HttpResponse(204, b"", headers, url=request.url, method=request.method, dry_run=True)

    @staticmethod
    def _require_user(object_type: str) -> None:
        if object_type == GROUP:
            raise BadRequestError(
                _(
                    "Citrix GoToMeeting provisioning does not support groups; "
                    "turn the Groups mapping off."
                ),
                code="GroupsUnsupported",
            )
        if object_type != USER:
            raise ValueError(f"unknown object type {object_type!r}")

    @staticmethod
    def _role(value: Any) -> str:
        if value is None or value == "":
            return ROLE_USER
        text = str(value).strip()
        for role in (ROLE_USER, ROLE_ADMINISTRATOR):
            if text.lower() == role.lower():
                return role
        raise BadRequestError(
            _(
                "Citrix GoToMeeting knows the roles User and Administrator; "
                "“%(role)s” is not one of them."
            )
            % {"role": text},
            code="UnknownRole",
        )

    # -- account, licence, users --------------------------------------------------------------

    def account_key(self) -> str:
        """The key of the admin's first GoTo account (``GET /me``), cached."""
        with self._lock:
            if self._account_key is not None:
                return self._account_key
            what = "GET /me"
            response = self._api("GET", ("me",))
            self._check(response, what)
            body = self._json(response, what)
            accounts = body.get("accounts") if isinstance(body, Mapping) else None
            if not isinstance(accounts, list):
                raise self._malformed(response, what, "no accounts")
            keys = [
                str(a["key"])
                for a in accounts
                if isinstance(a, Mapping) and a.get("key") not in (None, "")
            ]
            if not keys:
                raise ConfigurationError(
                    _("The GoTo admin %(user)s belongs to no GoTo account.")
                    % {"user": self.username},
                    code="NoGoToAccount",
                )
            self._me = dict(body)
            self._account_key = keys[0]
            return self._account_key

    def license_key(self) -> Any:
        """The key of the account's GoToMeeting licence (product ``G2M``), cached."""
        with self._lock:
            if self._license_key is not None:
                return self._license_key
            account = self.account_key()
            what = "GET /accounts/{accountKey}/licenses"
            response = self._api("GET", ("accounts", account, "licenses"))
            self._check(response, what)
            try:
                licences = _items(self._json(response, what), "results", "licenses")
            except ValueError as error:
                raise self._malformed(response, what, str(error)) from None
            meeting = [
                licence
                for licence in licences
                if G2M_PRODUCT in (licence.get("products") or [])
                and licence.get("enabled", True) is not False
                and licence.get("key") not in (None, "")
            ]
            if self._pinned_license_key is not None:
                meeting = [
                    lic for lic in meeting if _same_key(lic["key"], self._pinned_license_key)
                ]
            if not meeting:
                raise ConfigurationError(
                    _("The GoTo account %(account)s has no GoToMeeting (G2M) licence to grant.")
                    % {"account": account},
                    code="NoGoToMeetingLicence",
                )
            self._license_key = meeting[0]["key"]
            return self._license_key

    def _user(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        user = dict(raw)
        user["id"] = str(raw["key"])
        return user

    def _users_page(
        self, *, offset: int, limit: int, filter_text: str | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        what = "GET /accounts/{accountKey}/users"
        params: dict[str, Any] = {"pageSize": limit, "offset": offset}
        if filter_text is not None:
            params["filter"] = filter_text
        response = self._api("GET", ("accounts", self.account_key(), "users"), params=params)
        self._check(response, what)
        body = self._json(response, what)
        try:
            raw_users = _items(body, "results", "users")
        except ValueError as error:
            raise self._malformed(response, what, str(error)) from None
        if not all(u.get("key") not in (None, "") for u in raw_users):
            raise self._malformed(response, what, "a user without a key")
        total = body.get("total") if isinstance(body, Mapping) else None
        return [self._user(u) for u in raw_users], total if isinstance(total, int) else None

    def _get_user(self, target_id: str) -> dict[str, Any]:
        what = f"GET /accounts/{{accountKey}}/users/{target_id}"
        response = self._api("GET", ("accounts", self.account_key(), "users", target_id))
        self._check(response, what)
        body = self._json(response, what)
        if not isinstance(body, Mapping) or body.get("key") in (None, ""):
            raise self._malformed(response, what, "not a user")
        return self._user(body)

    def _put_user(self, target_id: str, body: dict[str, Any]) -> None:
        what = f"PUT /accounts/{{accountKey}}/users/{target_id}"
        response = self._api(
            "PUT", ("accounts", self.account_key(), "users", target_id), json_body=body
        )
        self._check(response, what)

    def _entitlements(
        self, current: Mapping[str, Any], *, active: bool, role: str, revoke_roles: bool = True
    ) -> dict:
        """The ``licenseKeys`` and ``adminRoles`` a user must have; only what differs.

        Computed from the user as GoTo holds it: other products' licences and admin roles
        this connector does not manage are kept. ``revoke_roles=False`` (a create that met an
        existing user) only ever adds roles.
        """
        licence = self.license_key()
        current_licences = list(current.get("licenseKeys") or [])
        current_roles = [str(r) for r in current.get("adminRoles") or []]
        licences = [k for k in current_licences if not _same_key(k, licence)]
        if revoke_roles:
            roles = [r for r in current_roles if r not in self.administrator_roles]
        else:
            roles = list(current_roles)
        if active:
            licences.append(licence)
            if role == ROLE_ADMINISTRATOR:
                roles.extend(r for r in self.administrator_roles if r not in roles)
        changes: dict[str, Any] = {}
        if {str(k) for k in licences} != {str(k) for k in current_licences}:
            changes["licenseKeys"] = licences
        if set(roles) != set(current_roles):
            changes["adminRoles"] = roles
        return changes

    def flatten(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """A GoTo user as the engine's flat attributes (``active`` = licence present)."""
        licence = self.license_key()
        roles = {str(r) for r in resource.get("adminRoles") or []}
        is_admin = bool(roles & set(self.administrator_roles)) or OWNER_ROLE in roles
        return {
            "email": resource.get("email"),
            "firstName": resource.get("firstName"),
            "lastName": resource.get("lastName"),
            "active": any(_same_key(k, licence) for k in resource.get("licenseKeys") or []),
            "role": ROLE_ADMINISTRATOR if is_admin else ROLE_USER,
        }

    # -- interface ----------------------------------------------------------------------------

    def test_connection(self, matching_attribute: str = "email") -> ConnectionTestResult:
        """Sign in, read ``/me`` and look a random e-mail up; each step must work.

        GoTo can only match on e-mail, so the lookup always uses it. The tutorial's hint about
        Team Admin permissions is the gallery template's: the page shows it once, beside the
        message (it is not repeated here).
        """
        try:
            self._access_token()
            account = self.account_key()
            probe = f"{uuid.uuid4().hex}@provisioning-test.invalid"
            found = self.find(USER, "email", probe)
        except ConnectorError as error:
            return ConnectionTestResult(False, error.message, error.detail)
        if found:
            return ConnectionTestResult(
                False, _("GoTo answered a lookup of a random e-mail address with a user.")
            )
        me = self._me.get("email") or self.authorized_principal or self.username
        ways = {
            "authorization_code": _("the Authorize step"),
            "personal_access_token": _("a personal access token"),
            "password": _("the legacy password grant"),
        }
        return ConnectionTestResult(
            True,
            _("Signed in to GoTo as %(user)s with %(way)s; account %(account)s is reachable.")
            % {"user": me, "way": ways.get(self.grant, ""), "account": account},
        )

    def capabilities(self) -> Capabilities:
        return Capabilities(filter=True, patch=True, bulk=False, max_results=MAX_PAGE_SIZE)

    def find(self, object_type: str, attribute: str, value: Any) -> list[dict[str, Any]]:
        self._require_user(object_type)
        if attribute != "email":
            raise BadRequestError(
                _("GoTo can only look users up by email, not by %(attribute)s.")
                % {"attribute": attribute},
                code="UnsupportedFilter",
            )
        email = str(value or "").strip()
        if not email:
            return []
        if '"' in email or "\\" in email:
            raise BadRequestError(
                _("The e-mail address %(email)s cannot be used in a GoTo filter.")
                % {"email": email},
                code="UnsupportedFilterValue",
            )
        users, _total = self._users_page(
            offset=0, limit=MAX_PAGE_SIZE, filter_text=email_filter(email)
        )
        wanted = email.casefold()
        return [u for u in users if str(u.get("email") or "").casefold() == wanted]

    def get(self, object_type: str, target_id: str) -> dict[str, Any]:
        self._require_user(object_type)
        return self._get_user(target_id)

    def list(self, object_type: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        self._require_user(object_type)
        limit = max(1, min(int(page_size), MAX_PAGE_SIZE))
        offset = 0
        for _page in range(MAX_LIST_PAGES):
            users, total = self._users_page(offset=offset, limit=limit)
            yield from users
            offset += len(users)
            if not users or (total is not None and offset >= total):
                return
            if total is None and len(users) < limit:
                return
        raise BadRequestError(_("Listing stopped after too many pages."), code="PagingLimit")

    def create(self, object_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
        """Add the user to the account (no welcome e-mail), then grant licence and roles.

        When the grant fails after the user was added, the error is raised: the object is
        retried, matched by e-mail and completed by an update.
        """
        self._require_user(object_type)
        new = self._new_user(attributes)
        key = self._post_users([new])[0]
        if key is None:
            raise self._no_key(new)
        # GoTo answers key and email only, and answers an existing user the same way: read the
        # user so licences of other products and admin roles already held are kept.
        resource = self._dry_run_user(new, key) if self.dry_run else self._get_user(key)
        return self._complete_create(new, resource)

    def create_batch(self, operations: list[BulkOperation]) -> list[BulkResult | CreateStarted]:
        """Add up to :attr:`create_batch_size` users in one ``POST`` (its body is a list), read
        them back with one filtered ``GET`` per :data:`READ_BACK_FILTER_CHARS` of filter, and
        leave each user's licence and roles (one ``PUT`` each) to its :class:`CreateStarted`.

        About one request per new user instead of three, so GoTo's 10 requests per second add
        about ten users a second (issue 16). What a create may change in GoTo is the same as
        one by one: the user as GoTo holds it is read before its licence and roles are
        computed, so other products' licences and admin roles are kept.

        A batch GoTo refuses (one bad address refuses the list) is sent again in halves until
        only the refused users fail: adding a user GoTo already has answers that user, so
        nothing is ever added twice — which also makes the ``POST`` safe to send again when its
        answer is lost (the HTTP client's bounded retries); once those are spent, every user of
        the batch fails with the error and is looked up before any new create.
        """
        results: list[BulkResult | CreateStarted] = []
        batch: list[tuple[BulkOperation, _NewUser]] = []
        for operation in operations:
            try:
                self._require_user(operation.object_type)
                if operation.method.upper() != "POST":
                    raise ValueError("create_batch takes creates (POST) only")
                batch.append((operation, self._new_user(operation.data or {})))
            except ConnectorError as error:
                results.append(BulkResult.failed(operation, error))
        if not batch:
            return results
        added: list[tuple[BulkOperation, _NewUser, str]] = []
        for (op, new), key in zip(batch, self._add_users([new for _op, new in batch]), strict=True):
            if isinstance(key, ConnectorError):
                results.append(BulkResult.failed(op, key))
            elif key is None:
                results.append(BulkResult.failed(op, self._no_key(new)))
            else:
                added.append((op, new, key))
        if self.dry_run:
            read = {key: self._dry_run_user(new, key) for _op, new, key in added}
        else:  # users a read-back missed are read one by one in their completions
            read = self._read_back([(new.email, key) for _op, new, key in added])
        for op, new, key in added:
            resource = read.get(key)
            if resource is not None:
                grants = self._grants(new, resource)
                if not grants:
                    results.append(BulkResult(op.bulk_id, 201, resource["id"], resource))
                    continue
            results.append(
                CreateStarted(
                    op.bulk_id,
                    partial(self._finish_started, op, new, key, resource),
                    target_id=key,
                    pending=("active", "role"),
                )
            )
        return results

    def _add_users(self, users: list[_NewUser]) -> list[str | None | ConnectorError]:
        """Each user's key, ``None`` (GoTo answered none) or the error that refused it. A list
        GoTo refuses (one bad address refuses it all) is sent again in halves until the
        refused users stand alone — about 2·log₂(100) requests, not one per user; nobody is
        added twice, since GoTo answers an address it has with that user."""
        try:
            return list(self._post_users(users))
        except ConnectorError as error:
            if error.stops_job:
                raise
            if len(users) == 1 or error.retryable or error.outcome_unknown:
                return [error] * len(users)
            half = len(users) // 2
            return self._add_users(users[:half]) + self._add_users(users[half:])

    def _finish_started(
        self, operation: BulkOperation, new: _NewUser, key: str, resource: dict[str, Any] | None
    ) -> BulkResult:
        """The rest of a batched create for one user: read it if the read-back missed it, then
        its licence and roles. The user is in GoTo already: every failure carries its key."""
        try:
            if resource is None:
                resource = self._get_user(key)
            resource = self._complete_create(new, resource)
        except GrantFailedAfterCreate as error:
            return BulkResult(operation.bulk_id, error.http_status or 0, key, error=error)
        except ConnectorError as error:
            if error.stops_job:
                raise
            return BulkResult(
                operation.bulk_id,
                error.http_status or 0,
                key,
                error=self._grant_failed(error, key),
            )
        return BulkResult(operation.bulk_id, 201, resource["id"], resource)

    def _new_user(self, attributes: Mapping[str, Any]) -> _NewUser:
        """What a create sends and then grants, checked before anything is sent."""
        email = str(attributes.get("email") or "").strip()
        if not email:
            raise BadRequestError(
                _("A GoToMeeting user needs an email address."), code="MissingEmail"
            )
        active = _as_bool(attributes.get("active"))
        role = self._role(attributes.get("role"))
        body = {"email": email}
        for name in ("firstName", "lastName"):
            if attributes.get(name) not in (None, ""):
                body[name] = str(attributes[name])
        return _NewUser(email, active, role, body)

    def _post_users(self, users: list[_NewUser]) -> list[str | None]:
        """``POST /accounts/{key}/users`` with ``users``: the key GoTo answered for each (the
        existing user's for an address GoTo has already), ``None`` where it answered none."""
        what = "POST /accounts/{accountKey}/users"
        # Safe to send again after a lost answer: GoTo answers an address it has already with
        # that user, as it is, and adds nothing (never a second account, never a conflict).
        try:
            response = self._api(
                "POST",
                ("accounts", self.account_key(), "users"),
                json_body={"users": [user.body for user in users], "suppressEmail": True},
                idempotent=True,
            )
        except TransientError as error:
            # Every attempt spent: the users may have been added all the same. The engine
            # looks each one up before any new create.
            if not certainly_not_applied(error):
                error.outcome_unknown = True
            raise
        self._check(response, what)
        try:
            answered = _items(self._json(response, what), "users", "results")
        except ValueError as error:
            raise self._malformed(response, what, str(error)) from None
        by_email: dict[str, str] = {}
        for item in answered:
            if item.get("key") not in (None, "") and item.get("email"):
                by_email.setdefault(str(item["email"]).casefold(), str(item["key"]))
        keys = [by_email.get(user.email.casefold()) for user in users]
        if len(users) == 1 and keys[0] is None:
            # One user sent: an answer that spells its address otherwise still names its key.
            keyed = [item for item in answered if item.get("key") not in (None, "")]
            keys = [str(keyed[0]["key"]) if keyed else None]
        return keys

    def _no_key(self, new: _NewUser) -> BadRequestError:
        return BadRequestError(
            _("GoTo answered %(what)s with something unexpected (%(problem)s).")
            % {
                "what": "POST /accounts/{accountKey}/users",
                "problem": "no key for the created user",
            },
            code="MalformedResponse",
            http_status=201,
            detail=self._scrub(new.email),
        )

    def _read_back(self, added: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """Read users just added, by e-mail: GoTo's filter joins ``(email="…")`` terms with
        ``|``, so one ``GET`` reads many (at most :data:`READ_BACK_FILTER_CHARS` of filter, so
        the URL stays short). Only users whose key is one of ``added`` are kept; users a
        read-back missed are read on their own by the caller.

        A read-back refused (400, or as too long: 413, 414, 431) is split in halves; refused
        as too long, the shorter length is kept for this connector's later read-backs (a 400
        may be one address GoTo's filter does not take, which halving isolates)."""
        wanted = {key for _email, key in added}
        found: dict[str, dict[str, Any]] = {}
        groups: list[list[str]] = [[]]
        length = 0
        for email, _key in added:
            if '"' in email or "\\" in email:
                continue  # not expressible in a filter: read on its own afterwards
            term = email_filter(email)
            if groups[-1] and length + len(term) + 1 > self._read_back_chars:
                groups.append([])
                length = 0
            groups[-1].append(term)
            length += len(term) + 1
        for terms in groups:
            if terms:
                self._read_group(terms, wanted, found)
        return found

    def _read_group(
        self, terms: list[str], wanted: set[str], found: dict[str, dict[str, Any]]
    ) -> None:
        filter_text = "|".join(terms)
        offset = 0
        try:
            for _page in range(READ_BACK_MAX_PAGES):
                users, total = self._users_page(
                    offset=offset, limit=MAX_PAGE_SIZE, filter_text=filter_text
                )
                for user in users:
                    if user["id"] in wanted:
                        found[user["id"]] = user
                offset += len(users)
                if not users or (total is not None and offset >= total):
                    return
                if total is None and len(users) < MAX_PAGE_SIZE:
                    return
        except ConnectorError as error:
            if error.stops_job:
                raise
            if len(terms) > 1 and error.http_status in READ_BACK_SPLIT:
                if error.http_status in READ_BACK_TOO_LONG:
                    with self._lock:
                        self._read_back_chars = max(
                            READ_BACK_MIN_CHARS, min(self._read_back_chars, len(filter_text) // 2)
                        )
                half = len(terms) // 2
                self._read_group(terms[:half], wanted, found)
                self._read_group(terms[half:], wanted, found)
                return
            # Anything else: these users are read on their own.
            logger.info("GoTo's read-back of %s added users failed: %s", len(terms), error)

    def _dry_run_user(self, new: _NewUser, key: str) -> dict[str, Any]:
        return self._user({**new.body, "key": key, "licenseKeys": [], "adminRoles": []})

    def _grants(self, new: _NewUser, resource: Mapping[str, Any]) -> dict[str, Any]:
        """What a create still writes to the user as GoTo holds it: licence, roles, and the
        names of an existing user the create met."""
        grants = self._entitlements(resource, active=new.active, role=new.role, revoke_roles=False)
        for name in ("firstName", "lastName"):
            if name in new.body and resource.get(name) not in (None, new.body[name]):
                grants[name] = new.body[name]
        return grants

    def _complete_create(self, new: _NewUser, resource: dict[str, Any]) -> dict[str, Any]:
        grants = self._grants(new, resource)
        if grants:
            try:
                self._put_user(resource["id"], grants)
            except ConnectorError as error:
                if error.stops_job or error.retryable:
                    raise
                raise self._grant_failed(error, resource["id"]) from None
            resource.update(grants)
        return resource

    def _grant_failed(self, error: ConnectorError, user_id: str) -> GrantFailedAfterCreate:
        """The licence (or roles) refused right after the user was added: say which and why."""
        if error.reason == "SEATS_EXCEEDED":
            message = _(
                "The user was added to GoTo, but there is no free GoToMeeting licence to grant."
            )
            recommendation = _(
                "Free a seat or buy more seats of the GoToMeeting licence in GoTo's admin "
                "centre; the licence is granted when the user is retried."
            )
            code = "GoToNoFreeLicence"
        else:
            message = _(
                "The user was added to GoTo, but granting its licence and admin roles failed: "
                "%(message)s"
            ) % {"message": error.message}
            recommendation = _(
                "Check the GoToMeeting licence and the admin roles in GoTo; the grant is "
                "retried with the user."
            )
            code = error.code
        return GrantFailedAfterCreate(
            message,
            created_id=str(user_id),
            unapplied=("active", "role"),
            recommendation=recommendation,
            code=code,
            http_status=error.http_status,
            detail=error.detail,
            reason=error.reason,
        )

    def update(
        self,
        object_type: str,
        target_id: str,
        changes: dict[str, Any],
        full: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """One PUT with the changed names and, when active or role changed, the licence and
        admin roles computed against the user's current state (read first)."""
        self._require_user(object_type)
        if not changes:
            return None
        unknown = sorted(set(changes) - set(USER_ATTRIBUTES))
        if unknown:
            raise BadRequestError(
                _("Citrix GoToMeeting has no attribute %(names)s.") % {"names": ", ".join(unknown)},
                code="UnsupportedAttribute",
            )
        body: dict[str, Any] = {}
        for name in NAME_ATTRIBUTES:
            if name not in changes:
                continue
            value = changes[name]
            if name == "email" and value in (None, ""):
                raise BadRequestError(
                    _("A GoToMeeting user's email cannot be cleared."), code="MissingEmail"
                )
            body[name] = "" if value is None else str(value)
        if "active" in changes or "role" in changes:
            current = self._get_user(target_id)
            state = self.flatten(current)
            active = _as_bool(changes["active"]) if "active" in changes else state["active"]
            if "role" in changes:
                role = self._role(changes["role"])
            elif full is not None and "role" in full:
                role = self._role(full["role"])
            else:
                role = state["role"]
            body.update(self._entitlements(current, active=active, role=role))
        if body:
            self._put_user(target_id, body)
        return None

    def disable(self, object_type: str, target_id: str) -> None:
        """Remove the GoToMeeting licence and the admin roles granted with it; the account stays."""
        self._require_user(object_type)
        current = self._get_user(target_id)
        body = self._entitlements(current, active=False, role=ROLE_USER)
        if body:
            self._put_user(target_id, body)

    def delete(self, object_type: str, target_id: str) -> None:
        self._require_user(object_type)
        what = f"DELETE /accounts/{{accountKey}}/users/{target_id}"
        response = self._api("DELETE", ("accounts", self.account_key(), "users", target_id))
        if response.status == 404:
            return  # already gone: the goal is reached
        self._check(response, what)

    def add_members(self, group_id: str, member_ids: list[str]) -> None:
        self._require_user(GROUP)

    def remove_members(self, group_id: str, member_ids: list[str]) -> None:
        self._require_user(GROUP)

    def read_attributes(
        self, object_type: str, resource: dict[str, Any], paths: list[str]
    ) -> dict[str, Any]:
        self._require_user(object_type)
        flat = self.flatten(resource)
        return {path: flat[path] if path in flat else resource.get(path) for path in paths}

    def member_ids(self, resource: dict[str, Any]) -> list[str]:
        return []

    def case_insensitive_paths(self, object_type: str) -> frozenset[str]:
        return frozenset({"email"})  # GoTo looks users up by e-mail without regard to case

    def display_name(self, object_type: str, resource: dict[str, Any]) -> str:
        return str(resource.get("email") or resource.get("id") or "")

    def is_protected(self, object_type: str, resource: dict[str, Any]) -> bool:
        """The signed-in admin and the account's owners and super users are never disabled."""
        self.account_key()  # reads /me once
        if self._me.get("key") not in (None, "") and _same_key(self._me["key"], resource.get("id")):
            return True
        roles = {str(r) for r in resource.get("adminRoles") or []}
        return OWNER_ROLE in roles

    def close(self) -> None:
        self.http.close()


def store_rotated_refresh_token(old: str, new: str) -> None:
    """Keep a refresh token GoTo replaced in the job that held the old one.

    GoTo answers a refresh with a new refresh token when the old one expired; the old one then
    stops working, so the new one must outlive this connector. The connector itself never
    touches the ORM: the registry's factories wire this callback, which hands the tokens to
    :func:`provisioning.services.goto_authorization.replace_refresh_token` when the portal runs
    (and does nothing in plain scripts). A failure here is logged, never raised: the cycle goes
    on with the new token.
    """
    try:
        from django.apps import apps

        if not apps.ready:
            return
        from provisioning.services.goto_authorization import replace_refresh_token

        replace_refresh_token(old, new)
    except Exception:  # never break a cycle over bookkeeping
        logger.exception("Could not store the refresh token GoTo issued")
    finally:
        if threading.current_thread() is not threading.main_thread():
            # A request thread of the job's pool (requests in flight, issue 16) renewed the
            # token: its own database connection is not left open behind it.
            from django.db import connections

            connections.close_all()


def build_gotomeeting_connector(
    credentials: Mapping[str, Any], **options: Any
) -> GoToMeetingConnector:
    """The registry's factory: the job's credentials plus the GOTO_* settings.

    Options given by the caller (the engine passes ``dry_run``, ``recorder``, ``on_request``
    and the job's ``requests_per_second``) win over the settings.
    """
    for name, value in goto_settings().as_options().items():
        options.setdefault(name, value)
    options.setdefault("on_refresh_token", store_rotated_refresh_token)
    return GoToMeetingConnector(credentials, **options)


register_connector("gotomeeting", build_gotomeeting_connector)  # type: ignore[arg-type]


class GoToScimConnector(ScimConnector):
    """The current *GoTo* gallery app: users and groups over SCIM 2.0 at the account's SCIM
    base URL (the ``tenant_url`` credential), with the bearer token an access token obtained
    by the same grants as :class:`GoToMeetingConnector` — normally the refresh token of the
    Authorize step. The access token is renewed before it expires and once after a 401."""

    kind = "goto_scim"

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        token_url: str = DEFAULT_TOKEN_URL,
        client_id: str = "",
        client_secret: str = "",
        clock: Callable[[], float] = time.monotonic,
        on_refresh_token: Callable[[str, str], None] | None = None,
        api_url: str = "",
        **options: Any,
    ) -> None:
        self._goto = GoToMeetingConnector(
            credentials,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
            on_refresh_token=on_refresh_token,
            requests_per_second=None,
            timeout=options.get("timeout", DEFAULT_TIMEOUT),
            sleep=options.get("sleep", time.sleep),
        )
        super().__init__(
            {"tenant_url": credentials.get("tenant_url"), "secret_token": ""}, **options
        )

    def _scrub(self, text: str) -> str:
        return self._goto._scrub(super()._scrub(text))

    def _request(self, method: str, url: str, **kwargs: Any) -> HttpResponse:
        for attempt in (1, 2):
            token = self._goto._access_token()
            self.http.default_headers["Authorization"] = f"Bearer {token}"
            try:
                return super()._request(method, url, **kwargs)
            except CredentialsError as error:
                if error.http_status == 401 and attempt == 1:
                    self._goto._expire_token(token)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._goto.close()
        super().close()


def build_goto_scim_connector(credentials: Mapping[str, Any], **options: Any) -> GoToScimConnector:
    """The registry's factory for the *GoTo* gallery app: GoTo's OAuth settings, no Admin API."""
    for name, value in goto_settings().as_options().items():
        options.setdefault(name, value)
    options.setdefault("on_refresh_token", store_rotated_refresh_token)
    return GoToScimConnector(credentials, **options)


register_connector("goto_scim", build_goto_scim_connector)  # type: ignore[arg-type]
