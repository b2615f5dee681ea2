"""What cycles learn about a job's target and keep for the next ones (issue 9).

Stored in ``ProvisioningJob.target_learnt``:

- ``member_removal``: the form of member removal the target accepts, ``"filter"``
  (``{"op": "remove", "path": "members[value eq \\"id\\"]"}``, RFC 7644) or ``"value"``
  (Azure's ``{"op": "Remove", "path": "members", "value": [{"value": "id"}]}``).
- ``unsupported_attributes``: per object type, the attribute paths the target refused
  (501, or 400 naming the attribute); the engine stops sending them.

Other code (the mapping page, the job's page) reads it through the functions here.
"""

from __future__ import annotations

from typing import Any

from ..models import ProvisioningJob


def target_learnt(job: ProvisioningJob) -> dict[str, Any]:
    value = job.target_learnt
    return value if isinstance(value, dict) else {}


def unsupported_attributes(job: ProvisioningJob, object_type: str | None = None) -> list[str]:
    """The attribute paths the job's target refused, for one object type or all of them."""
    by_type = target_learnt(job).get("unsupported_attributes") or {}
    if not isinstance(by_type, dict):
        return []
    types = [object_type] if object_type else sorted(by_type)
    found: list[str] = []
    for name in types:
        paths = by_type.get(name) or []
        if isinstance(paths, list):
            found.extend(str(p) for p in paths if str(p) not in found)
    return found


def member_removal_form(job: ProvisioningJob) -> str | None:
    form = target_learnt(job).get("member_removal")
    return form if form in ("filter", "value") else None


def remember(
    job: ProvisioningJob,
    *,
    connector_learnt: dict[str, Any] | None = None,
    unsupported: dict[str, set[str]] | None = None,
) -> None:
    """Merge what a cycle learnt into the job (one UPDATE; the cycle holds the job's lease)."""
    current = dict(target_learnt(ProvisioningJob.objects.only("target_learnt").get(pk=job.pk)))
    before = dict(current)
    for key, value in (connector_learnt or {}).items():
        current[key] = value
    if unsupported:
        by_type = dict(current.get("unsupported_attributes") or {})
        for object_type, paths in unsupported.items():
            known = list(by_type.get(object_type) or [])
            by_type[object_type] = known + sorted(p for p in paths if p not in known)
        current["unsupported_attributes"] = by_type
    if current != before:
        ProvisioningJob.objects.filter(pk=job.pk).update(target_learnt=current)
    job.target_learnt = current
