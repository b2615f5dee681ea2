"""The job's mappings, scoping filters and target attribute lists as one JSON document
(Azure: *Review your schema here*), for download, upload and the REST API.

Shape (``version`` 1)::

    {"version": 1,
     "objectMappings": [
       {"objectType": "User", "name": "...", "targetObject": "...", "enabled": true,
        "actions": {"create": true, "update": true, "delete": true},
        "scopingFilters": [{"clauses": [{"attribute": "department", "operator": "EQUALS",
                                         "value": "Sales"}]}],
        "attributeMappings": [{"targetAttribute": "userName", "mappingType": "Direct",
                               "sourceAttribute": "userPrincipalName", "expression": "",
                               "constantValue": "", "defaultValue": "",
                               "matchingPrecedence": 1, "apply": "Always"}],
        "targetAttributes": [{"name": "userName", "type": "String", "required": true,
                              "multiValued": false, "matchingSupported": true,
                              "description": ""}]}]}

An attribute mapping matches objects when its ``matchingPrecedence`` is a number. Import
validates the whole document first: every problem is listed with its path
(``objectMappings[0].attributeMappings[3].expression``) and nothing changes when there is any.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ..choices import ApplyMapping, AuditActivity, MappingType, TargetAttributeOrigin
from ..choices import TargetAttributeType as Type
from ..models import ObjectMapping, ProvisioningJob, TargetAttribute
from ..services.audit import record_audit
from .drafts import AttributeDraft, MappingDraft
from .save import apply_draft, audit_mapping_change, require_full_sync
from .target_schema import (
    TargetAttributeSpec,
    is_scim_job,
    spec_of,
    target_attributes,
    validate_spec,
)
from .validation import SchemaProblem, validate_mapping

__all__ = [
    "DOCUMENT_VERSION",
    "SchemaProblem",
    "apply_schema_document",
    "export_schema_document",
    "validate_schema_document",
]

DOCUMENT_VERSION = 1
MAX_TARGET_ATTRIBUTES = 2000


def _attribute_document(row: AttributeDraft) -> dict[str, Any]:
    return {
        "targetAttribute": row.target_attribute,
        "mappingType": row.mapping_type,
        "sourceAttribute": row.source_attribute,
        "expression": row.expression,
        "constantValue": row.constant_value,
        "defaultValue": row.default_value,
        "matchingPrecedence": row.matching_precedence if row.is_matching else None,
        "apply": row.apply_on,
    }


def _target_document(spec: TargetAttributeSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "type": spec.type,
        "required": spec.required,
        "multiValued": spec.multi_valued,
        "matchingSupported": spec.matching_supported,
        "description": spec.description,
    }


def export_schema_document(job: ProvisioningJob) -> dict[str, Any]:
    """The job's object mappings with their rows, scope and target attribute lists."""
    mappings = []
    for mapping in job.mappings.order_by("-object_type"):  # Users first
        draft = MappingDraft.from_model(mapping)
        schema = target_attributes(job, mapping.object_type)
        mappings.append(
            {
                "objectType": mapping.object_type,
                "name": mapping.name,
                "targetObject": mapping.target_object,
                "enabled": draft.enabled,
                "actions": {
                    "create": draft.action_create,
                    "update": draft.action_update,
                    "delete": draft.action_delete,
                },
                "scopingFilters": [{"clauses": clauses} for clauses in draft.scoping_filters],
                "attributeMappings": [_attribute_document(row) for row in draft.attributes],
                "targetAttributes": [
                    _target_document(spec_of(row))
                    for row in sorted(schema.values(), key=lambda r: r.name.lower())
                ],
            }
        )
    return {"version": DOCUMENT_VERSION, "objectMappings": mappings}


# --- reading a document ---------------------------------------------------------------------------


