"""Every rule an object mapping must satisfy before it is saved (issue 10).

A problem names the field it is about with a path, so a page shows it beside the field and a
schema document's import lists it: ``attributeMappings[3].expression``,
``scopingFilters[0].clauses[1].value``, ``enabled``. Nothing is saved while any problem stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.db import connection
from django.utils.translation import gettext as _

from ..choices import ApplyMapping, MappingType, ObjectType, TargetAttributeType
from ..engine.expression_functions import parse_date_string
from ..engine.expressions import ExpressionError, parse
from ..engine.importing import known_source_attributes
from ..engine.scope import (
    INTEGER_OPERATORS,
    OPERATORS,
    REGEX_OPERATORS,
    VALUELESS_OPERATORS,
    ScopingFilterError,
    compile_scoping_regex,
)
from .drafts import AttributeDraft, MappingDraft

MAX_ATTRIBUTES = 500
MAX_FILTERS = 50
MAX_CLAUSES = 50


@dataclass(frozen=True)
class SchemaProblem:
    """One thing wrong, and where: ``path`` names the field, ``message`` says what to do."""

    path: str
    message: str


class TargetAttributeLike(Protocol):
    name: str
    type: str
    matching_supported: bool


def attribute_path(index: int, field: str = "") -> str:
    return f"attributeMappings[{index}]" + (f".{field}" if field else "")


def clause_path(filter_index: int, clause_index: int | None = None, field: str = "") -> str:
    path = f"scopingFilters[{filter_index}]"
    if clause_index is not None:
        path += f".clauses[{clause_index}]"
    return path + (f".{field}" if field else "")


# --- Source attributes --------------------------------------------------------------------------


def directory_extension_attributes() -> list[str]:
    """The ``extension_*`` attribute names seen on directory users (one query)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT jsonb_object_keys(extension_attributes::jsonb) "
                "FROM provisioning_directoryuser"
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT DISTINCT j.key FROM provisioning_directoryuser, "
                "json_each(provisioning_directoryuser.extension_attributes) AS j"
            )
        else:  # pragma: no cover - the two supported databases are above
            return []
        return sorted(row[0] for row in cursor.fetchall() if str(row[0]).startswith("extension_"))


def source_attributes(object_type: str) -> list[str]:
    """What the source attribute picker offers: built-ins, and ``extension_*`` for users."""
    names = list(known_source_attributes(object_type))
    if object_type == ObjectType.USER:
        names += directory_extension_attributes()
    return names


def builtin_sources(object_type: str) -> set[str]:
    """Lower-cased built-in source attributes. Validation needs no more: any ``extension_*``
    name is accepted (a directory extension may be filled later), so it never scans the
    directory; only the pickers list the ``extension_*`` names already seen."""
    return {name.lower() for name in known_source_attributes(object_type)}


def is_known_source(name: str, known: set[str]) -> bool:
    return name.lower() in known or name.lower().startswith("extension_")


# --- Values against target types ----------------------------------------------------------------


def value_fits_type(value: str, type_: str) -> str | None:
    """None when ``value`` (a constant or a default) can be written to a ``type_`` attribute,
    else why not."""
    if value == "" or type_ in (TargetAttributeType.STRING, TargetAttributeType.BINARY):
        return None
    if type_ == TargetAttributeType.BOOLEAN:
        if value.strip().lower() not in ("true", "false"):
            return _("The attribute is Boolean: enter True or False.")
    elif type_ == TargetAttributeType.INTEGER:
        try:
            int(value.strip())
        except ValueError:
            return _("The attribute is an Integer: enter a whole number.")
    elif type_ == TargetAttributeType.DECIMAL:
        try:
            Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return _("The attribute is a Decimal: enter a number.")
    elif type_ == TargetAttributeType.DATETIME:
        try:
            if not isinstance(parse_date_string(value.strip()), datetime):
                raise ValueError
        except Exception:
            return _("The attribute is a DateTime: enter a date such as 2024-01-31T09:00:00Z.")
    elif type_ == TargetAttributeType.REFERENCE:
        return _("The attribute is a reference to another object: a fixed value can't be one.")
    return None


