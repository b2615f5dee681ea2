"""The mapping editor's other pages (issue 10): the attribute editor (with the live expression
check and *Test this expression*), the scoping-filter editor, the target attribute list and the
schema document. Each changes the session draft of :mod:`.attribute_mappings` or calls one
service function; nothing here writes a mapping."""

import json
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ..choices import ObjectType, TargetAttributeType
from ..engine.expressions import IGNORE_FLOW, ExpressionError, RedactedValue, parse
from ..engine.importing import load_groups, load_users
from ..engine.scope import OPERATORS, VALUELESS_OPERATORS
from ..forms.mappings import AttributeMappingForm, SchemaUploadForm, TargetAttributeForm
from ..mappings.drafts import AttributeDraft
from ..mappings.schema_document import apply_schema_document, export_schema_document
from ..mappings.target_schema import (
    TargetAttributeSpec,
    TargetSchemaUnavailable,
    add_target_attribute,
    delete_target_attribute,
    refresh_from_target,
    target_attributes,
)
from ..mappings.validation import (
    SchemaProblem,
    attribute_path,
    builtin_sources,
    source_attributes,
    validate_attribute,
    validate_scoping_filters,
)
from ..models import DirectoryGroup, DirectoryUser
from .access import administrator_page, portal_page
from .attribute_mappings import get_mapping, load_draft, mapping_url, store_draft
from .blade import blade_context, get_application

MAX_SEARCH_RESULTS = 10


# --- the attribute editor -------------------------------------------------------------------


def _editor_form(request, mapping, draft, row: AttributeDraft | None, data=None):
    schema = target_attributes(mapping.job, mapping.object_type)
    return AttributeMappingForm(
        data,
        initial=AttributeMappingForm.initial_from(row or AttributeDraft()),
        sources=source_attributes(mapping.object_type),
        targets=sorted((a.name for a in schema.values()), key=str.lower),
    ), schema


@administrator_page
def attribute_editor(
    request: HttpRequest, application_id: int, object_type: str, index: int | None = None
) -> HttpResponse:
    application = get_application(application_id)
    mapping = get_mapping(application, object_type)
    draft = load_draft(request, mapping)
    if index is not None and index >= len(draft.attributes):
        return redirect(mapping_url(mapping))
    row = draft.attributes[index] if index is not None else None
    form, schema = _editor_form(
        request, mapping, draft, row, request.POST if request.method == "POST" else None
    )
    # Enter in a text field submits the hidden first button ("stay"): show the form again as
    # typed, without taking the row into the draft.
    staying = request.method == "POST" and request.POST.get("action") == "stay"
    if staying:
        form, schema = _editor_form(request, mapping, draft, row)
        form.initial = {
            **form.initial,
            **{k: v for k, v in request.POST.items() if k in form.fields},
        }
        form.initial["is_matching"] = request.POST.get("is_matching") == "on"
    if request.method == "POST" and not staying and form.is_valid():
        edited = form.draft()
        position = index if index is not None else len(draft.attributes)
        known = builtin_sources(mapping.object_type)
        problems = validate_attribute(position, edited, schema, known)
        for other, existing in enumerate(draft.attributes):
            if other == index:
                continue
            if existing.target_attribute.lower() == edited.target_attribute.lower():
                problems.append(
                    SchemaProblem(
                        attribute_path(position, "targetAttribute"),
                        _("“%(name)s” is already mapped.") % {"name": edited.target_attribute},
                    )
                )
            if (
                edited.is_matching
                and existing.is_matching
                and existing.matching_precedence == edited.matching_precedence
            ):
                problems.append(
                    SchemaProblem(
                        attribute_path(position, "matchingPrecedence"),
                        _("Matching precedence %(n)s is already used by %(name)s.")
                        % {"n": edited.matching_precedence, "name": existing.target_attribute},
                    )
                )
        if not problems:
            if index is None:
                draft.attributes.append(edited)
            else:
                draft.attributes[index] = edited
            store_draft(request, mapping, draft)
            messages.info(
                request,
                _("The mapping to %(name)s is ready. Save the mapping to apply it.")
                % {"name": edited.target_attribute},
            )
            return redirect(mapping_url(mapping))
        form.add_problems(problems)
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=_("Edit Attribute") if row else _("Add New Mapping"),
        mapping=mapping,
        form=form,
        index=index,
        slug=object_type,
        functions_url=mapping_url(mapping, "expression-check"),
    )
    return render(
        request,
        "provisioning/attribute_editor.html",
        context,
        status=422 if request.method == "POST" and not staying else 200,
    )


