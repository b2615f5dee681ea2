"""APP > Users and groups (F6): the assignments, each with its role; removing one."""

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..services.configuration import remove_assignment
from .access import portal_page
from .blade import blade_context, get_application

LIST_LIMIT = 500


@portal_page
def users_and_groups(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    search = request.GET.get("q", "").strip()
    assignments = application.assignments.select_related("user", "group", "role").order_by(
        "group__display_name", "user__display_name", "role__name"
    )
    if search:
        assignments = assignments.filter(
            Q(user__display_name__icontains=search)
            | Q(user__user_principal_name__icontains=search)
            | Q(group__display_name__icontains=search)
        )
    assignments = list(assignments[: LIST_LIMIT + 1])
    context = blade_context(
        request,
        application,
        "users-and-groups",
        assignments=assignments[:LIST_LIMIT],
        truncated=len(assignments) > LIST_LIMIT,
        search=search,
    )
    return render(request, "provisioning/users_and_groups.html", context)


@require_POST
@portal_page
def assignment_remove(request: HttpRequest, application_id: int, assignment_id: int):
    application = get_application(application_id)
    assignment = get_object_or_404(
        application.assignments.select_related("user", "group", "role"), pk=assignment_id
    )
    principal = assignment.principal
    remove_assignment(assignment, actor=request.user)
    messages.success(
        request,
        _("%(principal)s is no longer assigned with the role %(role)s.")
        % {"principal": principal, "role": assignment.role.name},
    )
    return redirect("users-and-groups", application.pk)
