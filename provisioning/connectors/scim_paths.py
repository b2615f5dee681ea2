"""Between the engine's flat attribute paths and SCIM resources, PATCH operations and filters.

The engine describes a target object as a flat dict keyed by Azure-style SCIM
attribute paths::

    {"userName": "a@x", "name.givenName": "A",
     'emails[type eq "work"].value': "a@x",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "<id>"}

The functions here are pure (no I/O) and are the only place that knows how such a
path maps onto a SCIM resource. Supported path forms (RFC 7644 §3.10 ``attrPath``
and ``valuePath`` restricted to one ``eq`` comparison, which is all Azure's
mappings produce):

- ``attr``, ``attr.sub``
- ``attr[filterAttr eq <literal>]`` and ``attr[filterAttr eq <literal>].sub``
- any of the above prefixed by a schema URN and ``:``; core schema URNs are
  treated as no prefix.

Decisions, verified against scim2-server 0.8.3:

- PATCH ``replace`` with a value-filtered path (``emails[type eq "work"].value``)
  is accepted and changes the matching item. When *no* item matches, the server
  answers 400 ``noTarget`` (RFC 7644 §3.5.2.3 requires this, for ``add`` too).
  :func:`to_patch_operations` therefore takes the current resource when known:
  a filtered path whose item does not exist yet becomes an ``add`` of the whole
  item on the multi-valued attribute (``{"op": "add", "path": "emails",
  "value": [{"type": "work", "value": …}]}``); several paths into the same new
  item are merged into one. Without the current resource it emits filtered
  ``replace`` ops, and the connector retries with the current resource on
  ``noTarget``.
- ``remove`` of an absent attribute or of a filtered path without a match
  answers 204, so removals are always sent as plain path removals.
- Azure writes ``roles[primary eq "True"]``; ``primary`` is a boolean, so the
  literal is normalised to ``true``/``false`` in resources, paths and matching.
- The enterprise ``manager`` is complex: it is written as ``{"value": id}``
  (the server refuses a bare string) and read back as the id.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

CORE_SCHEMAS = {"User": CORE_USER_SCHEMA, "Group": CORE_GROUP_SCHEMA}
ENDPOINTS = {"User": "Users", "Group": "Groups"}

# Sub-attributes typed boolean in RFC 7643 that Azure compares with strings.
_BOOLEAN_FILTER_ATTRIBUTES = {"primary"}

_NAME = r"[A-Za-z][\w$-]*"
_PATH_RE = re.compile(
    rf"^(?P<attr>{_NAME})(?:\[(?P<filter>.*)\])?(?:\.(?P<sub>{_NAME}))?$", re.DOTALL
)
_FILTER_RE = re.compile(
    rf'^\s*(?P<attr>{_NAME})\s+eq\s+(?P<value>"(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?)\s*$',
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class AttributePath:
    """A parsed flat path: ``[schema:]attribute[[filter_attribute eq filter_value]][.sub_attribute]``."""

    attribute: str
    schema: str | None = None
    filter_attribute: str | None = None
    filter_value: Any = None
    sub_attribute: str | None = None

    @property
    def has_filter(self) -> bool:
        return self.filter_attribute is not None

    @property
    def is_manager(self) -> bool:
        return (
            self.schema is not None
            and self.schema.lower() == ENTERPRISE_USER_SCHEMA.lower()
            and self.attribute.lower() == "manager"
            and self.sub_attribute is None
        )

    def attribute_path(self) -> str:
        """The multi-valued (or simple) attribute itself, with its schema prefix."""
        prefix = f"{self.schema}:" if self.schema else ""
        return f"{prefix}{self.attribute}"

    def filter_expression(self) -> str:
        return f"{self.filter_attribute} eq {filter_literal(self.filter_value)}"

    def render(self) -> str:
        """The canonical SCIM path, e.g. ``emails[type eq "work"].value``."""
        text = self.attribute_path()
        if self.has_filter:
            text += f"[{self.filter_expression()}]"
        if self.sub_attribute:
            text += f".{self.sub_attribute}"
        return text

    def matches(self, item: Any) -> bool:
        """Whether a multi-valued item satisfies this path's filter."""
        if not isinstance(item, Mapping) or self.filter_attribute is None:
            return False
        return values_equal(_get_ci(item, self.filter_attribute), self.filter_value)