@administrator_page
def expression_check(request: HttpRequest, application_id: int, object_type: str) -> HttpResponse:
    """The live check of the expression text area: the error with line and column (and a caret
    under it), or the functions and attributes the expression uses."""
    application = get_application(application_id)
    mapping = get_mapping(application, object_type)
    text = request.POST.get("expression", "")
    context: dict[str, Any] = {"text": text}
    if text.strip():
        try:
            expression = parse(text)
        except ExpressionError as error:
            context["error"] = error
        else:
            context["functions"] = sorted(expression.functions)
            context["attributes"] = sorted(expression.referenced_attributes, key=str.lower)
            known = builtin_sources(mapping.object_type) | {"issoftdeleted", "approleassignments"}
            context["unknown"] = [
                name
                for name in context["attributes"]
                if name.lower() not in known and not name.lower().startswith("extension_")
            ]
    return render(request, "provisioning/partials/expression_check.html", context)


def _find_source_objects(object_type: str, query: str):
    query = query.strip()
    if object_type == ObjectType.USER:
        users = DirectoryUser.objects.filter(deleted_at__isnull=True)
        if query:
            users = users.filter(
                Q(user_principal_name__icontains=query) | Q(display_name__icontains=query)
            )
        return [
            (u.user_principal_name, f"{u.display_name} ({u.user_principal_name})")
            for u in users.order_by("user_principal_name")[:MAX_SEARCH_RESULTS]
        ]
    groups = DirectoryGroup.objects.filter(deleted_at__isnull=True)
    if query:
        groups = groups.filter(display_name__icontains=query)
    return [
        (g.display_name, g.display_name)
        for g in groups.order_by("display_name")[:MAX_SEARCH_RESULTS]
    ]


def _pick_source_object(object_type: str, picked: str) -> str | None:
    """The id of the object the tester picked: an exact UPN, else the first search result."""
    if object_type == ObjectType.USER:
        users = DirectoryUser.objects.filter(deleted_at__isnull=True)
        found = users.filter(user_principal_name__iexact=picked).first() or (
            users.filter(
                Q(user_principal_name__icontains=picked) | Q(display_name__icontains=picked)
            )
            .order_by("user_principal_name")
            .first()
        )
    else:
        groups = DirectoryGroup.objects.filter(deleted_at__isnull=True)
        found = groups.filter(display_name__icontains=picked).order_by("display_name").first()
    return str(found.pk) if found else None


@administrator_page
def source_object_search(
    request: HttpRequest, application_id: int, object_type: str
) -> HttpResponse:
    application = get_application(application_id)
    mapping = get_mapping(application, object_type)
    query = request.GET.get("test_object", request.GET.get("q", ""))
    results = _find_source_objects(mapping.object_type, query)
    return render(request, "provisioning/partials/source_object_options.html", {"results": results})


