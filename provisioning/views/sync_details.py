"""Synchronization details (F14): the fragment that refreshes itself on the Provisioning tab and
the Overview (htmx polls it while a cycle runs or is about to)."""

from datetime import timedelta

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ..choices import (
    CycleKind,
    CycleState,
    JobState,
    LinkState,
    LogAction,
    LogStatus,
    ObjectType,
    QuarantineReason,
)
from ..models import Application, ProvisionedObject
from ..services.operations import quarantine_advice
from .access import can_change, portal_page
from .blade import get_application

FAST_POLL_SECONDS = 2
SLOW_POLL_SECONDS = 20
SOON = timedelta(minutes=1)


def counter_rows(counters: dict) -> list[dict]:
    """Counts by action (rows) and status (columns), only actions that happened."""
    rows = []
    for action in LogAction:
        by_status = counters.get(action.value) or {}
        if not isinstance(by_status, dict) or not any(by_status.values()):
            continue
        cells = [int(by_status.get(status.value, 0) or 0) for status in LogStatus]
        rows.append({"action": action.label, "action_value": action.value, "cells": cells})
    return rows


def sync_details_context(application: Application) -> dict:
    job = application.provisioning_job
    cycles = job.cycles.exclude(kind=CycleKind.ON_DEMAND).order_by("-started_at")
    latest = cycles.first()
    last_completed = latest
    if latest is not None and latest.ended_at is None:
        last_completed = cycles.filter(ended_at__isnull=False).first()
    now = timezone.now()
    running = latest is not None and latest.ended_at is None
    due_soon = bool(job.status_on and job.next_run_at and job.next_run_at <= now + SOON)
    linked = {
        row["object_type"]: row["n"]
        for row in ProvisionedObject.objects.filter(job=job, state=LinkState.PROVISIONED)
        .exclude(target_id="")
        .values("object_type")
        .annotate(n=Count("id"))
        .order_by()
    }
    counters = latest.counters if latest is not None else {}
    return {
        "job": job,
        "latest_cycle": latest,
        "last_completed_cycle": last_completed,
        "cycle_running": running,
        "counter_rows": counter_rows(counters),
        "counter_statuses": [status.label for status in LogStatus],
        "users_processed": counters.get("users", 0) if isinstance(counters, dict) else 0,
        "groups_processed": counters.get("groups", 0) if isinstance(counters, dict) else 0,
        "users_provisioned": linked.get(ObjectType.USER.value, 0),
        "groups_provisioned": linked.get(ObjectType.GROUP.value, 0),
        "in_quarantine": job.state == JobState.QUARANTINE,
        "quarantine_advice": quarantine_advice(job) if job.state == JobState.QUARANTINE else "",
        # Allow deletes is offered for held deletions only (issue 15).
        "deletes_held": job.quarantine_reason == QuarantineReason.TOO_MANY_DELETES,
        "poll_seconds": FAST_POLL_SECONDS if running or due_soon else SLOW_POLL_SECONDS,
        "unchanged": counters.get("unchanged", 0) if isinstance(counters, dict) else 0,
        # Steady state: the last cycle completed cleanly. After "Completed with failures" the
        # failed objects are escrowed and retried: that is not a steady state yet.
        "steady_state": bool(
            job.state == JobState.ACTIVE
            and latest is not None
            and not running
            and latest.state == CycleState.SUCCEEDED
        ),
    }


@portal_page
def sync_details(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    context = {
        "application": application,
        "can_change": can_change(request.user),
        **sync_details_context(application),
    }
    return render(request, "provisioning/partials/sync_details.html", context)
