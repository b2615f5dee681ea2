"""Start-up checks of the security configuration (issue 12).

``manage.py runserver``/``check`` run :func:`encryption_keys_check` as a Django system check; the
WSGI application and the Celery worker and beat call :func:`refuse_to_start_on_bad_keys`, so no
process serves or provisions with keys that cannot read the stored credentials; the first of them
to start on a migrated database stores the sentinel.
"""

from django.core import checks
from django.db import DatabaseError

from .encryption import EncryptionKeysMismatch, ensure_sentinel, verify_encryption_keys


@checks.register(checks.Tags.security)
def encryption_keys_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        verify_encryption_keys()
    except EncryptionKeysMismatch as error:
        return [checks.Critical(str(error), id="provisioning.E012")]
    return []


def refuse_to_start_on_bad_keys() -> None:
    """Raise ``ImproperlyConfigured`` (the process exits with its message) on a wrong key; on the
    first start of a migrated database, store the sentinel with the first key."""
    verify_encryption_keys()
    try:
        ensure_sentinel()
    except DatabaseError:
        pass  # not migrated yet: /readyz says so, and the next start stores it


__all__ = ["encryption_keys_check", "refuse_to_start_on_bad_keys"]
