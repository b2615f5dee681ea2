"""Stage 2, scope: is a source object in scope for this job, and if not, why.

In scope means: it exists and is not soft-deleted, its account is enabled, it is assigned with a
valid app role (unless the job syncs everyone), and it matches the mapping's scoping filters
(F19: clauses ANDed within a filter, filters ORed; operators are case-sensitive, as Azure's).
"""

import functools
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import regex

from ..choices import ObjectType
from ..log_text import gettext as _  # step texts translated when read
from .importing import SourceObject


@dataclass(frozen=True)
class ScopeDecision:
    in_scope: bool
    reason: str = ""
    # The filters could not be evaluated (a regular expression ran out of time): the object
    # fails alone. It is not out of scope: nothing is disabled on incomplete knowledge.
    failed: bool = False


OPERATORS = (
    "EQUALS",
    "NOT EQUALS",
    "IS TRUE",
    "IS FALSE",
    "IS NULL",
    "IS NOT NULL",
    "REGEX MATCH",
    "NOT REGEX MATCH",
    "Greater_Than",
    "Greater_Than_OR_EQUALS",
    "Less_Than",
    "Less_Than_OR_EQUALS",
    "Includes",
    "Excludes",
    "ENDS_WITH",
    "&",
    "!&",
)
# Operators that compare with no value.
VALUELESS_OPERATORS = frozenset({"IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL"})
# Operators whose value must be an integer (Microsoft: "must be an integer [0,1,2,...]").
INTEGER_OPERATORS = frozenset(
    {"Greater_Than", "Greater_Than_OR_EQUALS", "Less_Than", "Less_Than_OR_EQUALS", "&", "!&"}
)
REGEX_OPERATORS = frozenset({"REGEX MATCH", "NOT REGEX MATCH"})
# A scoping regular expression runs for every object of every cycle: it gets a time limit.
REGEX_TIMEOUT_SECONDS = 0.25
# All the clauses' regular expressions for one object together.
REGEX_BUDGET_SECONDS = 1.0


class ScopingFilterError(ValueError):
    pass


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _integer(value: Any) -> int | None:
    """The value as an integer, or None when it is not one (the clause is then false)."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if number != number.to_integral_value():
        return None
    return int(number)


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def compile_scoping_regex(pattern: str) -> regex.Pattern:
    try:
        return _compile(pattern)
    except regex.error as error:
        raise ScopingFilterError(
            _("invalid regular expression: %(error)s") % {"error": error}
        ) from None


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


def _regex_search(pattern: regex.Pattern, text: str, deadline: float | None = None) -> bool:
    timeout = REGEX_TIMEOUT_SECONDS
    if deadline is not None:
        timeout = min(timeout, deadline - time.monotonic())
        if timeout <= 0:
            raise ScopingFilterError(
                _("the regular expressions took longer than %(seconds)s s in all")
                % {"seconds": REGEX_BUDGET_SECONDS}
            )
    try:
        return pattern.search(text, timeout=timeout) is not None
    except TimeoutError:
        raise ScopingFilterError(
            _("the regular expression took longer than %(seconds)s s")
            % {"seconds": REGEX_TIMEOUT_SECONDS}
        ) from None


def clause_matches(clause: dict, attributes: dict[str, Any], deadline: float | None = None) -> bool:
    """One clause, with the semantics of Microsoft's scoping-filter documentation
    (learn.microsoft.com/entra/identity/app-provisioning/define-conditional-rules-for-provisioning-user-accounts):
    every operator is case-sensitive; "Scoping filters will return false if the value is null /
    empty", except IS NULL (true when empty) and IS NOT NULL; *Includes* is .NET's
    ``String.Contains`` (a substring); the integer operators need integers on both sides.
    """
    operator = clause["operator"]
    expected = _text(clause.get("value", ""))
    actual = attributes.get(clause["attribute"])
    if operator == "IS NULL":
        return _empty(actual)
    if operator == "IS NOT NULL":
        return not _empty(actual)
    if operator not in OPERATORS:
        raise ScopingFilterError(_("unknown operator “%(operator)s”") % {"operator": operator})
    if _empty(actual):
        return False
    values = [v for v in _values(actual) if not _empty(v)]
    if not values:
        return False
    if operator == "IS TRUE":
        return any(_text(v).lower() == "true" for v in values)
    if operator == "IS FALSE":
        return any(_text(v).lower() == "false" for v in values)
    if operator == "EQUALS":
        return any(_text(v) == expected for v in values)
    if operator == "NOT EQUALS":
        return all(_text(v) != expected for v in values)
    if operator == "ENDS_WITH":
        return any(_text(v).endswith(expected) for v in values)
    if operator == "Includes":
        return any(expected in _text(v) for v in values)
    if operator == "Excludes":
        return all(expected not in _text(v) for v in values)
    if operator in REGEX_OPERATORS:
        pattern = compile_scoping_regex(expected)
        found = any(_regex_search(pattern, _text(v), deadline) for v in values)
        return found if operator == "REGEX MATCH" else not found
    limit = _integer(expected)
    if limit is None:
        raise ScopingFilterError(_("“%(value)s” is not an integer") % {"value": expected})
    numbers = [n for n in (_integer(v) for v in values) if n is not None]
    if not numbers:
        return False
    if operator == "Greater_Than":
        return any(n > limit for n in numbers)
    if operator == "Greater_Than_OR_EQUALS":
        return any(n >= limit for n in numbers)
    if operator == "Less_Than":
        return any(n < limit for n in numbers)
    if operator == "Less_Than_OR_EQUALS":
        return any(n <= limit for n in numbers)
    masked = [n & limit for n in numbers]
    return any(m != 0 for m in masked) if operator == "&" else all(m == 0 for m in masked)


def matches_scoping_filters(filters: list[list[dict]], attributes: dict[str, Any]) -> bool:
    """No filter means everything is in scope."""
    if not filters:
        return True
    deadline = time.monotonic() + REGEX_BUDGET_SECONDS
    return any(
        all(clause_matches(c, attributes, deadline) for c in clauses)
        for clauses in filters
        if clauses
    )


def decide_scope(obj: SourceObject, *, sync_all: bool, scoping_filters: list) -> ScopeDecision:
    if not obj.exists:
        return ScopeDecision(False, _("deleted from the directory"))
    if obj.soft_deleted:
        return ScopeDecision(False, _("soft-deleted (in the recycle bin)"))
    if obj.object_type == ObjectType.USER and not obj.enabled:
        return ScopeDecision(False, _("the account is disabled (accountEnabled is false)"))
    if not sync_all:
        if not obj.assigned:
            return ScopeDecision(False, _("not assigned to the application"))
        if obj.only_default_access and obj.object_type == ObjectType.USER:
            return ScopeDecision(
                False, _("no valid app role: “Default Access” is not valid for provisioning")
            )
    try:
        if not matches_scoping_filters(scoping_filters, obj.attributes):
            return ScopeDecision(False, _("does not match the scoping filters"))
    except ScopingFilterError as error:
        return ScopeDecision(
            False, _("scoping filter error: %(error)s") % {"error": error}, failed=True
        )
    return ScopeDecision(True)