@functools.lru_cache(maxsize=1024)  # a cycle parses the same few paths for every object
def parse_path(path: str) -> AttributePath:
    """Parse a flat attribute path; ``ValueError`` for a form we do not support."""
    text = path.strip()
    schema: str | None = None
    if text.lower().startswith("urn:"):
        head = text.split("[", 1)[0]
        if ":" not in head[4:]:
            raise ValueError(f"unsupported attribute path: {path!r}")
        split_at = head.rfind(":")
        schema, text = text[:split_at], text[split_at + 1 :]
        if schema.lower() in {s.lower() for s in CORE_SCHEMAS.values()}:
            schema = None
    match = _PATH_RE.match(text)
    if not match:
        raise ValueError(f"unsupported attribute path: {path!r}")
    filter_attribute = filter_value = None
    if match.group("filter") is not None:
        filter_match = _FILTER_RE.match(match.group("filter"))
        if not filter_match:
            raise ValueError(f"unsupported filter in attribute path: {path!r}")
        filter_attribute = filter_match.group("attr")
        filter_value = _parse_literal(filter_match.group("value"))
        if (
            filter_attribute.lower() in _BOOLEAN_FILTER_ATTRIBUTES
            and isinstance(filter_value, str)
            and filter_value.lower() in ("true", "false")
        ):
            filter_value = filter_value.lower() == "true"
    return AttributePath(
        attribute=match.group("attr"),
        schema=schema,
        filter_attribute=filter_attribute,
        filter_value=filter_value,
        sub_attribute=match.group("sub"),
    )


def _parse_literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return json.loads(text)


def filter_literal(value: Any) -> str:
    """Render a value as a SCIM filter ``compValue``.

    Strings use JSON string syntax (RFC 7644 §3.4.2.2), which escapes ``"`` and
    ``\\``; non-ASCII characters stay as they are and are percent-encoded in UTF-8
    with the rest of the query string.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


def eq_filter(path: str, value: Any) -> str:
    """A filter selecting resources whose ``path`` equals ``value``.

    A value-filtered path becomes the RFC's ``valuePath`` form, e.g.
    ``emails[type eq "work"].value`` → ``emails[type eq "work" and value eq "x"]``.
    """
    parsed = parse_path(path)
    if parsed.has_filter:
        sub = parsed.sub_attribute or "value"
        return (
            f"{parsed.attribute_path()}[{parsed.filter_expression()} and "
            f"{sub} eq {filter_literal(value)}]"
        )
    target = parsed.render()
    if parsed.is_manager:
        target += ".value"
    return f"{target} eq {filter_literal(value)}"


def loose_eq_filter(path: str, value: Any) -> str:
    """The widely supported fallback of :func:`eq_filter`: ``emails.value eq "x"``.

    It ignores the item filter, so callers re-check results with :func:`from_resource`.
    """
    parsed = parse_path(path)
    sub = parsed.sub_attribute or "value"
    if parsed.has_filter:
        return f"{parsed.attribute_path()}.{sub} eq {filter_literal(value)}"
    return eq_filter(path, value)


def values_equal(actual: Any, expected: Any) -> bool:
    """Compare a target's value with ours as SCIM does: strings case-insensitively."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        if isinstance(actual, str):
            return actual.lower() == str(expected).lower()
        return actual is expected or actual == expected
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    return actual == expected


def _get_ci(mapping: Any, key: str) -> Any:
    """Look a key up case-insensitively (SCIM attribute names are case-insensitive)."""
    if not isinstance(mapping, Mapping):
        return None
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for candidate, value in mapping.items():
        if isinstance(candidate, str) and candidate.lower() == lowered:
            return value
    return None


def _wire_value(parsed: AttributePath, value: Any) -> Any:
    if parsed.is_manager and value is not None and not isinstance(value, Mapping):
        return {"value": value}
    return value


def _new_item(parsed: AttributePath) -> dict[str, Any]:
    assert parsed.filter_attribute is not None
    return {parsed.filter_attribute: parsed.filter_value}


def _set_in_item(item: dict[str, Any], parsed: AttributePath, value: Any) -> None:
    if parsed.sub_attribute:
        item[parsed.sub_attribute] = value
    elif isinstance(value, Mapping):
        item.update(value)
    else:
        item["value"] = value


def _mark_primary_email(items: list[dict[str, Any]]) -> None:
    if items and not any(_get_ci(item, "primary") is True for item in items):
        items[0]["primary"] = True


