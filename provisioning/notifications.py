"""Notification e-mails (F26): failure digests, quarantine, held deletions.

Sent only when the job's "Send an email notification when a failure occurs" box is ticked and it
has a notification address. Each e-mail has a text and an HTML part and links to the filtered
provisioning logs (or, when the job stopped before any object, to Synchronization details). Failure
digests are throttled per kind of error (``FailureNotice``): a later, different failure is mailed at
once. Quarantine e-mails go once per reason. Sending never breaks a cycle: a failure to send is
logged and that is all.
"""

import functools
import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .choices import CycleState, LogAction, LogStatus, QuarantineReason
from .log_text import render
from .models import ProvisioningJob, ProvisioningLogEntry, SyncCycle
from .models.logs import FailureNotice
from .security.text import escape_controls

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


def in_recipients_language(notify):
    """Write the e-mail (subject and body) in the job's notification language, else the
    portal's default (issue 15)."""

    @functools.wraps(notify)
    def wrapped(job: ProvisioningJob, *args, **kwargs):
        with translation.override(job.notification_language or settings.LANGUAGE_CODE):
            return notify(job, *args, **kwargs)

    return wrapped


def _send(job: ProvisioningJob, template: str, subject: str, context: dict) -> bool:
    to = recipients(job)
    if not to:
        return False
    context = {"job": job, "application": job.application, **context}
    try:
        text = render_to_string(f"provisioning/email/{template}.txt", context)
        html = render_to_string(f"provisioning/email/{template}.html", context)
        # One line: a name stored before control characters were refused must not make Django
        # refuse the header (BadHeaderError) and drop the message.
        subject = " ".join(escape_controls(subject).split())
        message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception:  # a broken mail server must never break a cycle
        logger.exception("Could not send the %s e-mail for %r", template, job.application.name)
        return False
    return True


def error_summary(cycle: SyncCycle) -> list[dict]:
    """The top error codes of a cycle with a few example identities each."""
    counts: Counter = Counter()
    examples: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    failures = ProvisioningLogEntry.objects.filter(
        cycle_id=cycle.pk, status=LogStatus.FAILURE
    ).values_list("error_code", "source_display", "reason", "texts")
    for code, identity, reason, texts in failures.iterator(chunk_size=1000):
        code = code or "Error"
        counts[code] += 1
        bucket = examples.setdefault(code, [])
        if len(bucket) < EXAMPLES_PER_ERROR:
            bucket.append(identity)
        if code not in reasons:  # in the recipient's language when stored as a message id
            data = texts.get("reason") if isinstance(texts, dict) else None
            reasons[code] = (render(data) if data else "") or reason
    return [
        {"code": code, "count": n, "examples": examples[code], "reason": reasons[code]}
        for code, n in counts.most_common(TOP_ERRORS)
    ]


def failure_kinds(cycle: SyncCycle, errors: list[dict]) -> set[str]:
    """What failed, for the throttle: the stop reason of a job-level failure, else error codes."""
    kinds = {f"object:{error['code']}" for error in errors}
    if cycle.state == CycleState.FAILED:
        kinds.add(f"job:{(cycle.error or 'Error')[:200]}")
    return kinds


STATUS_ORDER = (LogStatus.FAILURE, LogStatus.WARNING, LogStatus.SKIPPED, LogStatus.SUCCESS)


def _ordered_counts(counters: dict) -> dict[str, dict[str, int]]:
    """A cycle's counts per action, each action's statuses in one order (failures first, in the
    recipient's language): with requests in flight the cycle counts them as answers come back,
    so the order they were first met in changes from cycle to cycle."""
    rank = {status.value: n for n, status in enumerate(STATUS_ORDER)}
    labels = {status.value: status.label for status in LogStatus}
    actions = {action.value: action.label for action in LogAction}
    ordered = {}
    for action, statuses in counters.items():
        if not isinstance(statuses, dict) or not statuses:
            continue
        keys = sorted(statuses, key=lambda s: (rank.get(s, len(rank)), str(s)))
        ordered[str(actions.get(action, action))] = {
            str(labels.get(k, k)): statuses[k] for k in keys
        }
    return ordered


@in_recipients_language
def notify_cycle_failures(job: ProvisioningJob, cycle: SyncCycle, *, now=None) -> bool:
    """One digest per cycle with failures; the same kind of failure is mailed once an hour."""
    now = now or timezone.now()
    counters = cycle.counters or {}
    failures = sum(v.get("Failure", 0) for v in counters.values() if isinstance(v, dict))
    job_failed = cycle.state == CycleState.FAILED
    if not failures and not job_failed:
        return False
    errors = error_summary(cycle)
    kinds = failure_kinds(cycle, errors)
    recent = set(
        FailureNotice.objects.filter(
            job=job, kind__in=kinds, sent_at__gt=now - DIGEST_THROTTLE
        ).values_list("kind", flat=True)
    )
    if kinds <= recent:
        return False
    app = job.application.name
    if job_failed:
        subject = _("[Provisioning] %(app)s: the last cycle stopped: %(error)s") % {
            "app": app,
            "error": (cycle.error_text or _("unknown error"))[:120],
        }
    else:
        subject = _("[Provisioning] %(app)s: %(count)d failure(s) in the last cycle") % {
            "app": app,
            "count": failures,
        }
    logged = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk).exists()
    sent = _send(
        job,
        "cycle_failures",
        subject,
        {
            "cycle": cycle,
            "failures": failures,
            "job_failed": job_failed,
            "stop_recommendation": _stop_recommendation(cycle),
            "counters": _ordered_counts(counters),
            "errors": errors,
            "new_kinds": sorted(kinds - recent),
            # A cycle stopped before any object has no entry to show: link to what does say
            # what happened (Synchronization details on the Provisioning tab).
            "logs_url": logs_url(job, cycle_id=str(cycle.pk), status=LogStatus.FAILURE)
            if failures
            else logs_url(job, cycle_id=str(cycle.pk))
            if logged
            else "",
            "provisioning_url": f"{settings.PORTAL_BASE_URL}/apps/{job.application_id}/provisioning/",
        },
    )
    if sent:
        # Older notices no longer throttle anything: keep the table to what still does.
        FailureNotice.objects.filter(job=job, sent_at__lte=now - DIGEST_THROTTLE).delete()
        for kind in kinds:
            FailureNotice.objects.update_or_create(job=job, kind=kind, defaults={"sent_at": now})
        ProvisioningJob.objects.filter(pk=job.pk).update(last_failure_email_at=now)
        job.last_failure_email_at = now
    return sent


def _stop_recommendation(cycle: SyncCycle) -> str:
    if cycle.state != CycleState.FAILED:
        return ""
    return _(
        "No object was changed after the cycle stopped. Check the Tenant URL and the secret "
        "token on the Provisioning tab (Test Connection), then restart provisioning."
    )


@in_recipients_language
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
            "detail": job.quarantine_detail_text,
            "next_run_at": job.next_run_at,
            "logs_url": logs_url(job, cycle_id=str(cycle.pk)),
        },
    )


@in_recipients_language
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
