"""The link between a source object and its account in the target (authentik-style)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..choices import LinkState, ObjectType
from ..fields import BulkJSONField
from .jobs import ProvisioningJob


class ProvisionedObject(models.Model):
    """Target id plus the last exported attributes (for diff-skip), and the escrow of failures.

    ``source_id`` is not a foreign key: the link must outlive a hard-deleted source object so the
    engine can still delete or disable its account.
    """

    job = models.ForeignKey(
        ProvisioningJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="links"
    )
    object_type = models.CharField(_("object type"), max_length=8, choices=ObjectType.choices)
    source_id = models.UUIDField(_("source object id"))
    target_id = models.CharField(_("target id"), max_length=256, blank=True)
    last_exported = BulkJSONField(_("last exported attributes"), default=dict, blank=True)
    exported_hash = models.CharField(_("hash of exported attributes"), max_length=64, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=LinkState.choices, default=LinkState.PROVISIONED
    )
    failure_count = models.PositiveIntegerField(_("consecutive failures"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_retry_at = models.DateTimeField(_("next retry"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The reconcile (its cycle id) whose listing last returned this account: what the listing
    # did not return is *missing*, found in the database instead of a set of every id listed,
    # so a reconcile's memory does not grow with the number of accounts (issue 13).
    reconciled_in = models.UUIDField(
        _("last reconcile that listed it"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("provisioned object")
        verbose_name_plural = _("provisioned objects")
        constraints = [
            models.UniqueConstraint(
                fields=["job", "object_type", "source_id"], name="link_unique_source"
            ),
        ]
        indexes = [
            models.Index(
                fields=["job", "next_retry_at"],
                condition=Q(next_retry_at__isnull=False),
                name="link_escrow_due",
            ),
            models.Index(fields=["job", "object_type", "target_id"], name="link_by_target"),
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.source_id} → {self.target_id or '?'}"
