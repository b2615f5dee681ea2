"""Stage 3, match: find the target account of a source object.

The stored link wins; otherwise the matching attributes are tried in precedence order and the
first one that finds exactly one target object wins (Azure: no combined keys). With many objects
to match (an initial cycle), the target is listed once into an in-memory index instead of one
filtered GET per object (B1).
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from ..connectors.base import Connector
from .evaluate import AttributeRule


def normalise(value: Any) -> Any:
    # SCIM compares userName, emails and most strings case-insensitively (caseExact false).
    return value.casefold() if isinstance(value, str) else value


class AmbiguousMatch(Exception):
    pass


@dataclass
class MatchResult:
    target_id: str | None
    resource: dict[str, Any] | None = None
    detail: str = ""


class TargetIndex:
    """Every target object of one type, indexed by the values of the matching attributes."""

    def __init__(self, connector: Connector, object_type: str, paths: list[str]):
        self.object_type = object_type
        self.paths = paths
        self._by_path: dict[str, dict[Any, list[dict]]] = {p: defaultdict(list) for p in paths}
        page_size = 1000
        for resource in connector.list(object_type, page_size=page_size):
            self.add(connector.read_attributes(object_type, resource, paths), resource)

    def add(self, values: dict[str, Any], resource: dict[str, Any]) -> None:
        for path in self.paths:
            value = values.get(path)
            if value not in (None, ""):
                self._by_path[path][normalise(value)].append(resource)

    def find(self, path: str, value: Any) -> list[dict]:
        return list(self._by_path.get(path, {}).get(normalise(value), []))


def matching_rules(rules: list[AttributeRule]) -> list[AttributeRule]:
    return sorted(
        (r for r in rules if r.is_matching),
        key=lambda r: (r.matching_precedence or 0, r.target),
    )


def match_by_attributes(
    connector: Connector,
    object_type: str,
    rules: list[AttributeRule],
    evaluated: dict[str, Any],
    index: TargetIndex | None = None,
) -> MatchResult:
    """Try the matching attributes in precedence order; the first single hit wins."""
    tried = []
    for rule in matching_rules(rules):
        value = evaluated.get(rule.target)
        if value in (None, ""):
            continue
        tried.append(rule.target)
        found = (
            index.find(rule.target, value)
            if index is not None
            else connector.find(object_type, rule.target, value)
        )
        if len(found) == 1:
            return MatchResult(
                str(found[0]["id"]),
                found[0],
                _("Matched on %(attribute)s = “%(value)s”")
                % {"attribute": rule.target, "value": value},
            )
        if len(found) > 1:
            raise AmbiguousMatch(
                _("%(count)d target objects have %(attribute)s = “%(value)s”")
                % {"count": len(found), "attribute": rule.target, "value": value}
            )
    if not tried:
        return MatchResult(None, None, _("No matching attribute has a value"))
    return MatchResult(
        None,
        None,
        _("No target object matches on %(attributes)s") % {"attributes": ", ".join(tried)},
    )