@administrator_page
def expression_test(request: HttpRequest, application_id: int, object_type: str) -> HttpResponse:
    """*Test this expression*: evaluate it for one directory object, as a cycle would."""
    application = get_application(application_id)
    mapping = get_mapping(application, object_type)
    text = request.POST.get("expression", "")
    picked = request.POST.get("test_object", "").strip()
    context: dict[str, Any] = {}
    object_id = _pick_source_object(mapping.object_type, picked) if picked else None
    if not picked:
        context["error"] = _("Search for a directory object to test the expression against.")
    elif not object_id:
        context["error"] = _("No directory object matches “%(q)s”.") % {"q": picked}
    else:
        loader = load_users if mapping.object_type == ObjectType.USER else load_groups
        try:
            objects = loader(application.pk, [object_id])
        except (ValueError, TypeError):
            objects = {}
        obj = next(iter(objects.values()), None)
        if obj is None:
            context["error"] = _("That directory object no longer exists.")
        else:
            context["tested"] = obj.display
            source = {**obj.attributes, "IsSoftDeleted": False, "appRoleAssignments": obj.roles}
            try:
                value = parse(text).evaluate(source)
            except ExpressionError as error:
                context["error"] = str(error)
            except Exception as error:  # the evaluation error is the answer the page shows
                context["error"] = str(error)
            else:
                if value is IGNORE_FLOW:
                    context["value"] = _("(the attribute is not sent: IgnoreFlowIfNullOrEmpty)")
                elif isinstance(value, RedactedValue):
                    context["value"] = "[Redacted]"
                else:
                    context["value"] = json.dumps(value, default=str, ensure_ascii=False)
    return render(request, "provisioning/partials/expression_test.html", context)


# --- scoping filters ------------------------------------------------------------------------


def _posted_filters(post) -> list[list[dict[str, str]]]:
    filters: list[list[dict[str, str]]] = []
    for f in range(int(post.get("filter_count", 0) or 0)):
        clauses = []
        for c in range(int(post.get(f"f{f}_count", 0) or 0)):
            clauses.append(
                {
                    "attribute": post.get(f"f{f}c{c}_attribute", ""),
                    "operator": post.get(f"f{f}c{c}_operator", ""),
                    "value": post.get(f"f{f}c{c}_value", ""),
                }
            )
        filters.append(clauses)
    return filters


NEW_CLAUSE = {"attribute": "", "operator": "EQUALS", "value": ""}


@portal_page
def scoping_filters(request: HttpRequest, application_id: int, object_type: str) -> HttpResponse:
    application = get_application(application_id)
    mapping = get_mapping(application, object_type)
    draft = load_draft(request, mapping)
    filters = draft.scoping_filters
    problems: list[SchemaProblem] = []
    if request.method == "POST":
        try:
            filters = _posted_filters(request.POST)
        except ValueError:
            filters = draft.scoping_filters
        action = request.POST.get("action", "")
        parts = action.split(":")
        if action == "add-filter":
            filters.append([dict(NEW_CLAUSE)])
        elif parts[0] == "add-clause" and len(parts) == 2 and parts[1].isdigit():
            if int(parts[1]) < len(filters):
                filters[int(parts[1])].append(dict(NEW_CLAUSE))
        elif parts[0] == "delete-filter" and len(parts) == 2 and parts[1].isdigit():
            if int(parts[1]) < len(filters):
                filters.pop(int(parts[1]))
        elif (
            parts[0] == "delete-clause"
            and len(parts) == 3
            and parts[1].isdigit()
            and parts[2].isdigit()
        ):
            f, c = int(parts[1]), int(parts[2])
            if f < len(filters) and c < len(filters[f]):
                filters[f].pop(c)
                if not filters[f]:
                    filters.pop(f)
        draft.scoping_filters = filters
        store_draft(request, mapping, draft)
        if action == "ok":
            problems = validate_scoping_filters(filters, builtin_sources(mapping.object_type))
            if not problems:
                messages.info(
                    request, _("Scoping filters updated. Save the mapping to apply them.")
                )
                return redirect(mapping_url(mapping))
    view_filters = []
    for f, clauses in enumerate(filters):
        view_clauses = []
        for c, clause in enumerate(clauses):
            prefix = f"scopingFilters[{f}].clauses[{c}]"
            view_clauses.append(
                {
                    **clause,
                    "index": c,
                    "errors": [p.message for p in problems if p.path.startswith(prefix)],
                }
            )
        view_filters.append(
            {
                "index": f,
                "clauses": view_clauses,
                "errors": [p.message for p in problems if p.path == f"scopingFilters[{f}]"],
            }
        )
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=_("Source Object Scope"),
        mapping=mapping,
        filters=view_filters,
        sources=source_attributes(mapping.object_type),
        operators=OPERATORS,
        valueless=sorted(VALUELESS_OPERATORS),
        slug=object_type,
    )
    return render(
        request, "provisioning/scoping_filters.html", context, status=422 if problems else 200
    )


