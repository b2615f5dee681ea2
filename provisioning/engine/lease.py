"""Leases: at most one process runs a job's cycle at a time (DESIGN §5).

A lease is taken with one conditional UPDATE, so two workers (or a worker and ``manage.py
provision``) can never both hold it. A cycle renews its lease as it goes; a lease that expires
because its holder died can be taken by anyone.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import ProvisioningJob


def acquire_lease(job_id: int, owner: str, seconds: int | None = None) -> bool:
    now = timezone.now()
    seconds = seconds or settings.PROVISIONING_LEASE_SECONDS
    taken = (
        ProvisioningJob.objects.filter(pk=job_id)
        .filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=owner)
        )
        .update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds))
    )
    return taken == 1


def renew_lease(job_id: int, owner: str, seconds: int | None = None) -> bool:
    """Extend a lease we hold; False means it was lost (expired and taken by someone else)."""
    seconds = seconds or settings.PROVISIONING_LEASE_SECONDS
    renewed = ProvisioningJob.objects.filter(pk=job_id, lease_owner=owner).update(
        lease_expires_at=timezone.now() + timedelta(seconds=seconds)
    )
    return renewed == 1


def release_lease(job_id: int, owner: str) -> None:
    ProvisioningJob.objects.filter(pk=job_id, lease_owner=owner).update(
        lease_owner="", lease_expires_at=None
    )
