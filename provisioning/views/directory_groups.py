"""Directory > Groups (F31): the list, a group's page with its members (paged) and the
applications it is assigned to, create / edit / delete, and adding or removing members (users and
nested groups) through ``services.directory``."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms.directory import GroupForm, apply_service_errors
from ..forms.principals import PrincipalField, search_principals
from ..models import Assignment, DirectoryGroup, GroupMembership
from ..services import directory
from .access import administrator_page, can_change, portal_page
from .paging import paginate, query_without_page

LIST_LIMIT = 200


@portal_page
def group_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    groups = DirectoryGroup.objects.alive().annotate(member_count=Count("memberships"))
    if search:
        groups = groups.filter(
            Q(display_name__icontains=search)
            | Q(mail__icontains=search)
            | Q(description__icontains=search)
        )
    page = paginate(groups.order_by("display_name", "id"), request)
    return render(
        request,
        "provisioning/directory_groups.html",
        {
            "page": page,
            "groups": page.items,
            "search": search,
            "query": query_without_page(request),
            "can_change": can_change(request.user),
        },
    )


def get_group(group_id) -> DirectoryGroup:
    return get_object_or_404(DirectoryGroup.objects.alive(), pk=group_id)


@portal_page
def group_detail(request: HttpRequest, group_id) -> HttpResponse:
    group = get_group(group_id)
    members = (
        GroupMembership.objects.filter(group=group)
        .select_related("member_user", "member_group")
        .order_by("member_group__display_name", "member_user__display_name", "id")
    )
    page = paginate(members, request)
    assignments = (
        Assignment.objects.filter(group=group)
        .select_related("application", "role")
        .order_by("application__name")
    )
    search = request.GET.get("q", "").strip()
    return render(
        request,
        "provisioning/directory_group.html",
        {
            "group": group,
            "page": page,
            "members": page.items,
            "query": query_without_page(request),
            "assignments": assignments,
            "can_change": can_change(request.user),
            "search": search,
            "picker": search_principals(search) if search and can_change(request.user) else None,
        },
    )


@administrator_page
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = directory.create_group(form.cleaned_data, actor=request.user)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The group was created."))
            return redirect("directory-group", group.pk)
    return render(request, "provisioning/directory_group_form.html", {"form": form})


@administrator_page
def group_edit(request: HttpRequest, group_id) -> HttpResponse:
    group = get_group(group_id)
    form = GroupForm(request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        try:
            changed = directory.update_group(group, form.cleaned_data, actor=request.user)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if changed:
                messages.success(request, _("Your changes have been saved."))
            else:
                messages.info(request, _("There were no changes to save."))
            return redirect("directory-group", group.pk)
    return render(request, "provisioning/directory_group_form.html", {"form": form, "group": group})


@require_POST
@portal_page
def group_delete(request: HttpRequest, group_id) -> HttpResponse:
    group = get_group(group_id)
    try:
        directory.delete_group(group, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("directory-group", group.pk)
    messages.success(request, _("The group was deleted."))
    return redirect("directory-groups")


def _member_from_post(request: HttpRequest):
    field = PrincipalField()
    try:
        return field.clean(request.POST.get("member", "")), None
    except ValidationError as error:
        return None, " ".join(error.messages)


@require_POST
@portal_page
def group_member_add(request: HttpRequest, group_id) -> HttpResponse:
    group = get_group(group_id)
    member, problem = _member_from_post(request)
    if member is not None:
        try:
            directory.add_group_member(group, member, actor=request.user)
        except ValidationError as error:
            problem = " ".join(error.messages)
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, _("Member added: %(name)s.") % {"name": member.display_name})
    return redirect("directory-group", group.pk)


@require_POST
@portal_page
def group_member_remove(request: HttpRequest, group_id) -> HttpResponse:
    group = get_group(group_id)
    member, problem = _member_from_post(request)
    if member is not None:
        try:
            directory.remove_group_member(group, member, actor=request.user)
        except ValidationError as error:
            problem = " ".join(error.messages)
    if problem:
        messages.error(request, problem)
    else:
        messages.success(request, _("Member removed: %(name)s.") % {"name": member.display_name})
    return redirect("directory-group", group.pk)
