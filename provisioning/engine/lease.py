"""Leases: at most one process runs a job's cycle at a time (DESIGN §5).

A lease is taken with one conditional UPDATE, so two workers (or a worker and ``manage.py
provision``) can never both hold it. A cycle renews its lease as it goes; a lease that expires
because its holder died can be taken by anyone.

A running cycle's lease names its process (``host:pid:…``). When that process is on this host
and no longer exists (``kill -9``, a crash), the lease is taken over at once instead of waiting
for it to expire (issue 9).
"""

import os
import socket
from datetime import datetime, timedelta

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


def process_owner(owner: str) -> str:
    """``owner`` stamped with this host and process (``host:pid:owner``), unless it is already."""
    prefix = f"{socket.gethostname()}:{os.getpid()}:"
    return owner if owner.startswith(prefix) else f"{prefix}{owner}"


def holder_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process of this host that no longer exists."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists (another user's process) or cannot tell
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped still has a pid; /proc says it is a zombie (Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def take_over_dead_lease(job_id: int, owner: str, seconds: int | None = None) -> bool:
    """Take the job's lease when its holder is a dead process of this host."""
    held = ProvisioningJob.objects.filter(pk=job_id).values_list("lease_owner", flat=True).first()
    if not held or not holder_is_dead(held):
        return False
    seconds = seconds or settings.PROVISIONING_LEASE_SECONDS
    taken = ProvisioningJob.objects.filter(pk=job_id, lease_owner=held).update(
        lease_owner=owner, lease_expires_at=timezone.now() + timedelta(seconds=seconds)
    )
    return taken == 1


def transfer_lease(job_id: int, owner: str, new_owner: str) -> bool:
    """Rename a lease we hold (e.g. a dispatcher's claim, to name the running process)."""
    if owner == new_owner:
        return True
    return (
        ProvisioningJob.objects.filter(pk=job_id, lease_owner=owner).update(lease_owner=new_owner)
        == 1
    )


def lease_expiry(job_id: int) -> datetime | None:
    return (
        ProvisioningJob.objects.filter(pk=job_id).values_list("lease_expires_at", flat=True).first()
    )
