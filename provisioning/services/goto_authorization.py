"""The Authorize step of the GoTo apps: GoTo's authorization-code grant with ``state`` and PKCE.

1. :func:`begin_authorization` (the Authorize button) makes a ``state`` and a PKCE verifier,
   keeps them in the administrator's session — bound to the application, for 10 minutes, at
   most a few at once — and returns GoTo's authorization URL to redirect to.
2. GoTo shows its sign-in and consent page, then redirects to the portal's own callback
   (``/goto/authorize/callback/``) with ``code`` and ``state``.
3. :func:`complete_authorization` accepts only a ``state`` this session started (so a forged
   or replayed callback is refused), exchanges the code with the verifier at the token host
   (GOTO_OAUTH_TOKEN_URL), and stores the refresh token in the job's encrypted credentials
   with who authorized, as whom at GoTo, and when. Nothing else in the job changes.

Secrets (the code, the verifier, the tokens) never reach a page, a log or the audit log.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import AuditActivity
from ..connectors.errors import ConnectorError
from ..connectors.goto_settings import goto_settings
from ..connectors.gotomeeting import (
    GoToMeetingConnector,
    build_authorization_url,
    pkce_pair,
)
from ..models import Application, ProvisioningJob
from .audit import record_audit
from .operations import refresh_configuration_state

SESSION_KEY = "goto_authorize_pending"
PENDING_LIFETIME_SECONDS = 600
MAX_PENDING = 5
# Where the Authorize step keeps what it learnt, besides the refresh token itself.
AUTHORIZATION_DETAILS = ("authorized_by", "authorized_at", "authorized_principal")


class AuthorizationRefused(Exception):
    """The callback cannot be accepted; the message says why and what to do (no secret)."""


@dataclass(frozen=True)
class Authorization:
    application: Application
    principal: str


def supports_authorize(application: Application) -> bool:
    """Whether the application's gallery template has the Authorize button."""
    return any(f.kind == "oauth" for f in application.template.credential_fields)


def _fresh_pending(session: Any, now: float) -> dict[str, dict[str, Any]]:
    pending = session.get(SESSION_KEY) or {}
    return {
        state: entry
        for state, entry in pending.items()
        if now - float(entry.get("created", 0)) < PENDING_LIFETIME_SECONDS
    }


def begin_authorization(session: Any, application: Application, redirect_uri: str) -> str:
    """Remember a new ``state`` and PKCE verifier; the URL of GoTo's authorization endpoint."""
    if not supports_authorize(application):
        raise AuthorizationRefused(_("This application has no Authorize step."))
    values = goto_settings()
    if not values.client_id:
        raise AuthorizationRefused(
            _(
                "The portal has no GoTo OAuth client: set GOTO_CLIENT_ID and "
                "GOTO_CLIENT_SECRET (see the README)."
            )
        )
    now = time.time()
    pending = _fresh_pending(session, now)
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda s: pending[s]["created"]))
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    pending[state] = {
        "application_id": application.pk,
        "verifier": verifier,
        "redirect_uri": redirect_uri,
        "created": now,
    }
    session[SESSION_KEY] = pending
    return build_authorization_url(
        values.authorize_url,
        client_id=values.client_id,
        redirect_uri=redirect_uri,
        state=state,
        code_challenge=challenge,
    )


