"""Validate and save a whole object mapping in one transaction (the one way mappings change).

Rules are those of :mod:`.validation`; nothing is written while any problem stands. A change
writes audit events with the before and after of what changed (*Update attribute mappings*,
*Update scoping filters*) and sets the job's ``full_sync_required``: the next cycle is an initial
cycle, so every account is evaluated again under the new mapping.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ..choices import AuditActivity, MappingType
from ..gallery.base import AttributeTemplate
from ..models import AttributeMapping, ObjectMapping, ProvisioningJob
from ..services.audit import record_audit
from .drafts import AttributeDraft, MappingDraft
from .target_schema import target_attributes
from .validation import SchemaProblem, validate_mapping


def default_attributes(mapping: ObjectMapping) -> list[AttributeDraft]:
    """The gallery template's attribute mappings (*Restore default mappings*)."""
    try:
        mapping_template = mapping.job.application.template.mapping_for(mapping.object_type)
    except LookupError:
        mapping_template = None
    if mapping_template is None:
        return []
    return [_from_template(a) for a in mapping_template.attributes]


def _from_template(attribute: AttributeTemplate) -> AttributeDraft:
    return AttributeDraft(
        target_attribute=attribute.target,
        mapping_type=attribute.mapping_type,
        source_attribute=attribute.source if attribute.mapping_type == MappingType.DIRECT else "",
        expression=attribute.expression,
        constant_value=attribute.constant,
        default_value=attribute.default,
        is_matching=attribute.matching_precedence is not None,
        matching_precedence=attribute.matching_precedence,
        apply_on=attribute.apply_on,
    )


def attribute_changes(
    before: list[AttributeDraft], after: list[AttributeDraft]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the rows that changed, keyed by target attribute."""
    old = {row.target_attribute: row.comparable() for row in before}
    new = {row.target_attribute: row.comparable() for row in after}
    was: dict[str, Any] = {}
    now: dict[str, Any] = {}
    for target in sorted(set(old) | set(new)):
        if old.get(target) == new.get(target):
            continue
        if target in old and target in new:
            fields = [k for k in new[target] if old[target].get(k) != new[target][k]]
            was[target] = {k: old[target].get(k) for k in fields}
            now[target] = {k: new[target][k] for k in fields}
        else:
            was[target] = old.get(target)
            now[target] = new.get(target)
    return was, now


def apply_draft(mapping: ObjectMapping, draft: MappingDraft) -> None:
    """Write a validated draft over the mapping (no checks: callers validated it)."""
    mapping.enabled = draft.enabled
    mapping.action_create = draft.action_create
    mapping.action_update = draft.action_update
    mapping.action_delete = draft.action_delete
    mapping.scoping_filters = [
        [
            {
                "attribute": str(c.get("attribute", "")),
                "operator": str(c.get("operator", "")),
                "value": "" if c.get("value") is None else str(c.get("value")),
            }
            for c in clauses
        ]
        for clauses in draft.scoping_filters
    ]
    mapping.save()
    mapping.attributes.all().delete()
    AttributeMapping.objects.bulk_create(
        AttributeMapping(
            object_mapping=mapping,
            position=position,
            **{
                **row.comparable(),
                "target_attribute": row.target_attribute.strip(),
                "matching_precedence": row.matching_precedence if row.is_matching else None,
            },
        )
        for position, row in enumerate(draft.attributes)
    )


def audit_mapping_change(
    mapping: ObjectMapping,
    before: MappingDraft,
    after: MappingDraft,
    *,
    actor,
    channel: str,
) -> bool:
    """Write the audit events of a change; False when nothing changed."""
    application = mapping.job.application
    was, now = attribute_changes(before.attributes, after.attributes)
    settings_before, settings_after = before.settings(), after.settings()
    changed_settings = [k for k in settings_after if settings_before[k] != settings_after[k]]
    changed = False
    if was or now or changed_settings:
        record_audit(
            AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS,
            actor=actor,
            application=application,
            target=mapping.name,
            before={
                **({"attributeMappings": was} if was or now else {}),
                **{k: settings_before[k] for k in changed_settings},
            },
            after={
                **({"attributeMappings": now} if was or now else {}),
                **{k: settings_after[k] for k in changed_settings},
            },
            channel=channel,
        )
        changed = True
    if before.scoping_filters != after.scoping_filters:
        record_audit(
            AuditActivity.UPDATE_SCOPING_FILTERS,
            actor=actor,
            application=application,
            target=mapping.name,
            before={"scopingFilters": before.scoping_filters},
            after={"scopingFilters": after.scoping_filters},
            channel=channel,
        )
        changed = True
    return changed


def require_full_sync(job: ProvisioningJob) -> None:
    # An UPDATE of its own: the job's engine fields are never saved from a loaded instance.
    ProvisioningJob.objects.filter(pk=job.pk).update(full_sync_required=True)


def save_object_mapping(
    mapping: ObjectMapping, draft: MappingDraft, *, actor=None, channel: str = "portal"
) -> list[SchemaProblem]:
    """Validate ``draft`` as a whole and save it over ``mapping``; returns the problems (and
    saves nothing) when there are any, else ``[]``."""
    if draft.object_type != mapping.object_type:
        return [SchemaProblem("objectType", _("The draft is for another object type."))]
    with transaction.atomic():
        mapping = (
            ObjectMapping.objects.select_for_update()
            .select_related("job__application")
            .get(pk=mapping.pk)
        )
        problems = validate_mapping(draft, target_attributes(mapping.job, mapping.object_type))
        if problems:
            return problems
        before = MappingDraft.from_model(mapping)
        apply_draft(mapping, draft)
        after = MappingDraft.from_model(mapping)
        if audit_mapping_change(mapping, before, after, actor=actor, channel=channel):
            require_full_sync(mapping.job)
    return []
