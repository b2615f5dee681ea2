"""Provisioning > Restart provisioning (F13), after a confirmation."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ..services.operations import OperationRefused, restart_provisioning
from .access import administrator_page
from .blade import blade_context, get_application


@administrator_page
def restart(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    if request.method == "POST":
        try:
            restart_provisioning(application.provisioning_job, actor=request.user)
        except OperationRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                _(
                    "Provisioning was restarted: the next cycle is an initial cycle. Accounts "
                    "already linked stay linked."
                ),
            )
        return redirect("provisioning", application.pk)
    return render(
        request,
        "provisioning/restart.html",
        blade_context(request, application, "provisioning", page_title=_("Restart provisioning")),
    )
