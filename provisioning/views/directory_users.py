"""Directory > Users and Deleted users (F31): the list, a user's page with where the person is
provisioned, and create / edit / disable / delete / restore through ``services.directory``.

The list pages with a keyset on (display name, id): the next page starts after the last row shown,
so page 1,000 of 100,000 users costs what page 1 costs (see ``bench/directory_users.py``).
"""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Func, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..choices import JobState, ObjectType, ProvisioningMode, ProvisioningScope
from ..directory.search import search_users
from ..forms.directory import UserFilterForm, UserForm, apply_service_errors
from ..models import (
    Application,
    Assignment,
    DirectoryUser,
    GroupMembership,
    ProvisionedObject,
    ProvisioningLogEntry,
)
from ..services import directory
from .access import administrator_page, can_change, portal_page

PAGE_SIZE = 50
LOG_ENTRIES_PER_APPLICATION = 5
MAX_DIRECT_REPORTS = 500
CURSOR_SEPARATOR = "|"


def filtered_users(params: dict, *, deleted: bool = False):
    """The users a filter form's cleaned data selects, ordered for keyset paging."""
    users = search_users(params.get("q", "").strip(), deleted=deleted)
    if params.get("department"):
        users = users.filter(department__iexact=params["department"].strip())
    if params.get("enabled") in ("yes", "no"):
        users = users.filter(account_enabled=params["enabled"] == "yes")
    if params.get("has_manager") in ("yes", "no"):
        users = users.filter(manager__isnull=params["has_manager"] == "no")
    if params.get("q", "").strip():
        # The same order, written so that the planner cannot walk the display-name index and
        # filter as it goes (tens of thousands of rows before the first match when the matches
        # sort late): it looks the matches up by the prefix indexes, then sorts only them.
        unindexed = Func(F("display_name"), template="(%(expressions)s || '')")
        return users.order_by(unindexed.asc(), "id")
    return users.order_by("display_name", "id")


def parse_cursor(raw: str) -> tuple[str, uuid.UUID] | None:
    name, separator, raw_id = raw.rpartition(CURSOR_SEPARATOR)
    if not separator:
        return None
    try:
        return name, uuid.UUID(raw_id)
    except ValueError:
        return None


def keyset_page(users, after: str, size: int = PAGE_SIZE) -> tuple[list, str]:
    """One page after the cursor ``after`` and the cursor of the next page ("" at the end)."""
    cursor = parse_cursor(after) if after else None
    if cursor is not None:
        name, last_id = cursor
        # The ">=" bounds an index range scan; the OR then skips the rows already shown.
        users = users.filter(display_name__gte=name).filter(
            Q(display_name__gt=name) | Q(display_name=name, id__gt=last_id)
        )
    rows = list(users.select_related("manager")[: size + 1])
    page, more = rows[:size], len(rows) > size
    next_cursor = ""
    if more:
        last = page[-1]
        next_cursor = f"{last.display_name}{CURSOR_SEPARATOR}{last.pk}"
    return page, next_cursor


def _list_context(request: HttpRequest, *, deleted: bool) -> dict:
    form = UserFilterForm(request.GET or None)
    params = form.cleaned_data if form.is_valid() else {}
    after = request.GET.get("after", "")
    users, next_cursor = keyset_page(filtered_users(params, deleted=deleted), after)
    query = request.GET.copy()
    query.pop("after", None)
    return {
        "filter_form": form,
        "users": users,
        "next_cursor": next_cursor,
        "is_first_page": not after,
        "query": query.urlencode(),
        "can_change": can_change(request.user),
    }


@portal_page
def user_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "provisioning/directory_users.html", _list_context(request, deleted=False)
    )


@portal_page
def deleted_user_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request, deleted=True)
    for user in context["users"]:
        user.purge_at = directory.restore_deadline(user.deleted_at)
    return render(request, "provisioning/directory_deleted_users.html", context)


def provisioning_state(user: DirectoryUser) -> list[dict]:
    """Per application: is this person provisioned there, and if not why not (F31).

    Applications come from the user's assignments (direct and through the groups they are a
    direct member of, as the engine reads them) and from any link the engine keeps for them.
    """
    group_ids = list(
        GroupMembership.objects.filter(member_user=user).values_list("group_id", flat=True)
    )
    assignments = (
        Assignment.objects.filter(Q(user=user) | Q(group_id__in=group_ids))
        .select_related("role", "group", "application")
        .order_by("application__name")
    )
    links = {
        link.job.application_id: link
        for link in ProvisionedObject.objects.filter(source_id=user.pk, object_type=ObjectType.USER)
        .select_related("job")
        .order_by()
    }
    application_ids = {a.application_id for a in assignments} | set(links)
    applications = Application.objects.filter(pk__in=application_ids).select_related(
        "provisioning_job"
    )
    by_application: dict[int, list] = {}
    for assignment in assignments:
        by_application.setdefault(assignment.application_id, []).append(assignment)
    states = []
    for application in sorted(applications, key=lambda a: a.name.lower()):
        job = application.provisioning_job
        app_assignments = by_application.get(application.pk, [])
        link = links.get(application.pk)
        entries = list(
            ProvisioningLogEntry.objects.filter(
                source_id=user.pk, application_id=application.pk
            ).order_by("-created_at", "-id")[:LOG_ENTRIES_PER_APPLICATION]
        )
        states.append(
            {
                "application": application,
                "job": job,
                "assignments": app_assignments,
                "link": link,
                "last_exported": sorted((link.last_exported or {}).items()) if link else [],
                "entries": entries,
                "reasons": _not_provisioned_reasons(user, job, app_assignments, link),
            }
        )
    return states


