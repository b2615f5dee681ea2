"""Provisioning > Mappings > *Synchronize Azure Active Directory Users to APP* (F10, F11).

The page edits a draft of the object mapping kept in the session: the attribute editor, the
scoping-filter editor, Add New Mapping, delete and Restore default mappings all change the draft.
**Save** validates the whole draft and shows a preview of what it would do to the accounts
already provisioned; **Confirm** saves it (one service call), **Discard** drops it. Auditors see
the saved mapping read-only.
"""

import hashlib
import json
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ..choices import ObjectType
from ..forms.mappings import MappingSettingsForm
from ..mappings.drafts import MappingDraft
from ..mappings.preview import preview_mapping_change
from ..mappings.save import attribute_changes, default_attributes, save_object_mapping
from ..mappings.target_schema import target_attributes
from ..mappings.validation import SchemaProblem, validate_mapping
from ..models import Application, ObjectMapping
from ..templatetags.portal_tags import mapping_title
from .access import can_change, portal_page
from .blade import blade_context, get_application

OBJECT_TYPE_SLUGS = {"users": ObjectType.USER, "groups": ObjectType.GROUP}


def object_type_slug(object_type: str) -> str:
    return "users" if object_type == ObjectType.USER else "groups"


# --- the draft in the session ---------------------------------------------------------------


def get_mapping(application: Application, slug: str) -> ObjectMapping:
    if slug not in OBJECT_TYPE_SLUGS:
        raise Http404
    return get_object_or_404(
        application.provisioning_job.mappings.select_related("job__application"),
        object_type=OBJECT_TYPE_SLUGS[slug],
    )


def _draft_key(mapping: ObjectMapping) -> str:
    return f"mapping-draft:{mapping.pk}"


def load_draft(request: HttpRequest, mapping: ObjectMapping) -> MappingDraft:
    stored = request.session.get(_draft_key(mapping))
    if stored:
        try:
            return MappingDraft.from_dict(stored["draft"])
        except (KeyError, TypeError, ValueError):
            pass
    return MappingDraft.from_model(mapping)


def has_draft(request: HttpRequest, mapping: ObjectMapping) -> bool:
    return load_draft(request, mapping) != MappingDraft.from_model(mapping)


def draft_is_stale(request: HttpRequest, mapping: ObjectMapping) -> bool:
    """The saved mapping changed (another administrator, an import) since this draft began."""
    stored = request.session.get(_draft_key(mapping))
    if not stored or not has_draft(request, mapping):
        return False
    return stored.get("base") != fingerprint(MappingDraft.from_model(mapping))


def store_draft(request: HttpRequest, mapping: ObjectMapping, draft: MappingDraft) -> None:
    stored = request.session.get(_draft_key(mapping)) or {}
    base = stored.get("base") or fingerprint(MappingDraft.from_model(mapping))
    request.session[_draft_key(mapping)] = {"draft": draft.to_dict(), "base": base}


def drop_draft(request: HttpRequest, mapping: ObjectMapping) -> None:
    request.session.pop(_draft_key(mapping), None)


def mapping_url(mapping: ObjectMapping, name: str = "attribute-mappings", **kwargs) -> str:
    return reverse(
        name,
        kwargs={
            "application_id": mapping.job.application_id,
            "object_type": object_type_slug(mapping.object_type),
            **kwargs,
        },
    )


# --- the page -------------------------------------------------------------------------------


@dataclass
class RowView:
    index: int
    row: object
    source_text: str
    errors: list[str]


def _rows(draft: MappingDraft, problems: list[SchemaProblem]) -> list[RowView]:
    rows = []
    for index, row in enumerate(draft.attributes):
        prefix = f"attributeMappings[{index}]."
        errors = [p.message for p in problems if p.path.startswith(prefix)]
        rows.append(RowView(index, row, row.source_text(), errors))
    return rows


def render_mapping_page(
    request: HttpRequest,
    application: Application,
    mapping: ObjectMapping,
    draft: MappingDraft,
    problems: list[SchemaProblem] | None = None,
    status: int = 200,
) -> HttpResponse:
    problems = problems or []
    rows = _rows(draft, problems)
    settings_form = (
        MappingSettingsForm(initial=draft.settings()) if can_change(request.user) else None
    )
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=mapping_title(mapping.name),
        mapping=mapping,
        draft=draft,
        rows=rows,
        slug=object_type_slug(mapping.object_type),
        settings_form=settings_form,
        unsaved=has_draft(request, mapping),
        stale=draft_is_stale(request, mapping),
        problems=problems,
        general_problems=[p for p in problems if not p.path.startswith("attributeMappings[")],
        matching=sorted(
            (r for r in rows if r.row.is_matching), key=lambda r: r.row.matching_precedence or 0
        ),
    )
    return render(request, "provisioning/attribute_mappings.html", context, status=status)


