"""Stage 4, evaluate: the one place that computes an object's target representation.

The representation is flat: target attribute path -> value, exactly as the mappings name them.
Direct, Constant and Expression mappings are applied; "default value if null" and "only during
object creation" are honoured on create only. References to other objects (a user's manager)
become the referenced object's target id, or are deferred when it is not provisioned yet.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..choices import ApplyMapping, MappingType
from ..log_text import gettext as _  # step texts translated when read
from ..security.redaction import fingerprint, is_fingerprint
from .expressions import IGNORE_FLOW, Expression, ExpressionError, RedactedValue, parse, reveal

# Source attributes that name another directory object; their value is its object id.
REFERENCE_ATTRIBUTES = {"manager"}
# Source attributes handled by the membership stage, never by the flat representation.
MEMBERSHIP_ATTRIBUTES = {"members"}


class EvaluationError(Exception):
    """A mapping could not be evaluated for this object (the object fails, the cycle goes on)."""


@dataclass(frozen=True)
class AttributeRule:
    """One attribute mapping, prepared once per cycle (expressions parsed)."""

    target: str
    mapping_type: str
    source: str = ""
    constant: str = ""
    default: str = ""
    on_create_only: bool = False
    expression: Expression | None = None
    is_matching: bool = False
    matching_precedence: int | None = None

    @classmethod
    def from_mapping(cls, mapping) -> "AttributeRule":
        expression = None
        if mapping.mapping_type == MappingType.EXPRESSION:
            try:
                expression = parse(mapping.expression)
            except ExpressionError as error:
                raise EvaluationError(
                    _("The expression of %(target)s is invalid: %(error)s")
                    % {"target": mapping.target_attribute, "error": error}
                ) from error
        return cls(
            target=mapping.target_attribute,
            mapping_type=mapping.mapping_type,
            source=mapping.source_attribute,
            constant=mapping.constant_value,
            default=mapping.default_value,
            on_create_only=mapping.apply_on == ApplyMapping.ON_CREATE,
            expression=expression,
            is_matching=mapping.is_matching,
            matching_precedence=mapping.matching_precedence,
        )


@dataclass
class Evaluated:
    attributes: dict[str, Any] = field(default_factory=dict)
    # target path -> referenced source object id, not provisioned yet
    unresolved_references: dict[str, uuid.UUID] = field(default_factory=dict)
    # target paths whose value came through Redact(): exported, never shown in logs
    redacted_paths: set[str] = field(default_factory=set)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def evaluate_object(
    rules: list[AttributeRule],
    source: dict[str, Any],
    *,
    for_create: bool,
    reference_targets: dict[uuid.UUID, str],
) -> Evaluated:
    """Compute the flat target representation of one source object.

    ``reference_targets`` maps referenced source object ids (managers) to their target ids.
    """
    result = Evaluated()
    for rule in rules:
        if rule.mapping_type == MappingType.NONE or rule.source in MEMBERSHIP_ATTRIBUTES:
            continue
        if rule.on_create_only and not for_create:
            continue
        if rule.mapping_type == MappingType.DIRECT:
            value = source.get(rule.source)
            if rule.source in REFERENCE_ATTRIBUTES and value:
                referenced = uuid.UUID(str(value))
                target_id = reference_targets.get(referenced)
                if target_id is None:
                    result.unresolved_references[rule.target] = referenced
                    continue
                value = target_id
        elif rule.mapping_type == MappingType.CONSTANT:
            value = rule.constant
        else:
            try:
                value = rule.expression.evaluate(source)
            except Exception as error:  # any failure of an expression fails only this object
                raise EvaluationError(
                    _("Evaluating %(target)s failed: %(error)s")
                    % {"target": rule.target, "error": error}
                ) from error
            if value is IGNORE_FLOW:
                continue
            if isinstance(value, RedactedValue):
                result.redacted_paths.add(rule.target)
                value = reveal(value)
        if _blank(value) and rule.default:
            if not for_create:
                continue  # the default was for creation; an update leaves the value alone
            value = rule.default
        if _blank(value):
            if for_create:
                continue  # nothing to send on create
            value = None  # an update clears it
        result.attributes[rule.target] = value
    return result


def changed_attributes(
    desired: dict[str, Any],
    last_exported: dict[str, Any],
    is_secret: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """The attributes whose value differs from what was last written (diff-skip, F21).

    Secret paths (``is_secret``) were stored as fingerprints: they are compared as such."""
    changes = {}
    for path, value in desired.items():
        previous = last_exported.get(path)
        if _blank(value) and _blank(previous):
            continue
        if is_secret is not None and is_fingerprint(previous) and is_secret(path):
            if fingerprint(value) != previous:
                changes[path] = value
        elif value != previous:
            changes[path] = value
    return changes


def attributes_hash(attributes: dict[str, Any]) -> str:
    payload = json.dumps(attributes, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()