def to_resource(object_type: str, flat: Mapping[str, Any]) -> dict[str, Any]:
    """Build the nested SCIM resource for a create or a PUT.

    ``None`` values are left out. A group's ``members`` are never part of it: the
    engine creates groups empty and writes members with PATCH.
    """
    core = CORE_SCHEMAS[object_type]
    schemas = [core]
    resource: dict[str, Any] = {"schemas": schemas}
    for path, value in flat.items():
        if value is None:
            continue
        parsed = parse_path(path)
        if (
            object_type == "Group"
            and parsed.schema is None
            and parsed.attribute.lower() == "members"
        ):
            continue
        if parsed.schema is None:
            container = resource
        else:
            if parsed.schema not in schemas:
                schemas.append(parsed.schema)
            container = resource.setdefault(parsed.schema, {})
        value = _wire_value(parsed, value)
        if parsed.has_filter:
            items = container.setdefault(parsed.attribute, [])
            item = next((i for i in items if parsed.matches(i)), None)
            if item is None:
                item = _new_item(parsed)
                items.append(item)
            _set_in_item(item, parsed, value)
        elif parsed.sub_attribute:
            container.setdefault(parsed.attribute, {})[parsed.sub_attribute] = value
        else:
            container[parsed.attribute] = value
    emails = resource.get("emails")
    if isinstance(emails, list):
        _mark_primary_email(emails)
    return resource


def to_patch_operations(
    flat_changes: Mapping[str, Any], current: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """RFC 7644 PATCH operations writing exactly ``flat_changes``.

    A value replaces (``replace``), ``None`` removes (``remove``). With
    ``current`` (the target's resource), a filtered path whose item does not exist
    becomes an ``add`` of a new item, as explained in the module docstring.
    """
    operations: list[dict[str, Any]] = []
    new_items: dict[tuple[str, str, str], tuple[AttributePath, dict[str, Any]]] = {}
    for path, value in flat_changes.items():
        parsed = parse_path(path)
        if parsed.has_filter and current is not None and not _find_items(current, parsed):
            if value is None:
                continue  # nothing there to remove
            key = (
                parsed.attribute_path().lower(),
                str(parsed.filter_attribute).lower(),
                json.dumps(parsed.filter_value),
            )
            if key not in new_items:
                new_items[key] = (parsed, _new_item(parsed))
            _set_in_item(new_items[key][1], parsed, _wire_value(parsed, value))
            continue
        if value is None:
            operations.append({"op": "remove", "path": parsed.render()})
        else:
            operations.append(
                {
                    "op": "replace",
                    "path": parsed.render(),
                    "value": _wire_value(parsed, value),
                }
            )
    for parsed, item in new_items.values():
        if parsed.schema is None and parsed.attribute.lower() == "emails":
            existing = _get_ci(current, "emails") or []
            if not any(_get_ci(i, "primary") is True for i in existing):
                item["primary"] = True
        operations.append({"op": "add", "path": parsed.attribute_path(), "value": [item]})
    return operations


def _container(resource: Mapping[str, Any], parsed: AttributePath) -> Any:
    return resource if parsed.schema is None else _get_ci(resource, parsed.schema)


def _find_items(resource: Mapping[str, Any], parsed: AttributePath) -> list[Any]:
    items = _get_ci(_container(resource, parsed), parsed.attribute)
    if not isinstance(items, list):
        return []
    return [item for item in items if parsed.matches(item)]


def read_path(resource: Mapping[str, Any], path: str | AttributePath) -> Any:
    """Read one flat path out of a SCIM resource (``None`` when absent)."""
    parsed = parse_path(path) if isinstance(path, str) else path
    container = _container(resource, parsed)
    if parsed.has_filter:
        matching = _find_items(resource, parsed)
        if not matching:
            return None
        item = matching[0]
        if parsed.sub_attribute:
            return _get_ci(item, parsed.sub_attribute)
        value = _get_ci(item, "value")
        return value if value is not None else dict(item)
    value = _get_ci(container, parsed.attribute)
    if parsed.sub_attribute:
        return _get_ci(value, parsed.sub_attribute)
    if parsed.is_manager and isinstance(value, Mapping):
        return _get_ci(value, "value")
    return value


def from_resource(
    object_type: str, resource: Mapping[str, Any], paths: Iterable[str]
) -> dict[str, Any]:
    """Read the given flat paths back out of a SCIM resource, for drift comparison."""
    return {path: read_path(resource, path) for path in paths}