def _not_provisioned_reasons(user, job, assignments, link) -> list[str]:
    """Why this person has no (working) account in the application, in the words of the page."""
    reasons = []
    if user.deleted_at is not None:
        reasons.append(_("The user is deleted: the account is disabled in the application."))
    elif not user.account_enabled:
        reasons.append(_("Sign-in is blocked: the account is disabled in the application."))
    if job.scope == ProvisioningScope.ASSIGNED and not assignments:
        reasons.append(_("Not assigned to the application, directly or through a group."))
    elif assignments and not any(a.is_valid_for_provisioning for a in assignments):
        reasons.append(_("Assigned only with Default Access, which is not valid for provisioning."))
    if job.mode != ProvisioningMode.AUTOMATIC:
        reasons.append(_("Provisioning mode is Manual."))
    elif not job.status_on:
        reasons.append(_("Provisioning status is Off."))
    if job.state == JobState.QUARANTINE:
        reasons.append(_("The application's provisioning is in quarantine."))
    if link is not None and link.failure_count:
        reasons.append(
            _("The last attempt failed (%(count)d in a row): %(error)s")
            % {"count": link.failure_count, "error": link.last_error or "—"}
        )
    if link is None and not reasons:
        reasons.append(_("Not provisioned yet: the next cycle creates or links the account."))
    return reasons


def get_user(user_id) -> DirectoryUser:
    return get_object_or_404(DirectoryUser.objects.select_related("manager"), pk=user_id)


def direct_reports(user: DirectoryUser) -> list[DirectoryUser]:
    """The first reports by name. Fetched by the manager index without ORDER BY and sorted here:
    asked to order, the planner may walk the display-name index through every user instead."""
    reports = list(user.direct_reports.alive().order_by()[:MAX_DIRECT_REPORTS])
    return sorted(reports, key=lambda report: (report.display_name, str(report.pk)))


@portal_page
def user_detail(request: HttpRequest, user_id) -> HttpResponse:
    user = get_user(user_id)
    groups = (
        GroupMembership.objects.filter(member_user=user)
        .select_related("group")
        .order_by("group__display_name")
    )
    context = {
        "person": user,
        "direct_reports": direct_reports(user),
        "groups": [membership.group for membership in groups],
        "states": provisioning_state(user),
        "can_change": can_change(request.user),
        "purge_at": directory.restore_deadline(user.deleted_at) if user.deleted_at else None,
        "page_size": PAGE_SIZE,
    }
    return render(request, "provisioning/directory_user.html", context)


@administrator_page
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = directory.create_user(form.service_data(), actor=request.user)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The user was created."))
            return redirect("directory-user", user.pk)
    return render(request, "provisioning/directory_user_form.html", {"form": form})


@administrator_page
def user_edit(request: HttpRequest, user_id) -> HttpResponse:
    user = get_user(user_id)
    if user.deleted_at is not None:
        raise Http404
    form = UserForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            changed = directory.update_user(user, form.service_data(), actor=request.user)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            if changed:
                messages.success(request, _("Your changes have been saved."))
            else:
                messages.info(request, _("There were no changes to save."))
            return redirect("directory-user", user.pk)
    return render(request, "provisioning/directory_user_form.html", {"form": form, "person": user})


USER_ACTIONS = {
    "disable": (directory.disable_user, _("Sign-in is blocked for this user.")),
    "enable": (directory.enable_user, _("Sign-in is allowed for this user.")),
    "delete": (
        directory.soft_delete_user,
        _("The user was deleted. It can be restored from Deleted users for 30 days."),
    ),
    "restore": (directory.restore_user, _("The user was restored.")),
}


@require_POST
@portal_page
def user_action(request: HttpRequest, user_id, action: str) -> HttpResponse:
    if action not in USER_ACTIONS:
        raise Http404
    user = get_user(user_id)
    operation, done = USER_ACTIONS[action]
    try:
        operation(user, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    if action == "delete":
        return redirect("directory-deleted-users")
    return redirect("directory-user", user.pk)
