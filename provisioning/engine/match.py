"""Stage 3, match: find the target account of a source object.

The stored link wins; otherwise the matching attributes are tried in precedence order and the
first one that finds exactly one target object wins (Azure: no combined keys). With many objects
to match (an initial cycle), the target is listed once into an in-memory index instead of one
filtered GET per object (B1).
"""

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..connectors.base import Connector
from ..log_text import gettext as _  # step texts translated when read
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


LIST_PAGE_SIZE = 1000
MAX_PARALLEL_PAGES = 1000  # beyond this many pages, the listing is read page after page
MIN_PARALLEL_PAGE = 50  # a first page shorter than this (and than asked) is not parallelised


class TargetIndex:
    """Every target object of one type, indexed by the values of the matching attributes.

    With a request pool and a target that pages with ``startIndex`` (the connector has
    ``list_page``), the first page says how many objects there are and the other pages are
    asked for concurrently (issue 16); a target whose pages overlap or come back short is read
    again page after page, as before.
    """

    def __init__(
        self, connector: Connector, object_type: str, paths: list[str], requests: Any = None
    ):
        self.object_type = object_type
        self.paths = paths
        self._by_path: dict[str, dict[Any, list[dict]]] = {p: defaultdict(list) for p in paths}
        resources = None
        if requests is not None and requests.concurrent and hasattr(connector, "list_page"):
            resources = _list_concurrently(connector, object_type, requests)
        if resources is None:
            resources = connector.list(object_type, page_size=LIST_PAGE_SIZE)
        for resource in resources:
            self.add(connector.read_attributes(object_type, resource, paths), resource)

    def add(self, values: dict[str, Any], resource: dict[str, Any]) -> None:
        for path in self.paths:
            value = values.get(path)
            if value not in (None, ""):
                self._by_path[path][normalise(value)].append(resource)

    def find(self, path: str, value: Any) -> list[dict]:
        return list(self._by_path.get(path, {}).get(normalise(value), []))


def _list_concurrently(connector: Any, object_type: str, requests: Any) -> list[dict] | None:
    """Every object of a type, the pages after the first asked for at once; None when the
    target's paging cannot be trusted that way (the caller lists page after page)."""
    first, total = connector.list_page(object_type, 1, LIST_PAGE_SIZE)
    if total is not None and len(first) >= total:
        return first
    size = len(first)  # the target may cap the page size below what was asked
    if not first or total is None or size < min(LIST_PAGE_SIZE, MIN_PARALLEL_PAGE):
        # Tiny pages (a misbehaving target, or too many requests): page after page, as before,
        # from page 2.
        return connector.list_after(object_type, first, page_size=LIST_PAGE_SIZE)
    starts = list(range(1 + size, total + 1, size))
    if len(starts) > MAX_PARALLEL_PAGES:
        return None
    outcomes = requests.run_all(
        [partial(connector.list_page, object_type, start, size) for start in starts]
    )
    resources = list(first)
    for _page, error in outcomes:
        if error is not None:
            raise error
    for (page, _total), _error in outcomes:
        resources.extend(page)
    ids = [r.get("id") for r in resources]
    if len(resources) < total or len(set(ids)) != len(ids):
        return None  # pages overlap or fall short (objects added or removed meanwhile)
    return resources


class PrefetchedLookups:
    """Filtered lookups sent concurrently before a chunk is planned (issue 16); a lookup
    not prefetched is sent when asked. Behaves as an index for :func:`match_by_attributes`."""

    def __init__(self, connector: Connector, object_type: str) -> None:
        self.connector = connector
        self.object_type = object_type
        self._found: dict[tuple[str, Any], tuple[list | None, BaseException | None]] = {}

    def prefetch(self, requests: Any, lookups: list[tuple[str, Any]]) -> BaseException | None:
        """Send the first lookup alone, then, if it worked, the others concurrently. Returns
        the first lookup's error (nothing else is sent then: the cycle falls back to a listing
        as it would after one failed lookup)."""
        # What an earlier chunk did not use is stale now (its objects may have been created).
        self._found.clear()
        wanted = []
        for path, value in lookups:
            key = (path, value)
            if key not in wanted:
                wanted.append(key)
        if not wanted:
            return None
        first = requests.run_all([partial(self.connector.find, self.object_type, *wanted[0])])[0]
        if first[1] is not None:
            return first[1]
        self._found[wanted[0]] = first
        rest = wanted[1:]
        outcomes = requests.run_all(
            [partial(self.connector.find, self.object_type, path, value) for path, value in rest]
        )
        for key, outcome in zip(rest, outcomes, strict=True):
            self._found[key] = outcome
        return None

    def find(self, path: str, value: Any) -> list[dict]:
        try:
            outcome = self._found.pop((path, value), None)
        except TypeError:  # an unhashable value: never prefetched
            outcome = None
        if outcome is None:
            return self.connector.find(self.object_type, path, value)
        found, error = outcome
        if error is not None:
            raise error
        return list(found or [])


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
