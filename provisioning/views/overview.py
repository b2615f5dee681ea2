"""APP > Overview: the application's properties and a provisioning summary."""

from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import Application, Assignment, GroupMembership
from .access import portal_page
from .blade import blade_context, get_application
from .sync_details import sync_details_context


def default_access_only_users(application: Application) -> int:
    """Users assigned with *Default Access* and no valid role, directly or through an assigned
    group: the engine leaves exactly these out of scope (as ``SourceObject.only_default_access``).
    A user with a second, valid assignment is provisioned and not counted."""
    valid_direct = Assignment.objects.filter(
        application=application, user=OuterRef("user"), role__is_default_access=False
    )
    valid_through_group = GroupMembership.objects.filter(
        member_user=OuterRef("user"),
        group__deleted_at__isnull=True,
        group__assignments__application=application,
        group__assignments__role__is_default_access=False,
    )
    return (
        Assignment.objects.filter(
            application=application, user__isnull=False, role__is_default_access=True
        )
        .exclude(Exists(valid_direct))
        .exclude(Exists(valid_through_group))
        .values("user")
        .distinct()
        .count()
    )


@portal_page
def overview(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    context = blade_context(
        request,
        application,
        "overview",
        assignment_count=application.assignments.count(),
        invalid_assignment_count=default_access_only_users(application),
        **sync_details_context(application),
    )
    return render(request, "provisioning/overview.html", context)