# --- Expressions ----------------------------------------------------------------------------------


def expression_problem(text: str) -> str | None:
    """The expression's parse error with its line and column, or None."""
    if not text.strip():
        return _("Enter an expression.")
    try:
        parse(text)
    except ExpressionError as error:
        return _("%(message)s (line %(line)s, column %(column)s)") % {
            "message": error.message,
            "line": error.line,
            "column": error.column,
        }
    return None


# --- Scoping filters ------------------------------------------------------------------------------


def validate_scoping_filters(filters: Any, known_sources: set[str]) -> list[SchemaProblem]:
    problems: list[SchemaProblem] = []
    if not isinstance(filters, list):
        return [SchemaProblem("scopingFilters", _("The scoping filters must be a list."))]
    if len(filters) > MAX_FILTERS:
        problems.append(
            SchemaProblem(
                "scopingFilters", _("At most %(n)s scoping filters.") % {"n": MAX_FILTERS}
            )
        )
    for f, clauses in enumerate(filters):
        if not isinstance(clauses, list) or not clauses:
            problems.append(
                SchemaProblem(clause_path(f), _("A scoping filter needs at least one clause."))
            )
            continue
        if len(clauses) > MAX_CLAUSES:
            problems.append(
                SchemaProblem(clause_path(f), _("At most %(n)s clauses.") % {"n": MAX_CLAUSES})
            )
        for c, clause in enumerate(clauses):
            if not isinstance(clause, dict):
                problems.append(SchemaProblem(clause_path(f, c), _("A clause must be an object.")))
                continue
            attribute = str(clause.get("attribute") or "")
            operator = str(clause.get("operator") or "")
            value = clause.get("value", "")
            value = "" if value is None else str(value)
            if not attribute:
                problems.append(
                    SchemaProblem(clause_path(f, c, "attribute"), _("Choose an attribute."))
                )
            elif not is_known_source(attribute, known_sources):
                problems.append(
                    SchemaProblem(
                        clause_path(f, c, "attribute"),
                        _("“%(name)s” is not a directory attribute.") % {"name": attribute},
                    )
                )
            if operator not in OPERATORS:
                problems.append(
                    SchemaProblem(clause_path(f, c, "operator"), _("Choose an operator."))
                )
                continue
            if operator in VALUELESS_OPERATORS:
                continue
            if operator in INTEGER_OPERATORS:
                try:
                    int(value.strip())
                except ValueError:
                    problems.append(
                        SchemaProblem(
                            clause_path(f, c, "value"),
                            _("%(operator)s compares integers: enter a whole number.")
                            % {"operator": operator},
                        )
                    )
            elif operator in REGEX_OPERATORS:
                if not value:
                    problems.append(
                        SchemaProblem(clause_path(f, c, "value"), _("Enter a regular expression."))
                    )
                else:
                    try:
                        compile_scoping_regex(value)
                    except ScopingFilterError as error:
                        problems.append(SchemaProblem(clause_path(f, c, "value"), str(error)))
            elif value == "":
                problems.append(SchemaProblem(clause_path(f, c, "value"), _("Enter a value.")))
    return problems


# --- Attribute rows -------------------------------------------------------------------------------


