"""One provisioning log entry as an auditor reads it: members as names, not lists of ids."""

from typing import Any

from django.utils.translation import gettext_lazy

from ..models import DirectoryGroup, DirectoryUser, ProvisionedObject, ProvisioningLogEntry


def _names_by_target_id(entry: ProvisioningLogEntry, target_ids: set[str]) -> dict[str, str]:
    if not target_ids or entry.job_id is None:
        return {}
    links = dict(
        ProvisionedObject.objects.filter(job_id=entry.job_id, target_id__in=target_ids).values_list(
            "target_id", "source_id"
        )
    )
    users = dict(
        DirectoryUser.objects.filter(pk__in=links.values()).values_list("pk", "user_principal_name")
    )
    groups = dict(
        DirectoryGroup.objects.filter(pk__in=links.values()).values_list("pk", "display_name")
    )
    names = {**users, **groups}
    return {target: names[source] for target, source in links.items() if source in names}


# Membership changes are stored as "members (added)" / "members (removed)" (English, as exports give
# them); the page shows the attribute name as it is and the change in the reader's language.
PROPERTY_CHANGES = {
    " (added)": gettext_lazy("%(name)s (added)"),
    " (removed)": gettext_lazy("%(name)s (removed)"),
}


def _property_name(name: str) -> str:
    for suffix, label in PROPERTY_CHANGES.items():
        if name.endswith(suffix):
            return str(label) % {"name": name[: -len(suffix)]}
    return name


def readable_properties(entry: ProvisioningLogEntry) -> list[dict[str, Any]]:
    """Modified properties old → new; a list of member ids becomes the members' names (an id the
    portal no longer knows stays as it is)."""
    properties = [p for p in (entry.modified_properties or []) if isinstance(p, dict)]
    member_ids: set[str] = set()
    for prop in properties:
        if str(prop.get("name", "")).startswith("members"):
            for side in ("old", "new"):
                if isinstance(prop.get(side), list):
                    member_ids.update(str(v) for v in prop[side])
    names = _names_by_target_id(entry, member_ids)
    rows = []
    for prop in properties:
        row = {
            "name": _property_name(prop.get("name", "")),
            "old": prop.get("old"),
            "new": prop.get("new"),
        }
        for side in ("old", "new"):
            value = row[side]
            if isinstance(value, list):
                row[side] = ", ".join(names.get(str(v), str(v)) for v in value)
            elif isinstance(value, dict):
                row[side] = ", ".join(f"{k}: {v}" for k, v in value.items())
        rows.append(row)
    return rows
