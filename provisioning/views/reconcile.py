"""APP > Reconcile (DESIGN B4): what the last reconcile found, filterable by class; Reconcile now.

Auditors read it; only administrators can start a reconcile (any POST needs one).
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ..choices import ReconcileClass
from ..reconcile.service import findings, reconcile_summary, request_reconcile
from ..services.operations import OperationRefused
from .access import portal_page
from .blade import blade_context, get_application
from .paging import paginate


@portal_page
def reconcile(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    job = application.provisioning_job
    if request.method == "POST":
        try:
            request_reconcile(job, actor=request.user)
        except OperationRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                _("A reconcile was queued; it starts when no other cycle of this job runs."),
            )
        return redirect("reconcile", application.pk)
    classification = request.GET.get("class", "")
    if classification not in ReconcileClass.values:
        classification = ""
    summary = reconcile_summary(job)
    page = paginate(findings(job, summary.last, classification), request)
    return render(
        request,
        "provisioning/reconcile.html",
        blade_context(
            request,
            application,
            "reconcile",
            summary=summary,
            page=page,
            classification=classification,
            query=f"class={classification}" if classification else "",
            classes=ReconcileClass.choices,
        ),
    )
