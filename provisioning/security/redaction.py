"""The one place that redacts secrets from anything shown, logged, mailed or audited."""

import functools
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
    """A fast ``is_secret_key`` for many keys with the same extra secret names (one checker
    per set of names, kept: a cycle asks about the same few attribute paths for every object)."""
    return _checker(frozenset(k.lower() for k in extra_secret_keys))


@functools.lru_cache(maxsize=256)
def _checker(extra: frozenset[str]) -> Callable[[str], bool]:
    known: dict[str, bool] = {}

    def check(key: str) -> bool:
        answer = known.get(key)
        if answer is None:
            lowered = key.lower()
            answer = (
                lowered in ALWAYS_SECRET_KEYS
                or lowered in extra
                or "password" in lowered
                or "secret" in lowered
                or lowered.endswith("token")
            )
            if len(known) < 4096:
                known[key] = answer
        return answer

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


# -- what the engine keeps of secret values it wrote (issue 12) ----------------------------------

FINGERPRINT_PREFIX = "hmac-sha256:"


def fingerprint(value: Any) -> str:
    """A keyed hash (HMAC-SHA256 under ``SECRET_KEY``) of a value written to a target.

    ``ProvisionedObject.last_exported`` keeps this instead of a password or a ``Redact()``ed
    value, so the next cycle can still tell "unchanged" from "changed" without the value being
    stored anywhere. Keyed, so a leaked database does not allow guessing short values offline.
    """
    import json

    from django.utils.crypto import salted_hmac

    payload = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    digest = salted_hmac("provisioning.last_exported", payload, algorithm="sha256").hexdigest()
    return FINGERPRINT_PREFIX + digest


def is_fingerprint(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FINGERPRINT_PREFIX) and len(value) == 76


def protect_secret_values(
    attributes: Mapping[str, Any], is_secret: Callable[[str], bool]
) -> dict[str, Any]:
    """A copy of ``attributes`` with the value of every secret path replaced by its fingerprint."""
    return {
        path: fingerprint(value)
        if value not in (None, "") and is_secret(path) and not is_fingerprint(value)
        else value
        for path, value in attributes.items()
    }