# --- the target attribute list and the schema document ---------------------------------------


@portal_page
def target_schema(request: HttpRequest, application_id: int, object_type: str) -> HttpResponse:
    application = get_application(application_id)
    mapping = get_mapping(application, object_type)
    job = application.provisioning_job
    form = TargetAttributeForm(initial={"type": TargetAttributeType.STRING})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "add":
            form = TargetAttributeForm(request.POST)
            if form.is_valid():
                problems = add_target_attribute(
                    job,
                    mapping.object_type,
                    TargetAttributeSpec(**form.cleaned_data),
                    actor=request.user,
                )
                if not problems:
                    messages.success(
                        request,
                        _("%(name)s was added to the attribute list.")
                        % {"name": form.cleaned_data["name"]},
                    )
                    return redirect(mapping_url(mapping, "target-schema"))
                for field, message in problems:
                    form.add_error(field, message)
            status = 422
        elif action.startswith("delete:"):
            refusal = delete_target_attribute(
                job, mapping.object_type, action[7:], actor=request.user
            )
            if refusal:
                messages.error(request, refusal)
            else:
                messages.success(
                    request,
                    _("%(name)s was removed from the attribute list.") % {"name": action[7:]},
                )
            return redirect(mapping_url(mapping, "target-schema"))
        elif action == "refresh":
            try:
                added = refresh_from_target(job, actor=request.user)
            except TargetSchemaUnavailable as error:
                messages.error(
                    request,
                    _("The target's schema could not be read: %(error)s") % {"error": error},
                )
            else:
                messages.success(
                    request,
                    _("The target's schema was read: %(n)s attributes added.") % {"n": added},
                )
            return redirect(mapping_url(mapping, "target-schema"))
    attributes = sorted(
        target_attributes(job, mapping.object_type).values(), key=lambda a: a.name.lower()
    )
    mapped = {a.target_attribute.lower() for a in mapping.attributes.all()}
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=_("Edit attribute list for %(app)s") % {"app": application.name},
        mapping=mapping,
        attributes=attributes,
        mapped=mapped,
        form=form,
        slug=object_type,
        is_scim=application.template.connector == "scim",
    )
    return render(request, "provisioning/target_schema.html", context, status=status)


@portal_page
def schema_document(request: HttpRequest, application_id: int) -> HttpResponse:
    """*Review your schema here*: download the document, or upload one to replace it all."""
    application = get_application(application_id)
    job = application.provisioning_job
    if request.method == "GET" and request.GET.get("download"):
        response = JsonResponse(export_schema_document(job), json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="schema-{application.pk}.json"'
        return response
    form = SchemaUploadForm()
    problems: list[SchemaProblem] = []
    status = 200
    if request.method == "POST":
        form = SchemaUploadForm(request.POST, request.FILES)
        if form.is_valid():
            problems = apply_schema_document(job, form.cleaned_data["document"], actor=request.user)
            if not problems:
                for mapping in job.mappings.all():
                    request.session.pop(f"mapping-draft:{mapping.pk}", None)
                messages.success(
                    request,
                    _("The schema was imported. The next cycle is an initial cycle."),
                )
                return redirect("schema-document", application.pk)
        status = 422
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=_("Review your schema"),
        form=form,
        problems=problems,
        document=json.dumps(export_schema_document(job), indent=2),
    )
    return render(request, "provisioning/schema_document.html", context, status=status)
