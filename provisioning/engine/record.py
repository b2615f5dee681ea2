"""Stage 6, record: the one place that writes provisioning log entries, links and counters.

Log entries are buffered and written in batches; links created or changed in a chunk are written
with ``bulk_create``/``bulk_update`` when the chunk's requests are done, so a crash between a
request and its record loses nothing: the next cycle re-matches the object instead of duplicating
it.
"""

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from ..log_text import LogText, english, step_dict
from ..models import ProvisionedObject, ProvisioningLogEntry, SyncCycle
from ..security.redaction import REDACTED, secret_key_checker

LOG_BATCH = 500
LINK_FIELDS = [
    "target_id",
    "last_exported",
    "exported_hash",
    "state",
    "failure_count",
    "last_error",
    "next_retry_at",
    "updated_at",
]


@dataclass
class Step:
    name: str  # Import, Scope, Match, Action
    status: str  # Success, Failure, Skipped, Warning
    detail: str = ""  # a LogText when it can be translated for each reader

    def as_dict(self) -> dict[str, Any]:
        return step_dict(self.name, self.status, self.detail)


def modified_properties(
    old: dict[str, Any], new: dict[str, Any], secret_names: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Old -> new for every changed property, secrets redacted."""
    rows = []
    is_secret = secret_key_checker(secret_names)
    for name in new:
        if is_secret(name):
            rows.append({"name": name, "old": REDACTED, "new": REDACTED})
        else:
            rows.append({"name": name, "old": old.get(name), "new": new[name]})
    return rows


@dataclass
class CycleRecorder:
    cycle: SyncCycle
    application_id: int
    application_name: str
    job_id: int | None
    persist: bool = True
    secret_names: tuple[str, ...] = ()
    counters: Counter = field(default_factory=Counter)
    entries: list[ProvisioningLogEntry] = field(default_factory=list)
    written: int = 0

    def log(
        self,
        *,
        object_type: str,
        source_id: uuid.UUID | None,
        display: str,
        target_id: str = "",
        action: str,
        status: str,
        steps: list[Step],
        properties: list[dict] | None = None,
        error_code: str = "",
        reason: str = "",
        recommendation: str = "",
        started: float | None = None,
    ) -> ProvisioningLogEntry:
        self.counters[f"{action}:{status}"] += 1
        entry = ProvisioningLogEntry(
            created_at=timezone.now(),
            job_id=self.job_id,
            application_id=self.application_id,
            application_name=self.application_name,
            cycle_id=self.cycle.pk,
            object_type=object_type,
            source_id=source_id,
            source_display=display[:512],
            target_id=target_id or "",
            action=action,
            status=status,
            steps=[s.as_dict() for s in steps],
            modified_properties=properties or [],
            error_code=error_code[:64],
            reason=english(reason),
            recommendation=english(recommendation),
            texts={
                name: text.data
                for name, text in (("reason", reason), ("recommendation", recommendation))
                if isinstance(text, LogText)
            },
            duration_ms=int((time.monotonic() - started) * 1000) if started else 0,
        )
        self.entries.append(entry)
        if len(self.entries) >= LOG_BATCH:
            self.flush()
        return entry

    def count(self, key: str, amount: int = 1) -> None:
        self.counters[key] += amount

    def flush(self) -> None:
        if self.entries and self.persist:
            ProvisioningLogEntry.objects.bulk_create(self.entries, batch_size=LOG_BATCH)
        self.written += len(self.entries)
        self.entries = []

    def save_progress(self, done: int | None = None, total: int | None = None) -> None:
        self.flush()
        if done is not None:
            self.cycle.progress_done = done
        if total is not None:
            self.cycle.progress_total = total
        self.cycle.counters = self.counters_dict()
        if self.persist:
            self.cycle.save(update_fields=["progress_done", "progress_total", "counters"])

    # Issue 16: the requests in flight and the rate, kept in the cycle's counters (scalars
    # named requests_*, so nothing that reads counters by action mistakes them for one).
    requests_snapshot: Any = None

    def counters_dict(self) -> dict[str, Any]:
        counters = counters_as_dict(self.counters)
        if self.requests_snapshot is not None:
            snapshot = self.requests_snapshot()
            counters.update(
                {
                    "requests_concurrency": snapshot["concurrency"],
                    "requests_max_in_flight": snapshot["max_concurrency"],
                    "requests_peak_in_flight": snapshot["peak_in_flight"],
                    "requests_per_second": snapshot["rate_per_second"],
                    "requests_per_second_mean": snapshot["mean_rate_per_second"],
                    "requests_sent": snapshot["requests"],
                    "requests_concurrency_lowest": snapshot["lowest"],
                    "requests_concurrency_highest": snapshot["highest"],
                    "requests_concurrency_decreases": snapshot["decreases"],
                    "requests_concurrency_regrown": snapshot["regrown"],
                    "requests_retry_after_pauses": snapshot["retry_after_pauses"],
                }
            )
        return counters


def counters_as_dict(counters: Counter) -> dict[str, Any]:
    """{"Create": {"Success": 3}, ..., "users": 10, "groups": 2, "unchanged": 7}"""
    result: dict[str, Any] = {}
    for key, amount in counters.items():
        if ":" in key:
            action, status = key.split(":", 1)
            result.setdefault(action, {})[status] = amount
        else:
            result[key] = amount
    return result


def save_links(created: list[ProvisionedObject], changed: list[ProvisionedObject]) -> None:
    now = timezone.now()
    if created:
        ProvisionedObject.objects.bulk_create(created, batch_size=1000)
    if changed:
        for link in changed:
            link.updated_at = now
        ProvisionedObject.objects.bulk_update(changed, LINK_FIELDS, batch_size=1000)