@portal_page
def attribute_mappings(request: HttpRequest, application_id: int, object_type: str) -> HttpResponse:
    application = get_application(application_id)
    mapping = get_mapping(application, object_type)
    if request.method != "POST":
        draft = load_draft(request, mapping) if can_change(request.user) else None
        return render_mapping_page(
            request, application, mapping, draft or MappingDraft.from_model(mapping)
        )
    draft = load_draft(request, mapping)
    if request.POST.get("settings-present"):
        form = MappingSettingsForm(request.POST)
        form.is_valid()  # booleans: always valid
        for name, value in form.cleaned_data.items():
            setattr(draft, name, value)
    action = request.POST.get("action", "")
    if action == "discard":
        drop_draft(request, mapping)
        messages.info(request, _("Your changes have been discarded."))
        return redirect(mapping_url(mapping))
    store_draft(request, mapping, draft)
    if action == "new":
        return redirect(mapping_url(mapping, "attribute-editor-new"))
    if action.startswith("edit:") and action[5:].isdigit():
        return redirect(mapping_url(mapping, "attribute-editor", index=int(action[5:])))
    if action.startswith("delete:") and action[7:].isdigit():
        index = int(action[7:])
        if index < len(draft.attributes):
            removed = draft.attributes.pop(index)
            store_draft(request, mapping, draft)
            messages.info(
                request,
                _("The mapping to %(name)s was removed. Save to keep the change.")
                % {"name": removed.target_attribute},
            )
        return redirect(mapping_url(mapping))
    if action == "restore":
        draft.attributes = default_attributes(mapping)
        store_draft(request, mapping, draft)
        messages.info(request, _("The default mappings were restored. Save to keep them."))
        return redirect(mapping_url(mapping))
    if action == "scope":
        return redirect(mapping_url(mapping, "scoping-filters"))
    if action == "save":
        return _preview(request, application, mapping, draft)
    if action == "confirm":
        return _confirm(request, application, mapping, draft)
    return redirect(mapping_url(mapping))


def _preview(request, application, mapping, draft) -> HttpResponse:
    problems = validate_mapping(draft, target_attributes(mapping.job, mapping.object_type))
    if problems:
        return render_mapping_page(request, application, mapping, draft, problems, status=422)
    if draft == MappingDraft.from_model(mapping):
        drop_draft(request, mapping)
        messages.info(request, _("There were no changes to save."))
        return redirect(mapping_url(mapping))
    preview = preview_mapping_change(mapping, draft)
    saved = MappingDraft.from_model(mapping)
    was, now = attribute_changes(saved.attributes, draft.attributes)
    changes = [
        {"attribute": target, "before": was.get(target), "after": now.get(target)}
        for target in sorted(set(was) | set(now))
    ]
    changes += [
        {
            "attribute": _("Setting: %(name)s") % {"name": name},
            "before": value,
            "after": getattr(draft, name),
        }
        for name, value in saved.settings().items()
        if getattr(draft, name) != value
    ]
    if saved.scoping_filters != draft.scoping_filters:
        changes.append(
            {
                "attribute": _("Source Object Scope"),
                "before": saved.scoping_filters,
                "after": draft.scoping_filters,
            }
        )
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=mapping.name,
        mapping=mapping,
        preview=preview,
        changes=changes,
        stale=draft_is_stale(request, mapping),
        fingerprint=fingerprint(draft),
        slug=object_type_slug(mapping.object_type),
    )
    return render(request, "provisioning/mapping_preview.html", context)


def fingerprint(draft: MappingDraft) -> str:
    """Which draft a preview showed: Confirm saves only that one."""
    payload = json.dumps(draft.to_dict(), sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()[:32]


def _confirm(request, application, mapping, draft) -> HttpResponse:
    if request.POST.get("fingerprint") != fingerprint(draft):
        messages.warning(request, _("The mapping changed since the preview: review it again."))
        return _preview(request, application, mapping, draft)
    problems = save_object_mapping(mapping, draft, actor=request.user)
    if problems:
        return render_mapping_page(request, application, mapping, draft, problems, status=422)
    drop_draft(request, mapping)
    messages.success(
        request,
        _(
            "Your changes have been saved. The next cycle is an initial cycle: every account is evaluated again."
        ),
    )
    return redirect(mapping_url(mapping))
