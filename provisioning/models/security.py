"""What the portal stores to check its own security configuration at start-up."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EncryptionSentinel(models.Model):
    """One known value encrypted with ``FIELD_ENCRYPTION_KEYS`` when the portal first started.

    At start-up the configured keys must decrypt it: a valid but different key (a copy-paste from
    another environment) is refused with a message naming the setting, instead of every page that
    reads a credential failing later. ``rotate_encryption_keys`` re-encrypts it with the others.
    """

    token = models.TextField(_("token"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("encryption sentinel")
        verbose_name_plural = _("encryption sentinels")

    def __str__(self) -> str:
        return f"encryption sentinel {self.pk}"


class ServiceHeartbeat(models.Model):
    """When a background process last did its job: beat writes ``beat`` each time it has
    published the dispatcher (``/readyz`` wants one within three dispatch intervals)."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    seen_at = models.DateTimeField(_("seen at"))

    class Meta:
        verbose_name = _("service heartbeat")
        verbose_name_plural = _("service heartbeats")

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class ExternalIdentity(models.Model):
    """A portal login created by OpenID Connect sign-in, tied to the provider's subject.

    Matching is by (issuer, subject) — never by e-mail or user name — so an identity provider
    account can never take over a local account that happens to share a name or address.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identity"
    )
    issuer = models.CharField(_("issuer"), max_length=512)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
