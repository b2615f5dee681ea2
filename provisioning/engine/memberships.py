"""Group memberships (F18): after users and groups, make each provisioned group's members right.

Members are the group's direct user members whose accounts this job provisioned (nested groups are
not provisioned, as in Azure). The link keeps the member target ids last written, so only the
difference is sent: PATCH add for new members, PATCH remove for those who left.
"""

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from ..choices import LinkState, LogAction, LogStatus, ObjectType
from ..connectors.base import BulkOperation
from ..connectors.errors import ConnectorError
from ..log_text import gettext as _  # step texts translated when read
from ..models import GroupMembership, ProvisionedObject
from .act import StopCycle, describe_error, escrow_delay
from .context import CycleContext
from .importing import chunked
from .record import Step, save_links

MEMBERS_PER_REQUEST = 500

logger = logging.getLogger(__name__)


def sync_memberships(ctx: CycleContext, group_ids: list[uuid.UUID]) -> None:
    blocked = ctx.member_removal_blocked
    if blocked and group_ids:
        attempts = max(ctx.match_attempts[ObjectType.USER], ctx.recorder.counters.get("users", 0))
        failures = ctx.match_failures[ObjectType.USER]
        logger.warning(
            "%d of %d user matches failed in this cycle: no member is removed from any group",
            failures,
            attempts,
        )
        ctx.recorder.log(
            object_type=ObjectType.GROUP,
            source_id=None,
            display=_("Group memberships"),
            target_id="",
            action=LogAction.OTHER,
            status=LogStatus.WARNING,
            steps=[],
            reason=_(
                "%(failures)d of %(attempts)d users could not be matched in this cycle, so no "
                "member was removed from any group (members are added as usual)."
            )
            % {"failures": failures, "attempts": attempts},
            recommendation=_("Removals are made by the next cycle whose matching succeeds."),
            started=time.monotonic(),
        )
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
        plans = []
        candidates: set[str] = set()
        read_from_target = set()
        for group_id, link in links.items():
            desired = {user_targets[u] for u in members.get(group_id, ()) if u in user_targets}
            if "members" not in (link.last_exported or {}):
                read_from_target.add(group_id)
            current = _current_members(ctx, link)
            plans.append((link, desired, current))
            candidates |= current - desired
        managed = _managed_user_targets(ctx, candidates) if candidates and not blocked else set()
        changed = []
        decisions = [
            _decide(ctx, link, desired, current, managed, blocked)
            for link, desired, current in plans
        ]
        # Each group's additions and removals are one call (one object, one request in flight
        # at a time); the groups' calls are sent concurrently (issue 16), the outcomes recorded
        # here, in order.
        sending = [d for d in decisions if d.to_add or d.to_remove]
        errors: dict[int, BaseException] = {}
        if ctx.capabilities.bulk and ctx.capabilities.patch:
            # Bulk (issue 16): every group's additions in Bulk requests (PATCH add, which a
            # target may apply twice without harm); removals after, as their own requests
            # (the removal form the target accepts is learnt request by request).
            errors = _add_in_bulk(ctx, [d for d in sending if d.to_add])
            removing = [d for d in sending if d.to_remove and id(d) not in errors]
            outcomes = ctx.requests.run_all(
                [partial(_send, ctx, d, additions=False) for d in removing]
            )
        else:
            removing = sending
            outcomes = ctx.requests.run_all([partial(_send, ctx, d) for d in removing])
        errors.update(
            (id(d), error)
            for d, (_result, error) in zip(removing, outcomes, strict=True)
            if error is not None
        )
        stop: ConnectorError | None = None
        for decision in decisions:
            error = errors.get(id(decision))
            if error is not None and not isinstance(error, ConnectorError):
                raise error
            if error is not None and error.stops_job:
                stop = stop or error
                # What this group got is unknown: re-read its members next time.
                link = decision.link
                link.last_exported = {
                    k: v for k, v in (link.last_exported or {}).items() if k != "members"
                }
                changed.append(link)
                continue
            if _record(ctx, decision, error) or (decision.link.source_id in read_from_target):
                changed.append(decision.link)
        if ctx.recorder.persist:
            save_links([], changed)
        if stop is not None:
            raise StopCycle(stop) from stop


