"""Notification e-mails (F26): failure digests, quarantine, held deletions.

Sent only when the job's "Send an email notification when a failure occurs" box is ticked and it
has a notification address. Each e-mail has a text and an HTML part and links to the filtered
provisioning logs. Failure digests are throttled per job; quarantine e-mails go once per reason.
Sending never breaks a cycle: a failure to send is logged and that is all.
"""

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .choices import LogStatus, QuarantineReason
from .models import ProvisioningJob, ProvisioningLogEntry, SyncCycle

logger = logging.getLogger(__name__)

DIGEST_THROTTLE = timedelta(minutes=60)
TOP_ERRORS = 5
EXAMPLES_PER_ERROR = 3


def recipients(job: ProvisioningJob) -> list[str]:
    if not job.notify_on_failure:
        return []
    return [a.strip() for a in job.notification_email.replace(";", ",").split(",") if a.strip()]


def logs_url(job: ProvisioningJob, **filters: str) -> str:
    try:
        path = reverse("provisioning-logs", args=[job.application_id])
    except NoReverseMatch:
        path = f"/apps/{job.application_id}/provisioning-logs/"
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return f"{settings.PORTAL_BASE_URL}{path}" + (f"?{query}" if query else "")


def _send(job: ProvisioningJob, template: str, subject: str, context: dict) -> bool:
    to = recipients(job)
    if not to:
        return False
    context = {"job": job, "application": job.application, **context}
    try:
        text = render_to_string(f"provisioning/email/{template}.txt", context)
        html = render_to_string(f"provisioning/email/{template}.html", context)
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:  # a broken mail server must never break a cycle
        logger.exception("Could not send the %s e-mail for %s", template, job.application.name)
        return False
    return True


def error_summary(cycle: SyncCycle) -> list[dict]:
    """The top error codes of a cycle with a few example identities each."""
    counts: Counter = Counter()
    examples: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    failures = ProvisioningLogEntry.objects.filter(
        cycle_id=cycle.pk, status=LogStatus.FAILURE
    ).values_list("error_code", "source_display", "reason")
    for code, identity, reason in failures.iterator(chunk_size=1000):
        code = code or "Error"
        counts[code] += 1
        bucket = examples.setdefault(code, [])
        if len(bucket) < EXAMPLES_PER_ERROR:
            bucket.append(identity)
        reasons.setdefault(code, reason)
    return [
        {"code": code, "count": n, "examples": examples[code], "reason": reasons[code]}
        for code, n in counts.most_common(TOP_ERRORS)
    ]


def notify_cycle_failures(job: ProvisioningJob, cycle: SyncCycle, *, now=None) -> bool:
    now = now or timezone.now()
    if job.last_failure_email_at and now - job.last_failure_email_at < DIGEST_THROTTLE:
        return False
    counters = cycle.counters or {}
    failures = sum(v.get("Failure", 0) for v in counters.values() if isinstance(v, dict))
    if not failures and cycle.state != "Failed":
        return False
    sent = _send(
        job,
        "cycle_failures",
        _("[Provisioning] %(app)s: %(count)d failure(s) in the last cycle")
        % {"app": job.application.name, "count": failures}
        if failures
        else _("[Provisioning] %(app)s: the last cycle failed") % {"app": job.application.name},
        {
            "cycle": cycle,
            "failures": failures,
            "counters": {k: v for k, v in counters.items() if isinstance(v, dict)},
            "errors": error_summary(cycle),
            "logs_url": logs_url(job, cycle_id=str(cycle.pk), status=LogStatus.FAILURE),
        },
    )
    if sent:
        ProvisioningJob.objects.filter(pk=job.pk).update(last_failure_email_at=now)
        job.last_failure_email_at = now
    return sent


def notify_quarantine(job: ProvisioningJob, cycle: SyncCycle) -> bool:
    reason = QuarantineReason(job.quarantine_reason)
    return _send(
        job,
        "quarantine",
        _("[Provisioning] %(app)s is in quarantine: %(reason)s")
        % {"app": job.application.name, "reason": reason.label},
        {
            "cycle": cycle,
            "reason": reason,
            "detail": job.quarantine_detail,
            "next_run_at": job.next_run_at,
            "logs_url": logs_url(job, cycle_id=str(cycle.pk)),
        },
    )


def notify_held_deletions(job: ProvisioningJob, cycle: SyncCycle, held: int) -> bool:
    return _send(
        job,
        "held_deletions",
        _("[Provisioning] %(app)s: %(count)d deletions held for your approval")
        % {"app": job.application.name, "count": held},
        {
            "cycle": cycle,
            "held": held,
            "threshold": job.deletion_threshold,
            "logs_url": logs_url(job, cycle_id=str(cycle.pk), action="StagedDelete"),
            "provisioning_url": f"{settings.PORTAL_BASE_URL}/apps/{job.application_id}/provisioning/",
        },
    )


def notify_after_cycle(
    job: ProvisioningJob,
    cycle: SyncCycle,
    *,
    quarantined_reason: str = "",
    held_removals: int = 0,
    failed: bool = False,
) -> None:
    if not recipients(job):
        return
    if quarantined_reason == QuarantineReason.TOO_MANY_DELETES:
        notify_held_deletions(job, cycle, held_removals)
    elif quarantined_reason:
        notify_quarantine(job, cycle)
    if failed or any(
        isinstance(v, dict) and v.get("Failure") for v in (cycle.counters or {}).values()
    ):
        notify_cycle_failures(job, cycle)


def notify_reconcile_findings(job: ProvisioningJob, cycle: SyncCycle, counts: dict) -> bool:
    """One summary e-mail when a reconcile (DESIGN B4) found drift or unmanaged accounts."""
    from .choices import ReconcileClass

    drifted = counts.get(ReconcileClass.DRIFTED, 0)
    unmanaged = counts.get(ReconcileClass.UNMANAGED, 0)
    if not (drifted or unmanaged):
        return False
    rows = [
        (label, counts.get(value, 0))
        for value, label in ReconcileClass.choices
        if value != ReconcileClass.IN_SYNC
    ]
    return _send(
        job,
        "reconcile_findings",
        _("[Provisioning] %(app)s: reconcile found %(drifted)d drifted, %(unmanaged)d unmanaged")
        % {"app": job.application.name, "drifted": drifted, "unmanaged": unmanaged},
        {
            "cycle": cycle,
            "in_sync": counts.get(ReconcileClass.IN_SYNC, 0),
            "rows": rows,
            "reconcile_url": (
                f"{settings.PORTAL_BASE_URL}/apps/{job.application_id}/provisioning/reconcile/"
            ),
        },
    )
