"""APP > Users and groups > Add assignment: pick a user or group and an app role (F6).

Picking *Default Access* shows an inline warning (it is not valid for provisioning) but, as in
Azure, the assignment is still allowed.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ..forms.assignments import AssignmentForm
from ..forms.principals import principal_choices
from ..models import AppRole
from ..services.configuration import AssignmentExists, add_assignment
from .access import administrator_page, portal_page
from .blade import blade_context, get_application


@administrator_page
def assignment_add(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    search = request.GET.get("q", "").strip()
    if request.method == "POST":
        form = AssignmentForm(request.POST, application=application)
        if form.is_valid():
            principal = form.cleaned_data["principal"]
            role: AppRole = form.cleaned_data["role"]
            try:
                add_assignment(application, principal, role, actor=request.user)
            except AssignmentExists as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _("%(principal)s was assigned with the role %(role)s.")
                    % {"principal": principal, "role": role.name},
                )
                if role.is_default_access:
                    messages.warning(request, default_access_warning())
                return redirect("users-and-groups", application.pk)
    else:
        form = AssignmentForm(application=application)
    form.fields["role"].widget.attrs.update(
        {
            "hx-get": reverse("assignment-role-check", args=[application.pk]),
            "hx-trigger": "change",
            "hx-target": "#role-warning",
        }
    )
    picker = principal_choices(search, str(form["principal"].value() or ""))
    context = blade_context(
        request,
        application,
        "users-and-groups",
        page_title=_("Add Assignment"),
        form=form,
        search=search,
        picker=picker,
        selected_role=_selected_role(form),
        default_access_warning=default_access_warning(),
    )
    return render(request, "provisioning/assignment_add.html", context)


def default_access_warning() -> str:
    return _(
        "“Default Access” is not valid for provisioning: users assigned only with it are "
        "skipped by the provisioning service. Pick another role to provision them."
    )


def _selected_role(form: AssignmentForm) -> AppRole | None:
    value = form["role"].value()
    if not value:
        return None
    return form.fields["role"].queryset.filter(pk=value).first() if str(value).isdigit() else None


@portal_page
def role_check(request: HttpRequest, application_id: int) -> HttpResponse:
    """The inline warning under the role picker (htmx swaps it in on change)."""
    application = get_application(application_id)
    value = request.GET.get("role", "")
    role = application.roles.filter(pk=value).first() if value.isdigit() else None
    return render(
        request,
        "provisioning/partials/role_warning.html",
        {"role": role, "warning": default_access_warning()},
    )