def validate_attribute(
    index: int,
    row: AttributeDraft,
    schema: dict[str, TargetAttributeLike],
    known_sources: set[str],
) -> list[SchemaProblem]:
    """The rules of one row on its own (the attribute editor's OK checks these)."""
    problems: list[SchemaProblem] = []

    def problem(field: str, message: str) -> None:
        problems.append(SchemaProblem(attribute_path(index, field), message))

    if row.mapping_type not in MappingType.values:
        problem("mappingType", _("Choose Direct, Constant, Expression or None."))
    if row.apply_on not in ApplyMapping.values:
        problem("apply", _("Choose Always or Only during object creation."))
    target = schema.get(row.target_attribute.lower()) if row.target_attribute else None
    if not row.target_attribute.strip():
        problem("targetAttribute", _("Choose a target attribute."))
    elif target is None:
        problem(
            "targetAttribute",
            _(
                "“%(name)s” is not in the target's attribute list. Add it under "
                "Edit attribute list first."
            )
            % {"name": row.target_attribute},
        )
    if row.mapping_type == MappingType.DIRECT:
        if not row.source_attribute:
            problem("sourceAttribute", _("Choose a source attribute."))
        elif not is_known_source(row.source_attribute, known_sources):
            problem(
                "sourceAttribute",
                _("“%(name)s” is not a directory attribute.") % {"name": row.source_attribute},
            )
    elif row.mapping_type == MappingType.EXPRESSION:
        message = expression_problem(row.expression)
        if message:
            problem("expression", message)
    elif row.mapping_type == MappingType.CONSTANT and target is not None:
        message = value_fits_type(row.constant_value, target.type)
        if message:
            problem("constantValue", message)
    if row.default_value and target is not None:
        message = value_fits_type(row.default_value, target.type)
        if message:
            problem("defaultValue", message)
    if row.is_matching:
        if row.mapping_type == MappingType.NONE:
            problem("matching", _("A mapping of type None can't be used to match objects."))
        if not isinstance(row.matching_precedence, int) or row.matching_precedence < 1:
            problem("matchingPrecedence", _("Enter a matching precedence of 1 or more."))
        if target is not None and not target.matching_supported:
            problem(
                "matching",
                _("The target can't find accounts by “%(name)s”: it is not a matching attribute.")
                % {"name": target.name},
            )
    return problems


def validate_mapping(
    draft: MappingDraft,
    schema: dict[str, TargetAttributeLike],
    known_sources: set[str] | None = None,
) -> list[SchemaProblem]:
    """Every rule of a whole object mapping: rows, matching, scope and settings."""
    if known_sources is None:
        known_sources = builtin_sources(draft.object_type)
    problems: list[SchemaProblem] = []
    if draft.object_type == ObjectType.USER and not draft.enabled:
        problems.append(SchemaProblem("enabled", _("The Users mapping is always enabled.")))
    if len(draft.attributes) > MAX_ATTRIBUTES:
        problems.append(
            SchemaProblem(
                "attributeMappings", _("At most %(n)s attribute mappings.") % {"n": MAX_ATTRIBUTES}
            )
        )
    seen_targets: dict[str, int] = {}
    seen_precedence: dict[int, int] = {}
    for index, row in enumerate(draft.attributes):
        problems += validate_attribute(index, row, schema, known_sources)
        key = row.target_attribute.strip().lower()
        if key:
            if key in seen_targets:
                problems.append(
                    SchemaProblem(
                        attribute_path(index, "targetAttribute"),
                        _("“%(name)s” is already mapped (row %(row)s).")
                        % {"name": row.target_attribute, "row": seen_targets[key] + 1},
                    )
                )
            else:
                seen_targets[key] = index
        if row.is_matching and isinstance(row.matching_precedence, int):
            other = seen_precedence.get(row.matching_precedence)
            if other is not None:
                problems.append(
                    SchemaProblem(
                        attribute_path(index, "matchingPrecedence"),
                        _("Matching precedence %(n)s is already used by %(name)s.")
                        % {
                            "n": row.matching_precedence,
                            "name": draft.attributes[other].target_attribute,
                        },
                    )
                )
            else:
                seen_precedence[row.matching_precedence] = index
    if not any(row.is_matching for row in draft.attributes):
        problems.append(
            SchemaProblem(
                "attributeMappings",
                _("At least one attribute must be used to match objects."),
            )
        )
    problems += validate_scoping_filters(draft.scoping_filters, known_sources)
    return problems