class _Reader:
    """Reads a document into drafts and attribute lists, collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[SchemaProblem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(SchemaProblem(path, message))

    def text(self, data: dict, key: str, path: str, default: str = "") -> str:
        value = data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.problem(f"{path}.{key}", _("Must be a string."))
            return default
        return value

    def flag(self, data: dict, key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key}", _("Must be true or false."))
            return default
        return value

    def attribute(self, data: Any, path: str) -> AttributeDraft:
        if not isinstance(data, dict):
            self.problem(path, _("Must be an object."))
            return AttributeDraft()
        precedence = data.get("matchingPrecedence")
        if precedence is not None and (
            isinstance(precedence, bool) or not isinstance(precedence, int)
        ):
            self.problem(f"{path}.matchingPrecedence", _("Must be a whole number or null."))
            precedence = None
        return AttributeDraft(
            target_attribute=self.text(data, "targetAttribute", path),
            mapping_type=self.text(data, "mappingType", path, MappingType.DIRECT),
            source_attribute=self.text(data, "sourceAttribute", path),
            expression=self.text(data, "expression", path),
            constant_value=self.text(data, "constantValue", path),
            default_value=self.text(data, "defaultValue", path),
            is_matching=precedence is not None,
            matching_precedence=precedence,
            apply_on=self.text(data, "apply", path, ApplyMapping.ALWAYS),
        )

    def filters(self, data: Any, path: str) -> list[list[dict[str, str]]]:
        if data is None:
            return []
        if not isinstance(data, list):
            self.problem(path, _("Must be a list."))
            return []
        result = []
        for f, item in enumerate(data):
            clauses = item.get("clauses") if isinstance(item, dict) else None
            if not isinstance(clauses, list):
                self.problem(f"{path}[{f}].clauses", _("Must be a list of clauses."))
                continue
            result.append(
                [
                    {
                        "attribute": str(c.get("attribute") or ""),
                        "operator": str(c.get("operator") or ""),
                        "value": "" if c.get("value") is None else str(c.get("value")),
                    }
                    if isinstance(c, dict)
                    else c
                    for c in clauses
                ]
            )
        return result

    def targets(self, data: Any, path: str, scim: bool) -> dict[str, TargetAttributeSpec]:
        specs: dict[str, TargetAttributeSpec] = {}
        if not isinstance(data, list):
            self.problem(path, _("Must be a list."))
            return specs
        if len(data) > MAX_TARGET_ATTRIBUTES:
            self.problem(path, _("At most %(n)s attributes.") % {"n": MAX_TARGET_ATTRIBUTES})
            return specs
        for i, item in enumerate(data):
            here = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.problem(here, _("Must be an object."))
                continue
            spec = TargetAttributeSpec(
                name=self.text(item, "name", here).strip(),
                type=self.text(item, "type", here, Type.STRING),
                required=self.flag(item, "required", here, False),
                multi_valued=self.flag(item, "multiValued", here, False),
                matching_supported=self.flag(item, "matchingSupported", here, False),
                description=self.text(item, "description", here)[:1024],
            )
            for field, message in validate_spec(spec, scim=scim):
                self.problem(f"{here}.{field}", message)
            if spec.name.lower() in specs:
                self.problem(f"{here}.name", _("“%(name)s” is listed twice.") % {"name": spec.name})
            elif spec.name:
                specs[spec.name.lower()] = spec
        return specs


def _read(
    job: ProvisioningJob, document: Any
) -> tuple[list[SchemaProblem], list[tuple[ObjectMapping, MappingDraft, dict]]]:
    reader = _Reader()
    plan: list[tuple[ObjectMapping, MappingDraft, dict]] = []
    if not isinstance(document, dict):
        return [SchemaProblem("", _("The document must be a JSON object."))], plan
    if document.get("version") != DOCUMENT_VERSION:
        reader.problem("version", _("Unknown version: expected %(v)s.") % {"v": DOCUMENT_VERSION})
    items = document.get("objectMappings")
    if not isinstance(items, list) or not items:
        reader.problem("objectMappings", _("Must be a non-empty list of object mappings."))
        return reader.problems, plan
    mappings = {m.object_type: m for m in job.mappings.all()}
    seen: set[str] = set()
    for index, item in enumerate(items):
        path = f"objectMappings[{index}]"
        if not isinstance(item, dict):
            reader.problem(path, _("Must be an object."))
            continue
        object_type = item.get("objectType")
        mapping = mappings.get(object_type) if isinstance(object_type, str) else None
        if mapping is None:
            reader.problem(
                f"{path}.objectType",
                _("This application has no “%(type)s” mapping.") % {"type": object_type},
            )
            continue
        if object_type in seen:
            reader.problem(
                f"{path}.objectType", _("“%(type)s” appears twice.") % {"type": object_type}
            )
            continue
        seen.add(object_type)
        actions = item.get("actions", {})
        if not isinstance(actions, dict):
            reader.problem(f"{path}.actions", _("Must be an object."))
            actions = {}
        rows = item.get("attributeMappings")
        if not isinstance(rows, list):
            reader.problem(f"{path}.attributeMappings", _("Must be a list."))
            rows = []
        draft = MappingDraft(
            object_type=object_type,
            enabled=reader.flag(item, "enabled", path, True),
            action_create=reader.flag(actions, "create", f"{path}.actions", True),
            action_update=reader.flag(actions, "update", f"{path}.actions", True),
            action_delete=reader.flag(actions, "delete", f"{path}.actions", True),
            scoping_filters=reader.filters(item.get("scopingFilters"), f"{path}.scopingFilters"),
            attributes=[
                reader.attribute(row, f"{path}.attributeMappings[{i}]")
                for i, row in enumerate(rows)
            ],
        )
        if "targetAttributes" in item:
            specs = reader.targets(
                item.get("targetAttributes"), f"{path}.targetAttributes", is_scim_job(job)
            )
        else:  # no list in the document: the job's current list
            specs = {k: spec_of(v) for k, v in target_attributes(job, object_type).items()}
        for problem in validate_mapping(draft, specs):
            reader.problem(f"{path}.{problem.path}", problem.message)
        plan.append((mapping, draft, specs if "targetAttributes" in item else {}))
    return reader.problems, plan


def validate_schema_document(job: ProvisioningJob, document: Any) -> list[SchemaProblem]:
    """Every problem of ``document`` for ``job`` (an empty list: it can be applied)."""
    return _read(job, document)[0]


def apply_schema_document(
    job: ProvisioningJob, document: Any, *, actor=None, channel: str = "portal"
) -> list[SchemaProblem]:
    """Validate the whole document; on any problem change nothing and return the problems.
    Else replace the mappings, scoping filters and target attribute lists it holds in one
    transaction, audit the change and require an initial cycle; return ``[]``."""
    with transaction.atomic():
        ProvisioningJob.objects.select_for_update().filter(pk=job.pk).first()
        problems, plan = _read(job, document)
        if problems:
            return problems
        changed = False
        for mapping, draft, specs in plan:
            if specs:
                changed |= _replace_target_attributes(
                    job, mapping.object_type, specs, actor, channel
                )
            before = MappingDraft.from_model(mapping)
            apply_draft(mapping, draft)
            after = MappingDraft.from_model(mapping)
            changed |= audit_mapping_change(mapping, before, after, actor=actor, channel=channel)
        if changed:
            require_full_sync(job)
    return []


def _replace_target_attributes(
    job: ProvisioningJob, object_type: str, specs: dict[str, TargetAttributeSpec], actor, channel
) -> bool:
    current = {k: spec_of(v) for k, v in target_attributes(job, object_type).items()}
    if current == specs:
        return False
    job.target_attributes.filter(object_type=object_type).delete()
    TargetAttribute.objects.bulk_create(
        TargetAttribute(
            job=job, object_type=object_type, origin=TargetAttributeOrigin.IMPORT, **spec.to_dict()
        )
        for spec in specs.values()
    )
    removed = sorted(current[k].name for k in set(current) - set(specs))
    added = sorted(specs[k].name for k in set(specs) - set(current))
    changed = sorted(specs[k].name for k in set(specs) & set(current) if specs[k] != current[k])
    record_audit(
        AuditActivity.UPDATE_TARGET_SCHEMA,
        actor=actor,
        application=job.application,
        target=_("Attribute list of %(type)s (imported)") % {"type": object_type},
        before={"removed": removed, "changed": changed},
        after={"added": added, "changed": changed},
        channel=channel,
    )
    return True
