"""The error taxonomy every connector raises (modelled on authentik's outgoing sync).

The engine reacts to the *kind* of error, never to a target's wording:

- :class:`TransientError`: try again later (429, 5xx, timeouts, resets) once the
  connector's own bounded retries are spent. With ``outcome_unknown`` set, a
  create's answer was lost: the object may exist now, look it up before any resend.
- :class:`NotFoundError`: the linked target object is gone; re-match or re-create.
- :class:`AlreadyExistsError`: 409 on create; look the object up and link it.
- :class:`BadRequestError`: this one object failed (400, 412, 422, a malformed
  answer); log it and carry on with the others.
- :class:`CredentialsError` and :class:`ConfigurationError`: nothing will work
  until an administrator acts; stop the whole job.

``message`` is shown to administrators and must never carry a secret; ``detail``
holds the target's own (truncated) explanation for the troubleshooting pane.
"""

from __future__ import annotations

DETAIL_MAX_CHARS = 2000


def _(message: str) -> str:
    """Translate ``message`` when Django's translation machinery is available.

    Connectors run inside the portal but also in plain scripts and unit tests
    without settings, so a missing or unready Django falls back to the source text.
    The text remembers its message id, so a log step showing it is translated for
    each reader (``provisioning/log_text.py``).
    """
    from ..log_text import gettext

    return gettext(message)


def truncate_detail(text: str | bytes | None, limit: int = DETAIL_MAX_CHARS) -> str:
    """Return a printable, bounded version of a target's answer body."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "…"


class ConnectorError(Exception):
    """Base of every error a connector raises.

    ``code`` is a short machine string (``SCIM_409``, ``Timeout``…); ``reason``
    is the target's own machine sub-code when it gives one (SCIM ``scimType``).
    ``stops_job`` tells the engine that retrying other objects is pointless.
    """

    default_code = "ConnectorError"
    retryable = False
    stops_job = False
    # Set on a write whose answer was lost: the target may or may not have applied it.
    outcome_unknown = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        detail: str = "",
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.code = code or (
            f"SCIM_{http_status}" if http_status is not None else self.default_code
        )
        self.http_status = http_status
        self.detail = truncate_detail(detail)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"http_status={self.http_status!r})"
        )


class TransientError(ConnectorError):
    """A failure that may succeed later: 429, 5xx, timeouts, connection resets."""

    default_code = "Transient"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        detail: str = "",
        reason: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, detail=detail, reason=reason)
        self.retry_after = retry_after


class NotFoundError(ConnectorError):
    """The target object does not exist (404)."""

    default_code = "NotFound"


class AlreadyExistsError(ConnectorError):
    """The target refused a create because the object exists (409)."""

    default_code = "AlreadyExists"


class BadRequestError(ConnectorError):
    """The target refused this object, or answered something we cannot read."""

    default_code = "BadRequest"


class PartlyCreatedError(BadRequestError):
    """The object was created in the target, but part of it is not applied yet.

    ``created_id`` is the target's id of the object: the engine links it and logs the create
    as done — so it is never created twice — and logs this error as the failure of the
    ``unapplied`` attributes, which the escrow retries as an update. ``recommendation`` says
    what to do. (GoTo: the user was added, its licence refused; or the cycle stopped between
    a batch of added users and their licences.)
    """

    def __init__(
        self,
        message: str,
        *,
        created_id: str,
        unapplied: tuple[str, ...],
        recommendation: str = "",
        **kwargs,
    ) -> None:
        super().__init__(message, **kwargs)
        self.created_id = created_id
        self.unapplied = unapplied
        self.recommendation = recommendation


class CredentialsError(ConnectorError):
    """The target refused our credentials (401/403): stop the job."""

    default_code = "Credentials"
    stops_job = True


class ConfigurationError(ConnectorError):
    """The connection settings cannot work (bad tenant URL, TLS failure): stop the job."""

    default_code = "Configuration"
    stops_job = True
