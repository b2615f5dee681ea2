"""Provisioning > Provision on demand (F13): one user, or a group of at most five members.

Starting it queues an on-demand cycle that a worker runs; the result page polls (htmx, every
second) a fragment with that cycle's log entries and their steps — Import, Scope, Match, Action —
until the cycle has ended.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from ..choices import CycleKind
from ..forms.on_demand import ProvisionOnDemandForm
from ..forms.principals import principal_choices
from ..models import DirectoryUser, ProvisioningLogEntry, SyncCycle
from ..services.operations import (
    ON_DEMAND_MAX_GROUP_MEMBERS,
    OperationRefused,
    start_provision_on_demand,
)
from .access import administrator_page, portal_page
from .blade import blade_context, get_application

POLL_SECONDS = 1


@administrator_page
def provision_on_demand(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    job = application.provisioning_job
    search = request.GET.get("q", "").strip()
    if request.method == "POST":
        form = ProvisionOnDemandForm(request.POST)
        if form.is_valid():
            principal = form.cleaned_data["principal"]
            target = (
                {"user": principal}
                if isinstance(principal, DirectoryUser)
                else {"group": principal}
            )
            try:
                cycle = start_provision_on_demand(job, actor=request.user, **target)
            except OperationRefused as refusal:
                form.add_error("principal", str(refusal))
            else:
                return redirect("on-demand-cycle", application.pk, cycle.pk)
    else:
        form = ProvisionOnDemandForm()
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=_("Provision on demand"),
        form=form,
        search=search,
        picker=principal_choices(search, str(form["principal"].value() or "")),
        max_group_members=ON_DEMAND_MAX_GROUP_MEMBERS,
    )
    return render(request, "provisioning/on_demand.html", context)


@portal_page
def on_demand_cycle(request: HttpRequest, application_id, cycle_id) -> HttpResponse:
    application = get_application(application_id)
    cycle = get_object_or_404(
        SyncCycle, pk=cycle_id, job=application.provisioning_job, kind=CycleKind.ON_DEMAND
    )
    entries = ProvisioningLogEntry.objects.filter(
        cycle_id=cycle.pk, application_id=application.pk
    ).order_by("created_at", "id")[:50]
    context = {"cycle": cycle, "entries": list(entries), "poll_seconds": POLL_SECONDS}
    if request.htmx:
        return render(
            request,
            "provisioning/partials/on_demand_steps.html",
            {**context, "application": application},
        )
    return render(
        request,
        "provisioning/on_demand_cycle.html",
        blade_context(
            request, application, "provisioning", page_title=_("Provision on demand"), **context
        ),
    )
