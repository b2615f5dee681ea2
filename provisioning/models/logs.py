"""Provisioning logs (F24): one entry per object per action.

Entries keep the application's id and name as plain values: they outlive the application and its
job (the job reference becomes null) until the retention purge removes them, so auditors keep the
history of a removed application for the retention period.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import LogAction, LogStatus, ObjectType
from ..fields import BulkJSONField
from ..log_text import render
from .jobs import ProvisioningJob


class ProvisioningLogEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    change_id = models.UUIDField(_("change id"), default=uuid.uuid4, editable=False, unique=True)
    created_at = models.DateTimeField(_("date"))
    job = models.ForeignKey(
        ProvisioningJob,
        verbose_name=_("job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="log_entries",
    )
    application_id = models.BigIntegerField(_("application id"))
    application_name = models.CharField(_("application"), max_length=256)
    cycle_id = models.UUIDField(_("cycle id"), null=True, blank=True)
    object_type = models.CharField(_("object type"), max_length=8, choices=ObjectType.choices)
    source_id = models.UUIDField(_("source id"), null=True, blank=True)
    source_display = models.CharField(_("identity"), max_length=512, blank=True)
    target_id = models.CharField(_("target id"), max_length=256, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=LogAction.choices)
    status = models.CharField(_("status"), max_length=8, choices=LogStatus.choices)
    # [{"name": "Import", "status": "Success", "detail": "..."}, {"name": "Scope", ...}, ...]
    steps = BulkJSONField(_("steps"), default=list, blank=True)
    # [{"name": "displayName", "old": "A", "new": "B"}, ...] with secrets redacted.
    modified_properties = BulkJSONField(_("modified properties"), default=list, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    recommendation = models.TextField(_("recommendation"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    # ``reason`` and ``recommendation`` are stored in English; when the engine wrote them as
    # message ids, their ids and parameters are here too ({"reason": {...}}), so pages translate
    # them for each reader (``provisioning/log_text.py``).
    texts = BulkJSONField(_("texts"), default=dict, blank=True)

    class Meta:
        verbose_name = _("provisioning log entry")
        verbose_name_plural = _("provisioning log entries")
        ordering = ["-created_at", "-id"]
        # Every list filter reads newest first by (created_at, id), the keyset of the pages
        # (provisioning/reports/paging.py): each filter has an index ending in that order, for
        # one application and across all of them. The identity text search has a trigram index
        # on PostgreSQL (migration 0009).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="log_date_id"),
            models.Index(fields=["application_id", "-created_at", "-id"], name="log_app_date_id"),
            models.Index(fields=["application_id", "status", "-created_at"], name="log_app_status"),
            models.Index(fields=["application_id", "action", "-created_at"], name="log_app_action"),
            models.Index(
                fields=["application_id", "object_type", "-created_at"], name="log_app_type"
            ),
            models.Index(fields=["status", "-created_at", "-id"], name="log_status_date"),
            models.Index(fields=["action", "-created_at", "-id"], name="log_action_date"),
            models.Index(fields=["object_type", "-created_at", "-id"], name="log_type_date"),
            models.Index(fields=["cycle_id", "-created_at"], name="log_cycle"),
            models.Index(fields=["source_id", "-created_at"], name="log_source_date"),
            models.Index(fields=["target_id"], name="log_target"),
            models.Index(fields=["-duration_ms"], name="log_duration"),
            models.Index(fields=["application_id", "-duration_ms"], name="log_app_duration"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.source_display} {self.status}"

    def _translated(self, name: str) -> str:
        data = (self.texts or {}).get(name) if isinstance(self.texts, dict) else None
        return (render(data) if data else "") or getattr(self, name)

    @property
    def reason_text(self) -> str:
        """The reason in the reader's language (English for rows written before ``texts``)."""
        return self._translated("reason")

    @property
    def recommendation_text(self) -> str:
        return self._translated("recommendation")


class FailureNotice(models.Model):
    """When a failure digest last went out for one kind of error of one job (F26).

    The digest is throttled per error kind, not per job: a later, different failure (another
    error code, or the job stopping for another reason) is mailed at once.
    """

    job = models.ForeignKey(
        ProvisioningJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("error kind"), max_length=256)
    sent_at = models.DateTimeField(_("sent"))

    class Meta:
        verbose_name = _("failure notice")
        verbose_name_plural = _("failure notices")
        constraints = [
            models.UniqueConstraint(fields=["job", "kind"], name="failure_notice_job_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sent_at:%Y-%m-%d %H:%M}"


class LogRollup(models.Model):
    """Provisioning log entries counted per hour, application, action, status and error code.

    Filled on PostgreSQL by statement-level triggers on the log table (migration 0009): every
    insert adds to its hour, every delete (the retention purge) takes away, so the Insights charts
    read a few thousand rows instead of grouping a million, and always agree with the entries.
    Elsewhere (SQLite) the charts group the entries themselves (``provisioning.reports.insights``).
    """

    hour = models.DateTimeField(_("hour"))
    application_id = models.BigIntegerField(_("application id"))
    action = models.CharField(_("action"), max_length=16, choices=LogAction.choices)
    status = models.CharField(_("status"), max_length=8, choices=LogStatus.choices)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    count = models.BigIntegerField(_("entries"), default=0)

    class Meta:
        verbose_name = _("provisioning log rollup")
        verbose_name_plural = _("provisioning log rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "application_id", "action", "status", "error_code"],
                name="log_rollup_key",
            )
        ]
        indexes = [models.Index(fields=["application_id", "hour"], name="log_rollup_app_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.action} {self.status} {self.count}"
