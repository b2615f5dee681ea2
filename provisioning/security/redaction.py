"""The one place that redacts secrets from anything shown, logged, mailed or audited."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

REDACTED = "••••"

# Keys that always hold secrets, whatever the gallery template says.
ALWAYS_SECRET_KEYS = frozenset(
    {
        "password",
        "admin_password",
        "secret_token",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "api_key",
        "authorization",
    }
)


def secret_key_checker(extra_secret_keys: Iterable[str] = ()) -> Callable[[str], bool]:
    """A fast ``is_secret_key`` for many keys with the same extra secret names."""
    extra = frozenset(k.lower() for k in extra_secret_keys)

    def check(key: str) -> bool:
        lowered = key.lower()
        return (
            lowered in ALWAYS_SECRET_KEYS
            or lowered in extra
            or "password" in lowered
            or "secret" in lowered
            or lowered.endswith("token")
        )

    return check


def is_secret_key(key: str, extra_secret_keys: Iterable[str] = ()) -> bool:
    return secret_key_checker(extra_secret_keys)(key)


def redact(value: Any, extra_secret_keys: Iterable[str] = ()) -> Any:
    """Return a copy of ``value`` with every secret-looking key's value replaced by ``REDACTED``."""
    extra = tuple(extra_secret_keys)
    if isinstance(value, Mapping):
        return {
            key: (REDACTED if value[key] not in (None, "") else value[key])
            if is_secret_key(str(key), extra)
            else redact(value[key], extra)
            for key in value
        }
    if isinstance(value, list | tuple):
        return [redact(item, extra) for item in value]
    return value