def complete_authorization(
    session: Any, *, state: str, code: str, error: str, actor: Any
) -> Authorization:
    """Check ``state``, exchange ``code`` and store the refresh token. Raises
    :class:`AuthorizationRefused` (and stores nothing) when any step fails."""
    pending = _fresh_pending(session, time.time())
    entry = pending.pop(state, None) if state else None
    session[SESSION_KEY] = pending
    if entry is None:
        raise AuthorizationRefused(
            _(
                "GoTo's answer does not belong to an Authorize started in this browser session "
                "(unknown or expired state); nothing was stored. Click Authorize again."
            )
        )
    application = Application.objects.select_related("provisioning_job").get(
        pk=entry["application_id"]
    )
    if error:
        raise AuthorizationRefused(
            _("GoTo did not authorize the portal (%(error)s); nothing was stored.")
            % {"error": error[:64]}
        )
    if not code:
        raise AuthorizationRefused(_("GoTo's answer carries no authorization code."))
    connector = GoToMeetingConnector({}, **goto_settings().as_options())
    try:
        tokens = connector.exchange_code(
            code, redirect_uri=entry["redirect_uri"], code_verifier=entry["verifier"]
        )
    except ConnectorError as failure:
        raise AuthorizationRefused(
            _("GoTo refused the authorization: %(message)s") % {"message": failure.message}
        ) from None
    finally:
        connector.close()
    principal = tokens.get("principal", "")
    store_authorization(application, tokens["refresh_token"], principal, actor)
    return Authorization(application, principal)


@transaction.atomic
def store_authorization(application: Application, refresh_token: str, principal: str, actor):
    """Keep the refresh token (encrypted with the credentials) and who authorized, when."""
    job = ProvisioningJob.objects.select_for_update().get(pk=application.provisioning_job.pk)
    credentials = dict(job.credentials)
    credentials.update(
        refresh_token=refresh_token,
        authorized_principal=principal,
        authorized_by=actor.get_username() if actor is not None else "",
        authorized_at=timezone.now().isoformat(timespec="seconds"),
    )
    job.credentials = credentials
    job.save(update_fields=["credentials", "updated_at"])
    record_audit(
        AuditActivity.UPDATE_SETTINGS,
        actor=actor,
        application=application,
        target=application.name,
        after={"authorized": principal or "GoTo"},
    )
    refresh_configuration_state(job)


@transaction.atomic
def remove_authorization(application: Application, actor: Any) -> bool:
    """Forget the Authorize step's refresh token (e.g. to use another way to connect)."""
    job = ProvisioningJob.objects.select_for_update().get(pk=application.provisioning_job.pk)
    names = ("refresh_token", *AUTHORIZATION_DETAILS)
    if not any(name in job.credentials for name in names):
        return False
    principal = job.credentials.get("authorized_principal", "")
    job.credentials = {k: v for k, v in job.credentials.items() if k not in names}
    job.save(update_fields=["credentials", "updated_at"])
    record_audit(
        AuditActivity.UPDATE_SETTINGS,
        actor=actor,
        application=application,
        target=application.name,
        before={"authorized": principal or "GoTo"},
        after={"authorized": ""},
    )
    refresh_configuration_state(job)
    return True


@transaction.atomic
def replace_refresh_token(old: str, new: str) -> int:
    """Store the refresh token GoTo issued in place of ``old`` in every job that held ``old``
    (credentials are encrypted, so the few jobs of apps with an Authorize step are read)."""
    if not old or not new or old == new:
        return 0
    from ..gallery import all_templates

    slugs = [t.slug for t in all_templates() if any(f.kind == "oauth" for f in t.credential_fields)]
    replaced = 0
    jobs = ProvisioningJob.objects.select_for_update().filter(application__template_slug__in=slugs)
    for job in jobs:
        if job.credentials.get("refresh_token") == old:
            job.credentials = {**job.credentials, "refresh_token": new}
            job.save(update_fields=["credentials", "updated_at"])
            replaced += 1
    return replaced


def authorization_status(job: ProvisioningJob) -> dict[str, Any]:
    """Who authorized and when (for the page); never the token."""
    credentials = job.credentials
    authorized_at = None
    if credentials.get("authorized_at"):
        try:
            authorized_at = datetime.fromisoformat(credentials["authorized_at"])
        except ValueError:
            authorized_at = None
    return {
        "authorized": bool(credentials.get("refresh_token")),
        "by": credentials.get("authorized_by", ""),
        "principal": credentials.get("authorized_principal", ""),
        "at": authorized_at,
    }
