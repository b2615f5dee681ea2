"""Stage 2, scope: is a source object in scope for this job, and if not, why.

In scope means: it exists and is not soft-deleted, its account is enabled, it is assigned with a
valid app role (unless the job syncs everyone), and it matches the mapping's scoping filters
(F19: clauses ANDed within a filter, filters ORed; operators are case-sensitive, as Azure's).
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from ..choices import ObjectType
from .importing import SourceObject


@dataclass(frozen=True)
class ScopeDecision:
    in_scope: bool
    reason: str = ""


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
    "Includes",
    "ENDS_WITH",
    "&",
    "!&",
)


class ScopingFilterError(ValueError):
    pass


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ScopingFilterError(_("“%(value)s” is not a number") % {"value": value}) from None


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set) else [value]


def clause_matches(clause: dict, attributes: dict[str, Any]) -> bool:
    operator = clause["operator"]
    expected = clause.get("value", "")
    actual = attributes.get(clause["attribute"])
    if operator == "IS NULL":
        return actual in (None, "", [])
    if operator == "IS NOT NULL":
        return actual not in (None, "", [])
    if operator == "IS TRUE":
        return _text(actual).lower() == "true"
    if operator == "IS FALSE":
        return _text(actual).lower() == "false"
    if operator == "EQUALS":
        return any(_text(v) == expected for v in _values(actual))
    if operator == "NOT EQUALS":
        return all(_text(v) != expected for v in _values(actual))
    if operator == "ENDS_WITH":
        return any(_text(v).endswith(expected) for v in _values(actual))
    if operator == "Includes":
        # Azure: the value is one of a comma-separated list.
        options = [option.strip() for option in expected.split(",")]
        return any(_text(v) in options for v in _values(actual))
    if operator in ("REGEX MATCH", "NOT REGEX MATCH"):
        try:
            pattern = re.compile(expected)
        except re.error as error:
            raise ScopingFilterError(_("invalid regular expression: %(error)s") % {"error": error})
        found = any(pattern.search(_text(v)) for v in _values(actual) if v is not None)
        return found if operator == "REGEX MATCH" else not found
    if actual in (None, ""):
        return False
    if operator == "Greater_Than":
        return _number(actual) > _number(expected)
    if operator == "Greater_Than_OR_EQUALS":
        return _number(actual) >= _number(expected)
    if operator in ("&", "!&"):
        masked = int(_number(actual)) & int(_number(expected))
        return masked != 0 if operator == "&" else masked == 0
    raise ScopingFilterError(_("unknown operator “%(operator)s”") % {"operator": operator})


def matches_scoping_filters(filters: list[list[dict]], attributes: dict[str, Any]) -> bool:
    """No filter means everything is in scope."""
    if not filters:
        return True
    return any(
        all(clause_matches(c, attributes) for c in clauses) for clauses in filters if clauses
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
        return ScopeDecision(False, _("scoping filter error: %(error)s") % {"error": error})
    return ScopeDecision(True)
