"""What the last reconcile of a job found (DESIGN B4): one row per account not in sync.

Accounts in sync are only counted (on the reconcile's ``SyncCycle``), so a reconcile of 100,000
accounts with 1 % drift writes about 1,000 rows. A completed reconcile replaces the findings of the
job's earlier ones.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import ObjectType, ReconcileClass
from .cycles import SyncCycle
from .jobs import ProvisioningJob


class ReconcileFinding(models.Model):
    job = models.ForeignKey(
        ProvisioningJob,
        verbose_name=_("job"),
        on_delete=models.CASCADE,
        related_name="reconcile_findings",
    )
    cycle = models.ForeignKey(
        SyncCycle, verbose_name=_("cycle"), on_delete=models.CASCADE, related_name="findings"
    )
    object_type = models.CharField(_("object type"), max_length=8, choices=ObjectType.choices)
    classification = models.CharField(
        _("class"), max_length=16, choices=ReconcileClass.choices, db_index=False
    )
    source_id = models.UUIDField(_("source object id"), null=True, blank=True)
    target_id = models.CharField(_("target id"), max_length=256, blank=True)
    display = models.CharField(_("name"), max_length=512, blank=True)
    # [{"name": path, "old": value in the target, "new": value the mappings produce}, ...]
    differences = models.JSONField(_("differences"), default=list, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    target_active = models.BooleanField(_("active in the target"), null=True, blank=True)
    # "", Repaired, Failed, Held, Disabled: what this reconcile did about it.
    outcome = models.CharField(_("outcome"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("reconcile finding")
        verbose_name_plural = _("reconcile findings")
        ordering = ["classification", "display", "id"]
        indexes = [
            models.Index(fields=["cycle", "classification"], name="finding_cycle_class"),
        ]

    def __str__(self) -> str:
        return f"{self.get_classification_display()}: {self.display or self.target_id}"
