"""Sync cycles: one row per initial, incremental or on-demand run (F14)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import CycleKind, CycleState
from ..log_text import translated
from .jobs import ProvisioningJob


class SyncCycle(models.Model):
    id = models.UUIDField(_("cycle id"), primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(
        ProvisioningJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="cycles"
    )
    kind = models.CharField(_("cycle type"), max_length=16, choices=CycleKind.choices)
    state = models.CharField(
        _("state"), max_length=24, choices=CycleState.choices, default=CycleState.RUNNING
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    progress_total = models.PositiveIntegerField(_("objects to process"), default=0)
    progress_done = models.PositiveIntegerField(_("objects processed"), default=0)
    # {"Create": {"Success": 3}, "Update": {...}, ...} plus "users"/"groups" processed.
    counters = models.JSONField(_("counters"), default=dict, blank=True)
    watermark_from = models.BigIntegerField(null=True, blank=True)
    watermark_to = models.BigIntegerField(null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=128, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The error's message id and parameters, to show it in the reader's language (log_text.py).
    error_message = models.JSONField(_("error message"), null=True, blank=True)

    class Meta:
        verbose_name = _("sync cycle")
        verbose_name_plural = _("sync cycles")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["job", "-started_at"], name="cycle_job_started")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"

    @property
    def error_text(self) -> str:
        """The error in the reader's language (as stored when it was not a message)."""
        return translated(self.error_message, self.error)

    @property
    def percent_complete(self) -> int:
        if not self.progress_total:
            return 100 if self.ended_at else 0
        return min(100, round(100 * self.progress_done / self.progress_total))

    @property
    def duration(self):
        return (self.ended_at - self.started_at) if self.ended_at else None
