"""Compare a target's values with what the mappings produce, the way targets normalise them.

A target may echo a value differently from how it was written: ``userName`` in another case,
``"True"`` for ``true``, a multi-valued attribute in another order. None of that is drift. Blank
values (``None``, ``""``, ``[]``) are all the same absence.
"""

from collections.abc import Iterable
from typing import Any

from ..security.redaction import REDACTED, secret_key_checker

MAX_LISTED_VALUES = 50  # members added/removed kept per finding; the count is always right
MAX_SHOWN_TEXT = 1000  # a value stored for the report is cut there (a target may send anything)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _as_bool(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def normalise(value: Any, *, case_insensitive: bool = False, boolean: bool = False) -> Any:
    """A comparable form of a value: blanks are None, lists are sets, maps are sorted tuples."""
    if _blank(value):
        return None
    if boolean:
        value = _as_bool(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.casefold() if case_insensitive else value
    if isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(
            _hashable(normalise(v, case_insensitive=case_insensitive, boolean=boolean))
            for v in value
        )
    if isinstance(value, dict):
        return _hashable(
            {k: normalise(v, case_insensitive=case_insensitive) for k, v in value.items()}
        )
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def same_value(desired: Any, actual: Any, *, case_insensitive: bool = False) -> bool:
    """Whether the target's ``actual`` value is what the mappings produce (``desired``)."""
    boolean = isinstance(desired, bool) or isinstance(actual, bool)
    return normalise(desired, case_insensitive=case_insensitive, boolean=boolean) == normalise(
        actual, case_insensitive=case_insensitive, boolean=boolean
    )


def differences(
    desired: dict[str, Any],
    actual: dict[str, Any],
    *,
    case_insensitive: Iterable[str] = (),
    secret_names: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """``[{"name", "old", "new"}]`` for every mapped path whose target value differs.

    Only the paths in ``desired`` are compared: attributes the mappings do not own are never
    looked at. Secrets are masked in what is returned (it is stored and shown).
    """
    insensitive = set(case_insensitive)
    is_secret = secret_key_checker(secret_names)
    rows = []
    for path, value in desired.items():
        current = actual.get(path)
        if same_value(value, current, case_insensitive=path in insensitive):
            continue
        if is_secret(path):
            rows.append({"name": path, "old": REDACTED, "new": REDACTED})
        else:
            rows.append({"name": path, "old": _clipped(current), "new": _clipped(value)})
    return rows


def _clipped(value: Any) -> Any:
    """A value small enough to store and show: long text cut, big structures summarised."""
    if isinstance(value, str) and len(value) > MAX_SHOWN_TEXT:
        return value[:MAX_SHOWN_TEXT] + "…"
    if isinstance(value, (list, dict)):
        text = repr(value)
        if len(text) > MAX_SHOWN_TEXT:
            return text[:MAX_SHOWN_TEXT] + "…"
    return value


def member_differences(to_add: list[str], to_remove: list[str]) -> list[dict[str, Any]]:
    rows = []
    if to_add:
        rows.append(
            {
                "name": "members (added)",
                "old": None,
                "new": sorted(to_add)[:MAX_LISTED_VALUES],
                "count": len(to_add),
            }
        )
    if to_remove:
        rows.append(
            {
                "name": "members (removed)",
                "old": sorted(to_remove)[:MAX_LISTED_VALUES],
                "new": None,
                "count": len(to_remove),
            }
        )
    return rows
