"""OpenID Connect sign-in for administrators of a real organisation (issue 12, item 7).

mozilla-django-oidc runs the authorization-code flow (state, nonce, ID token signature against
the provider's JWKS); this module decides who gets in. The provider's group claim
(``OIDC_GROUPS_CLAIM``, default ``groups``) must name a group of ``OIDC_ADMINISTRATOR_GROUPS``
(→ *Provisioning administrators*) or ``OIDC_AUDITOR_GROUPS`` (→ *Auditors*): no such group, no
access. The role is re-read at every sign-in, so removing someone from the group at the provider
takes their access away at their next sign-in. Logins are tied to the provider's (issuer,
subject), never matched by e-mail or name, so they cannot take over a local account. Local
accounts keep working beside it.
"""

import hashlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from ..roles import ensure_roles

logger = logging.getLogger("provisioning.signin")


def issuer() -> str:
    configured = getattr(settings, "OIDC_OP_ISSUER", "")
    if configured:
        return configured.rstrip("/")
    parts = urlsplit(settings.OIDC_OP_TOKEN_ENDPOINT)
    return f"{parts.scheme}://{parts.netloc}"


def groups_of(claims: dict) -> set[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return set()
    return {str(group) for group in value}


def role_of(claims: dict) -> str | None:
    """``"admin"``, ``"auditor"`` or None (no access) from the group claim."""
    groups = groups_of(claims)
    if groups & set(settings.OIDC_ADMINISTRATOR_GROUPS):
        return "admin"
    if groups & set(settings.OIDC_AUDITOR_GROUPS):
        return "auditor"
    return None


class PortalOIDCBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims: dict) -> bool:
        if not claims.get("sub"):
            return False
        if role_of(claims) is None:
            logger.warning(
                "OpenID Connect sign-in refused for subject %r: no administrators or auditors "
                "group in the %r claim",
                str(claims.get("sub"))[:255],
                settings.OIDC_GROUPS_CLAIM,
            )
            return False
        return True

    def filter_users_by_claims(self, claims: dict):
        return self.UserModel.objects.filter(
            external_identity__issuer=issuer(), external_identity__subject=str(claims["sub"])
        )

    def describe_user_by_claims(self, claims: dict) -> str:
        return f"subject {claims.get('sub')!r}"

    def _free_username(self, claims: dict) -> str:
        base = str(
            claims.get("preferred_username") or claims.get("email") or claims["sub"]
        ).strip()[:120]
        if not self.UserModel.objects.filter(username__iexact=base).exists():
            return base
        suffix = hashlib.sha256(f"{issuer()}|{claims['sub']}".encode()).hexdigest()[:8]
        return f"{base}~{suffix}"  # a local account of that name keeps it

    @transaction.atomic
    def create_user(self, claims: dict):
        from ..models import ExternalIdentity

        user = self.UserModel.objects.create_user(
            self._free_username(claims), email=str(claims.get("email") or "")[:254]
        )
        user.set_unusable_password()  # signs in through the provider only
        user.save()
        ExternalIdentity.objects.create(user=user, issuer=issuer(), subject=str(claims["sub"]))
        return self.update_user(user, claims)

    def update_user(self, user, claims: dict):
        administrators, auditors = ensure_roles()
        role = role_of(claims)
        name = str(claims.get("name") or "")
        user.first_name = name[:150]
        if claims.get("email"):
            user.email = str(claims["email"])[:254]
        user.is_staff = user.is_superuser = False
        user.save()
        if role == "admin":
            user.groups.remove(auditors)
            user.groups.add(administrators)
        else:
            user.groups.remove(administrators)
            user.groups.add(auditors)
        return user


class SignInWithProvider(OIDCAuthenticationRequestView):
    """Starts the flow; without configuration, back to the sign-in page."""

    def __init__(self, *args, **kwargs):
        self.enabled = bool(getattr(settings, "OIDC_ENABLED", False))
        if self.enabled:
            super().__init__(*args, **kwargs)

    def get(self, request):
        if not self.enabled:
            return redirect("login")
        return super().get(request)


class ProviderCallback(OIDCAuthenticationCallbackView):
    def get(self, request):
        if not getattr(settings, "OIDC_ENABLED", False):
            return redirect("login")
        return super().get(request)