def _user_targets(ctx: CycleContext, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The target ids of the users that must be members: provisioned (enabled) accounts only."""
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


def _managed_user_targets(ctx: CycleContext, target_ids: set[str]) -> set[str]:
    """The target ids among ``target_ids`` that are accounts of this job's linked users whose
    state says they must not be a member (provisioned or disabled; not a held delete)."""
    found: set[str] = set()
    for chunk in chunked(sorted(target_ids), 2000):
        found.update(
            ProvisionedObject.objects.filter(
                job=ctx.job,
                object_type=ObjectType.USER,
                target_id__in=chunk,
                state__in=(LinkState.PROVISIONED, LinkState.DISABLED),
            ).values_list("target_id", flat=True)
        )
    return found


def _current_members(ctx: CycleContext, link: ProvisionedObject) -> set[str]:
    exported = link.last_exported or {}
    if "members" not in exported:
        # Never written by us (a link from before membership tracking): ask the target.
        try:
            members = ctx.connector.member_ids(ctx.connector.get("Group", link.target_id))
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            members = []
        link.last_exported = {**exported, "members": sorted(members)}
    return set(link.last_exported["members"])


@dataclass
class _GroupDecision:
    link: ProvisionedObject
    exported: dict
    current: set[str]
    to_add: list[str]
    to_remove: list[str]
    retry_at: object
    started: float = field(default_factory=time.monotonic)


def _decide(
    ctx: CycleContext,
    link: ProvisionedObject,
    desired: set[str],
    known: set[str],
    managed: set[str],
    blocked: bool = False,
) -> _GroupDecision:
    """The membership difference for one group.

    A member is removed only when the engine knows it must not be there: it is the account of
    one of this job's users that is not (or no longer) an enabled member. Accounts the engine
    cannot place (a user whose match or create failed, someone else's account) are left alone.
    """
    current = known - ctx.deleted_user_targets
    return _GroupDecision(
        link=link,
        exported=dict(link.last_exported or {}),
        current=current,
        to_add=sorted(desired - current),
        to_remove=sorted(m for m in current - desired if m in managed),
        # Removals withheld by a cycle whose matching failed: the group is due again next cycle.
        retry_at=ctx.now if blocked and current - desired else None,
    )


def _send(ctx: CycleContext, decision: _GroupDecision, *, additions: bool = True) -> None:
    """The group's member requests (a worker thread: connector calls only, no database)."""
    target_id = decision.link.target_id
    for batch in chunked(decision.to_add if additions else [], MEMBERS_PER_REQUEST):
        ctx.connector.add_members(target_id, batch)
    for batch in chunked(decision.to_remove, MEMBERS_PER_REQUEST):
        ctx.connector.remove_members(target_id, batch)


def _add_in_bulk(ctx: CycleContext, decisions: list[_GroupDecision]) -> dict[int, BaseException]:
    """Send the groups' additions as Bulk PATCH operations; the error of each group that got
    one (by ``id`` of its decision). A lost answer is an error like any other: the group's
    members are read from the target again before the next change (nothing is resent blind)."""
    operations: list[BulkOperation] = []
    owner: dict[str, _GroupDecision] = {}
    for decision in decisions:
        for batch in chunked(decision.to_add, MEMBERS_PER_REQUEST):
            operation = BulkOperation(
                "PATCH",
                ObjectType.GROUP,
                f"m{len(operations)}",
                decision.link.target_id,
                members_added=batch,
            )
            operations.append(operation)
            owner[operation.bulk_id] = decision
    if not operations:
        return {}
    errors: dict[int, BaseException] = {}
    try:
        results = ctx.connector.bulk(operations)
    except ConnectorError as error:  # stops the job: what each group got is unknown
        return {id(d): error for d in decisions}
    for result in results:
        if result.error is not None:
            errors.setdefault(id(owner[result.bulk_id]), result.error)
    return errors


def _record(ctx: CycleContext, decision: _GroupDecision, error: ConnectorError | None) -> bool:
    """Record one group's outcome (the cycle's thread); True when the link changed."""
    link, exported, current = decision.link, decision.exported, decision.current
    to_add, to_remove, retry_at, started = (
        decision.to_add,
        decision.to_remove,
        decision.retry_at,
        decision.started,
    )
    if not to_add and not to_remove:
        changed = False
        if current != set(exported.get("members") or []):
            link.last_exported = {**exported, "members": sorted(current)}
            changed = True
        if link.failure_count == 0 and link.next_retry_at != retry_at:
            link.next_retry_at = retry_at
            changed = True
        return changed
    display = ""
    if error is not None:
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
    link.last_exported = {**exported, "members": sorted((current | set(to_add)) - set(to_remove))}
    link.failure_count, link.last_error, link.next_retry_at = 0, "", retry_at
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


def remove_user_from_groups(ctx: CycleContext, target_id: str) -> None:
    """Before a user is deleted: take its account out of the groups the engine wrote it into.

    Some targets do not cascade a user's deletion to the groups that list it. Raises the
    connector's error when a removal fails (the delete then waits for a later cycle).
    """
    if ctx.group_links is None:
        ctx.group_links = list(
            ProvisionedObject.objects.filter(
                job=ctx.job, object_type=ObjectType.GROUP, state=LinkState.PROVISIONED
            ).exclude(target_id="")
        )
    for link in ctx.group_links:
        members = (link.last_exported or {}).get("members") or []
        if target_id not in members:
            continue
        ctx.connector.remove_members(link.target_id, [target_id])
        link.last_exported = {
            **link.last_exported,
            "members": [m for m in members if m != target_id],
        }
        if ctx.recorder.persist:
            save_links([], [link])
