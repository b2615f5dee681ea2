"""Retention of provisioning logs (F24: default 30 days)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..models import ProvisioningLogEntry

PURGE_BATCH = 5000


def purge_provisioning_logs(days: int | None = None, *, now=None) -> int:
    """Delete entries older than ``days`` (default: the setting) in bounded batches."""
    days = settings.PROVISIONING_LOG_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted_total = 0
    while True:
        ids = list(
            ProvisioningLogEntry.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[
                :PURGE_BATCH
            ]
        )
        if not ids:
            return deleted_total
        deleted, _ = ProvisioningLogEntry.objects.filter(id__in=ids).delete()
        deleted_total += deleted
