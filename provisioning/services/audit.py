"""The one place that writes audit events (F25); values are redacted before they are stored."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..choices import AuditActivity
from ..models import Application, AuditEvent
from ..security.redaction import redact

# The channel of the request being served, when a caller other than a page sets one (the API
# sets "api:<token name>" around its service calls), so services record it without a parameter.
_current_channel: ContextVar[str | None] = ContextVar("audit_channel", default=None)


@contextmanager
def audit_channel(channel: str) -> Iterator[None]:
    """Every audit event recorded inside this block gets ``channel`` (unless one is passed)."""
    token = _current_channel.set(channel)
    try:
        yield
    finally:
        _current_channel.reset(token)


def record_audit(
    activity: AuditActivity,
    *,
    actor=None,
    application: Application | None = None,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    channel: str | None = None,
) -> AuditEvent:
    secret_names: tuple[str, ...] = ()
    if application is not None:
        try:
            secret_names = application.template.secret_credential_names
        except LookupError:
            secret_names = ()
    actor_name = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_name = actor.get_username()
    elif isinstance(actor, str):
        actor_name, actor = actor, None
    return AuditEvent.objects.create(
        actor=actor if actor is not None and not isinstance(actor, str) else None,
        actor_name=actor_name,
        application_id=application.pk if application else None,
        application_name=application.name if application else "",
        activity=activity,
        target=target,
        before=redact(before or {}, secret_names),
        after=redact(after or {}, secret_names),
        channel=channel or _current_channel.get() or "portal",
    )
