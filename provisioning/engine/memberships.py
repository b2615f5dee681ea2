"""Group memberships (F18): after users and groups, make each provisioned group's members right.

Members are the group's direct user members whose accounts this job provisioned (nested groups are
not provisioned, as in Azure). The link keeps the member target ids last written, so only the
difference is sent: PATCH add for new members, PATCH remove for those who left.
"""

import time
import uuid
from collections import defaultdict

from django.utils.translation import gettext as _

from ..choices import LinkState, LogAction, LogStatus, ObjectType
from ..connectors.errors import ConnectorError
from ..models import GroupMembership, ProvisionedObject
from .act import StopCycle, describe_error, escrow_delay
from .context import CycleContext
from .importing import chunked
from .record import Step, save_links

MEMBERS_PER_REQUEST = 500


def sync_memberships(ctx: CycleContext, group_ids: list[uuid.UUID]) -> None:
    for chunk in chunked(group_ids, 200):
        links = {
            link.source_id: link
            for link in ProvisionedObject.objects.filter(
                job=ctx.job,
                object_type=ObjectType.GROUP,
                source_id__in=chunk,
                state=LinkState.PROVISIONED,
            ).exclude(target_id="")
        }
        if not links:
            continue
        members: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for group_id, user_id in GroupMembership.objects.filter(
            group_id__in=list(links), member_user__isnull=False
        ).values_list("group_id", "member_user_id"):
            members[group_id].add(user_id)
        user_targets = _user_targets(ctx, {u for ids in members.values() for u in ids})
        changed = []
        for group_id, link in links.items():
            desired = {user_targets[u] for u in members.get(group_id, ()) if u in user_targets}
            if _sync_group(ctx, link, desired):
                changed.append(link)
        if ctx.recorder.persist:
            save_links([], changed)


def _user_targets(ctx: CycleContext, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    targets = {}
    for chunk in chunked(sorted(user_ids), 2000):
        targets.update(
            ProvisionedObject.objects.filter(
                job=ctx.job,
                object_type=ObjectType.USER,
                source_id__in=chunk,
                state=LinkState.PROVISIONED,
            )
            .exclude(target_id="")
            .values_list("source_id", "target_id")
        )
    return targets


def _sync_group(ctx: CycleContext, link: ProvisionedObject, desired: set[str]) -> bool:
    """Send the membership difference for one group; True when the link changed."""
    started = time.monotonic()
    exported = dict(link.last_exported or {})
    if "members" not in exported:
        # Never written by us (a link from before membership tracking): ask the target.
        try:
            exported["members"] = ctx.connector.member_ids(
                ctx.connector.get("Group", link.target_id)
            )
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            exported["members"] = []
    current = set(exported["members"]) - ctx.deleted_user_targets
    to_add = sorted(desired - current)
    to_remove = sorted(current - desired)
    if not to_add and not to_remove:
        if current != set(exported["members"]):
            link.last_exported = {**exported, "members": sorted(current)}
            return True
        return False
    display = ""
    try:
        for batch in chunked(to_add, MEMBERS_PER_REQUEST):
            ctx.connector.add_members(link.target_id, batch)
        for batch in chunked(to_remove, MEMBERS_PER_REQUEST):
            ctx.connector.remove_members(link.target_id, batch)
    except ConnectorError as error:
        if error.stops_job:
            raise StopCycle(error) from error
        link.failure_count += 1
        link.last_error = f"{error.code}: {error.message}"[:2000]
        link.next_retry_at = ctx.now + escrow_delay(link.failure_count)
        # What was written is unknown now: re-read the members from the target next time.
        link.last_exported = {k: v for k, v in exported.items() if k != "members"}
        ctx.recorder.log(
            object_type=ObjectType.GROUP,
            source_id=link.source_id,
            display=exported.get("displayName") or display or str(link.source_id),
            target_id=link.target_id,
            action=LogAction.UPDATE,
            status=LogStatus.FAILURE,
            steps=[Step("Action", LogStatus.FAILURE, error.message)],
            error_code=error.code,
            reason=describe_error(error),
            recommendation=_("The group's members will be written again in a later cycle."),
            started=started,
        )
        return True
    link.last_exported = {**exported, "members": sorted(desired)}
    link.failure_count, link.last_error, link.next_retry_at = 0, "", None
    ctx.recorder.log(
        object_type=ObjectType.GROUP,
        source_id=link.source_id,
        display=exported.get("displayName") or str(link.source_id),
        target_id=link.target_id,
        action=LogAction.UPDATE,
        status=LogStatus.SUCCESS,
        steps=[
            Step(
                "Action",
                LogStatus.SUCCESS,
                _("Members: %(added)d added, %(removed)d removed")
                % {"added": len(to_add), "removed": len(to_remove)},
            )
        ],
        properties=[
            {"name": "members (added)", "old": None, "new": to_add},
            {"name": "members (removed)", "old": to_remove, "new": None},
        ],
        started=started,
    )
    return True
