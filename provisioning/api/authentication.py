"""Bearer API tokens: ``Authorization: Bearer ppt_…``.

A token that is unknown, revoked or expired is refused with 401 (and ``WWW-Authenticate``), never
silently treated as anonymous. The last-used time is written at most once a minute per token, so
a busy script does not turn every read into a write.
"""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from ..models import ApiToken
from ..models.api_tokens import hash_token

LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Send the token as “Authorization: Bearer <token>”."))
        try:
            plain = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None
        token = ApiToken.objects.select_related("user").filter(digest=hash_token(plain)).first()
        if token is None or not token.user.is_active:
            raise AuthenticationFailed(_("Invalid token."))
        if token.is_revoked:
            raise AuthenticationFailed(_("This token was revoked."))
        if token.is_expired:
            raise AuthenticationFailed(_("This token has expired."))
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def request_channel(request) -> str:
    """The audit channel of an API request: ``api:<token name>``, or ``api:session`` for a
    browser signed in to the portal."""
    if isinstance(request.auth, ApiToken):
        return request.auth.channel
    return "api:session"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The token in the OpenAPI document (``bearerAuth``; Swagger UI's Authorize button)."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from the portal's “API tokens” page (ppt_…).",
        }
