"""Encryption of secrets at rest with Fernet keys from ``settings.FIELD_ENCRYPTION_KEYS``.

MultiFernet encrypts with the first key and decrypts with any, so keys rotate by putting a new key
first and running ``manage.py rotate_encryption_keys`` before removing the old one.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@lru_cache(maxsize=1)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def get_fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


@receiver(setting_changed)
def _reset_keys(*, setting: str, **kwargs) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _fernet_for.cache_clear()


def encrypt_text(plaintext: str) -> str:
    return get_fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return get_fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretDecryptionError(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was a key removed before rotation?"
        ) from exc


def rotate_token(token: str) -> str:
    """Re-encrypt a token with the primary key (decrypting it with whichever key made it)."""
    try:
        return get_fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise SecretDecryptionError("A stored secret cannot be decrypted for rotation.") from exc


# -- start-up checks ---------------------------------------------------------------------------

SENTINEL_PLAINTEXT = "provisioning-portal encryption sentinel"


class EncryptionKeysMismatch(ImproperlyConfigured):
    """The configured keys cannot decrypt what this portal stored."""


def _sentinel_model():
    from provisioning.models import EncryptionSentinel

    return EncryptionSentinel


def ensure_sentinel() -> None:
    """Store the sentinel, encrypted with the first key, if there is none yet (first start)."""
    model = _sentinel_model()
    if not model.objects.exists():
        model.objects.get_or_create(pk=1, defaults={"token": encrypt_text(SENTINEL_PLAINTEXT)})


def verify_encryption_keys() -> None:
    """Raise :class:`EncryptionKeysMismatch` when the configured keys cannot decrypt the stored
    sentinel. A database without the sentinel's table (not migrated yet) is not checked here."""
    from django.db import DatabaseError

    try:
        tokens = list(_sentinel_model().objects.values_list("token", flat=True))
    except DatabaseError:
        return
    for token in tokens:
        try:
            plaintext = decrypt_text(token)
        except SecretDecryptionError:
            plaintext = None
        if plaintext != SENTINEL_PLAINTEXT:
            raise EncryptionKeysMismatch(
                "FIELD_ENCRYPTION_KEYS cannot decrypt the data this portal stored: none of its "
                "keys is the key the credentials were encrypted with. Configure the key this "
                "database was used with (keep it after a new one while rotating, then run "
                "`manage.py rotate_encryption_keys`)."
            )


def encryption_keys_valid() -> bool:
    """For /readyz: the keys decrypt the sentinel (settings refused unparsable keys)."""
    try:
        verify_encryption_keys()
    except ImproperlyConfigured:
        return False
    return True
