"""The numbers behind the Insights page, for one application or all, over a date range.

Counts come from the hourly rollup (``LogRollup``) on PostgreSQL, kept by triggers as entries are
written and purged, so 30 days of a million entries is a few thousand rows; on other databases
they are grouped from the entries. Both paths give the same numbers (tests/unit/test_insights.py).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from ..choices import CycleKind, LogAction, LogStatus
from ..log_text import render
from ..models import ProvisioningLogEntry, SyncCycle
from ..models.logs import LogRollup

TOP_ERRORS = 10
SLOWEST = 10
CYCLE_ROWS = 20
HOURLY_UP_TO = timedelta(days=2)  # longer ranges are drawn per day


def rollup_available() -> bool:
    return connection.vendor == "postgresql"


@dataclass
class Insights:
    since: datetime
    until: datetime
    bucket: str  # "hour" or "day"
    buckets: list[datetime] = field(default_factory=list)
    by_status: dict[str, list[int]] = field(default_factory=dict)
    by_action: dict[str, list[int]] = field(default_factory=dict)
    total: int = 0
    top_errors: list[dict] = field(default_factory=list)
    cycles_by_day: list[dict] = field(default_factory=list)
    recent_cycles: list[dict] = field(default_factory=list)
    slowest: list[dict] = field(default_factory=list)


def _bucket_start(moment: datetime, bucket: str) -> datetime:
    moment = moment.astimezone(timezone.get_current_timezone())
    moment = moment.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        moment = moment.replace(hour=0)
    return moment


def _bucket_list(since: datetime, until: datetime, bucket: str) -> list[datetime]:
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    current, end = _bucket_start(since, bucket), until
    buckets = []
    while current < end:
        buckets.append(current)
        current = _bucket_start(
            current + step + timedelta(hours=1 if bucket == "day" else 0), bucket
        )
    return buckets


def _counts(since, until, application_id) -> tuple[QuerySet, str, Sum | Count]:
    """Rows of (bucket, action, status, error_code, n) over the range."""
    if rollup_available():
        rows = LogRollup.objects.filter(hour__gte=since, hour__lt=until)
        if application_id is not None:
            rows = rows.filter(application_id=application_id)
        return rows, "hour", Sum("count")
    rows = ProvisioningLogEntry.objects.filter(created_at__gte=since, created_at__lt=until)
    if application_id is not None:
        rows = rows.filter(application_id=application_id)
    return rows, "created_at", Count("id")


def compute_insights(
    since: datetime, until: datetime, *, application_id: int | None = None
) -> Insights:
    # Whole hours: the rollup's grain. Both paths count exactly the entries of these hours.
    since = _bucket_start(since, "hour")
    if _bucket_start(until, "hour") != until:
        until = _bucket_start(until, "hour") + timedelta(hours=1)
    bucket = "hour" if until - since <= HOURLY_UP_TO else "day"
    result = Insights(since=since, until=until, bucket=bucket)
    result.buckets = _bucket_list(since, until, bucket)
    index = {moment: number for number, moment in enumerate(result.buckets)}
    rows, time_field, amount = _counts(since, until, application_id)
    trunc = TruncHour if bucket == "hour" else TruncDay
    grouped = (
        rows.annotate(b=trunc(time_field))
        .values("b", "action", "status")
        .annotate(n=amount)
        .order_by()
    )
    by_status = {status.value: [0] * len(result.buckets) for status in LogStatus}
    by_action = {action.value: [0] * len(result.buckets) for action in LogAction}
    for row in grouped:
        position = index.get(_bucket_start(row["b"], bucket))
        if position is None:
            continue
        by_status.setdefault(row["status"], [0] * len(result.buckets))[position] += row["n"]
        by_action.setdefault(row["action"], [0] * len(result.buckets))[position] += row["n"]
        result.total += row["n"]
    result.by_status = {k: v for k, v in by_status.items() if any(v)}
    result.by_action = {k: v for k, v in by_action.items() if any(v)}
    result.top_errors = _top_errors(rows, amount, since, until, application_id)
    result.cycles_by_day, result.recent_cycles = _cycles(since, until, application_id)
    result.slowest = _slowest(since, until, application_id)
    return result


def _entries(since, until, application_id) -> QuerySet:
    entries = ProvisioningLogEntry.objects.filter(created_at__gte=since, created_at__lt=until)
    if application_id is not None:
        entries = entries.filter(application_id=application_id)
    return entries


def _top_errors(rows, amount, since, until, application_id) -> list[dict]:
    codes = (
        rows.exclude(error_code="")
        .values("error_code")
        .annotate(n=amount)
        .order_by("-n", "error_code")[:TOP_ERRORS]
    )
    errors = []
    for row in codes:
        example = (
            _entries(since, until, application_id)
            .filter(error_code=row["error_code"])
            .order_by("-created_at", "-id")
            .values("id", "application_id", "application_name", "source_display", "reason", "texts")
            .first()
        )
        if example:  # the reason in the reader's language when stored as a message id
            texts = example.pop("texts")
            data = texts.get("reason") if isinstance(texts, dict) else None
            example["reason"] = (render(data) if data else "") or example["reason"]
        errors.append({"code": row["error_code"], "count": row["n"], "example": example})
    return errors


def _cycles(since, until, application_id) -> tuple[list[dict], list[dict]]:
    cycles = SyncCycle.objects.filter(
        started_at__gte=since, started_at__lt=until, ended_at__isnull=False
    ).exclude(kind=CycleKind.ON_DEMAND)
    if application_id is not None:
        cycles = cycles.filter(job__application_id=application_id)
    duration = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    by_day = [
        {
            "day": row["day"],
            "count": row["count"],
            "average": _seconds(row["average"]),
            "max": _seconds(row["longest"]),
        }
        for row in cycles.annotate(day=TruncDay("started_at"))
        .values("day")
        .annotate(count=Count("id"), average=Avg(duration), longest=Max(duration))
        .order_by("day")
    ]
    recent = [
        {
            "id": cycle.pk,
            "application": cycle.job.application.name if cycle.job_id else "",
            "kind": cycle.get_kind_display(),
            "state": cycle.get_state_display(),
            "started_at": cycle.started_at,
            "seconds": (cycle.ended_at - cycle.started_at).total_seconds(),
            "counters": cycle.counters,
        }
        for cycle in cycles.select_related("job__application").order_by("-started_at")[:CYCLE_ROWS]
    ]
    return by_day, recent


def _seconds(value) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return max(0.0, value.total_seconds())
    return max(0.0, float(value) / 1_000_000)  # microseconds, where durations are integers


def _slowest(since, until, application_id) -> list[dict]:
    return list(
        _entries(since, until, application_id)
        .filter(duration_ms__gt=0)
        .order_by("-duration_ms")
        .values(
            "id",
            "application_id",
            "application_name",
            "source_display",
            "action",
            "status",
            "duration_ms",
            "created_at",
        )[:SLOWEST]
    )


def longest_cycle(insights: Insights) -> float:
    return max((day["max"] for day in insights.cycles_by_day), default=0.0)
