"""An object mapping as plain data: what the editor pages edit (kept in the session until Save),
what a schema document holds, and what the save service writes."""

from dataclasses import asdict, dataclass, field
from typing import Any

from ..choices import ApplyMapping, MappingType
from ..models import AttributeMapping, ObjectMapping


@dataclass
class AttributeDraft:
    """One row of the attribute list. Field names follow :class:`AttributeMapping`, so the
    engine's ``AttributeRule.from_mapping`` accepts a draft as it accepts a saved row."""

    target_attribute: str = ""
    mapping_type: str = MappingType.DIRECT
    source_attribute: str = ""
    expression: str = ""
    constant_value: str = ""
    default_value: str = ""
    is_matching: bool = False
    matching_precedence: int | None = None
    apply_on: str = ApplyMapping.ALWAYS

    @classmethod
    def from_model(cls, row: AttributeMapping) -> "AttributeDraft":
        return cls(
            target_attribute=row.target_attribute,
            mapping_type=row.mapping_type,
            source_attribute=row.source_attribute,
            expression=row.expression,
            constant_value=row.constant_value,
            default_value=row.default_value,
            is_matching=row.is_matching,
            matching_precedence=row.matching_precedence if row.is_matching else None,
            apply_on=row.apply_on,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AttributeDraft":
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in names})

    def source_text(self) -> str:
        if self.mapping_type == MappingType.DIRECT:
            return self.source_attribute
        if self.mapping_type == MappingType.CONSTANT:
            return f"\u201c{self.constant_value}\u201d"
        if self.mapping_type == MappingType.EXPRESSION:
            return self.expression
        return ""

    def comparable(self) -> dict[str, Any]:
        """Only the fields that matter for the mapping type (an Expression's stale
        constant value is not a change)."""
        data = asdict(self)
        if self.mapping_type != MappingType.DIRECT:
            data["source_attribute"] = ""
        if self.mapping_type != MappingType.EXPRESSION:
            data["expression"] = ""
        if self.mapping_type != MappingType.CONSTANT:
            data["constant_value"] = ""
        if not self.is_matching:
            data["matching_precedence"] = None
        return data


@dataclass
class MappingDraft:
    object_type: str
    enabled: bool = True
    action_create: bool = True
    action_update: bool = True
    action_delete: bool = True
    scoping_filters: list[list[dict[str, str]]] = field(default_factory=list)
    attributes: list[AttributeDraft] = field(default_factory=list)

    @classmethod
    def from_model(cls, mapping: ObjectMapping) -> "MappingDraft":
        return cls(
            object_type=mapping.object_type,
            enabled=mapping.enabled,
            action_create=mapping.action_create,
            action_update=mapping.action_update,
            action_delete=mapping.action_delete,
            scoping_filters=[
                [dict(clause) for clause in clauses] for clauses in mapping.scoping_filters or []
            ],
            attributes=[
                AttributeDraft.from_model(row)
                for row in mapping.attributes.order_by("position", "id")
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MappingDraft":
        return cls(
            object_type=data["object_type"],
            enabled=bool(data.get("enabled", True)),
            action_create=bool(data.get("action_create", True)),
            action_update=bool(data.get("action_update", True)),
            action_delete=bool(data.get("action_delete", True)),
            scoping_filters=list(data.get("scoping_filters") or []),
            attributes=[AttributeDraft.from_dict(a) for a in data.get("attributes") or []],
        )

    def settings(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "action_create": self.action_create,
            "action_update": self.action_update,
            "action_delete": self.action_delete,
        }
