"""Where the GoToMeeting connector finds GoTo's URLs and the portal's OAuth client.

GoTo's API is reached with an OAuth client registered by the operator at GoTo's developer
centre (client id + secret, with the portal's Authorize callback ``/goto/authorize/callback/``
as a redirect URI); each application's own grant (the refresh token from *Authorize*, a
personal access token, or the legacy admin user name and password) is in the job's
credentials. These values belong to the deployment, not to one application, so they
are Django settings (``portal/settings.py`` reads them from the environment). Each one falls
back to a safe default here, so the connector also works in scripts and tests whose settings
do not name them.

==========================  ==============================================
setting / environment name  default
==========================  ==============================================
GOTO_OAUTH_TOKEN_URL        https://authentication.logmeininc.com/oauth/token
GOTO_OAUTH_AUTHORIZE_URL    https://authentication.logmeininc.com/oauth/authorize
GOTO_ADMIN_API_URL          https://api.getgo.com/admin/rest/v1
GOTO_CLIENT_ID              "" (Test Connection then says it is missing)
GOTO_CLIENT_SECRET          ""
GOTO_REQUESTS_PER_SECOND    10 (GoTo's documented default rate limit)
==========================  ==============================================

The token and authorization hosts are the ones of GoTo's *token retrieval migration guide*
(developer.goto.com, guides/Authentication/New_Token_Retrieval_Migration_Guide): the former
``api.getgo.com/oauth/v2`` host is decommissioned. The Admin API stays on ``api.getgo.com``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_TOKEN_URL = "https://authentication.logmeininc.com/oauth/token"
DEFAULT_AUTHORIZE_URL = "https://authentication.logmeininc.com/oauth/authorize"
DEFAULT_ADMIN_API_URL = "https://api.getgo.com/admin/rest/v1"
DEFAULT_REQUESTS_PER_SECOND = 10.0


@dataclass(frozen=True)
class GoToSettings:
    token_url: str = DEFAULT_TOKEN_URL
    api_url: str = DEFAULT_ADMIN_API_URL
    client_id: str = ""
    client_secret: str = ""
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    authorize_url: str = DEFAULT_AUTHORIZE_URL

    def as_options(self) -> dict[str, Any]:
        """The connector options these settings stand for."""
        return {
            "token_url": self.token_url,
            "api_url": self.api_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "requests_per_second": self.requests_per_second,
        }


def _setting(settings: Any, name: str, default: Any) -> Any:
    value = getattr(settings, name, None)
    return default if value in (None, "") else value


def goto_settings() -> GoToSettings:
    """Read the GOTO_* settings now (not at import, so tests can override them)."""
    try:
        from django.conf import settings

        if not settings.configured:
            return GoToSettings()
    except ImportError:  # pragma: no cover - Django is always installed in the portal
        return GoToSettings()
    try:
        rate = float(_setting(settings, "GOTO_REQUESTS_PER_SECOND", DEFAULT_REQUESTS_PER_SECOND))
    except (TypeError, ValueError):
        rate = DEFAULT_REQUESTS_PER_SECOND
    return GoToSettings(
        token_url=str(_setting(settings, "GOTO_OAUTH_TOKEN_URL", DEFAULT_TOKEN_URL)),
        api_url=str(_setting(settings, "GOTO_ADMIN_API_URL", DEFAULT_ADMIN_API_URL)),
        client_id=str(_setting(settings, "GOTO_CLIENT_ID", "")),
        client_secret=str(_setting(settings, "GOTO_CLIENT_SECRET", "")),
        requests_per_second=rate if rate > 0 else DEFAULT_REQUESTS_PER_SECOND,
        authorize_url=str(_setting(settings, "GOTO_OAUTH_AUTHORIZE_URL", DEFAULT_AUTHORIZE_URL)),
    )
