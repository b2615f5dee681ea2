"""The cycle: import → scope → match → evaluate → act → record, for users, groups, memberships.

An *initial* cycle looks at everything in scope (and everything linked); an *incremental* cycle only
at what the directory change log says changed since the job's watermark, plus escrowed retries
(F15, F16). The watermark is read before the directory, and stored only when the cycle ends, so a
change made during a cycle is seen again by the next one and a crashed cycle loses nothing.
"""

import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import CycleKind, CycleState, LinkState, ObjectType
from ..connectors import build_connector
from ..connectors.base import Connector, RecordedRequest
from ..connectors.errors import ConnectorError
from ..directory.changes import changes_between, current_watermark
from ..log_text import error_text
from ..log_text import gettext as _  # cycle errors translated when read
from ..models import Assignment, GroupMembership, ProvisionedObject, ProvisioningJob, SyncCycle
from .act import ChunkSynchronizer, PreparedChunk, StopCycle, execute_removals
from .context import CycleContext, load_mapping_rules
from .evaluate import EvaluationError
from .importing import (
    CHUNK_SIZE,
    candidate_group_ids,
    candidate_user_ids,
    chunked,
    load_groups,
    load_users,
    missing_object,
)
from .inflight import RequestPool
from .learnt import remember, target_learnt, unsupported_attributes
from .lease import (
    acquire_lease,
    lease_expiry,
    process_owner,
    release_lease,
    renew_lease,
    take_over_dead_lease,
    transfer_lease,
)
from .memberships import sync_memberships
from .quarantine import after_cycle
from .record import CycleRecorder

logger = logging.getLogger(__name__)

PROGRESS_STEPS = 10  # a cycle's progress moves in at least this many steps when it is large enough
PROGRESS_MIN_CHUNK = 25
# Bulk requests in flight at once (issue 16). Two were measured against one in
# docs/benchmarks.md: scim2-server serves its connections in threads of one Python process that
# share its storage lock, so a second request only waits there; no faster, so one.
BULK_REQUESTS_IN_FLIGHT = 1
# Chunks sent at once to a target that adds lists of objects (GoTo, issue 16): a chunk's lists
# and their read-backs are serial round trips before its licences can go, so the next chunk's
# lists leave as soon as this chunk's last licences are under way (the pool takes calls in order)
# and the target's rate is not left unused between chunks. Requests in flight stay bounded by
# the job's pool.
BATCHED_CREATE_CHUNKS_IN_FLIGHT = 2
# With Bulk, the first chunks grow to the target's maxOperations and the last ones shrink back:
# the first Bulk request leaves after a small chunk is prepared (not a whole one), and the last
# chunk recorded after the target's last answer is small (issue 16).
BULK_RAMP = (100, 300)
# While a Bulk stage runs, the interpreter hands the GIL over after this long instead of 5 ms: the
# thread sending a Bulk request needs it briefly after every socket read and to encode and parse
# the request and the answer, while the cycle's thread records and prepares chunks; at 5 ms the
# sender waited so long that the target sat idle between requests (docs/benchmarks.md: 10,000
# users, 1.32× → 1.21× the Bulk floor). Restored when the stage ends.
BULK_SWITCH_INTERVAL = 0.0005


class CycleBusy(Exception):
    """Another process holds the job's lease."""


class LeaseLost(Exception):
    """The lease expired and was taken by another process mid-cycle."""


@dataclass
class CycleReport:
    cycle: SyncCycle
    requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def counters(self) -> dict:
        return self.cycle.counters

    @property
    def duration_seconds(self) -> float:
        if self.cycle.ended_at is None:
            return 0.0
        return (self.cycle.ended_at - self.cycle.started_at).total_seconds()


def lease_owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def make_connector(job: ProvisioningJob, **options) -> Connector:
    template = job.application.template
    if job.rate_limit_per_second:
        options.setdefault("requests_per_second", job.rate_limit_per_second)
    return build_connector(template.connector, dict(job.credentials), **options)


def run_cycle(
    job: ProvisioningJob,
    *,
    initial: bool | None = None,
    dry_run: bool = False,
    user_ids: list[uuid.UUID] | None = None,
    group_ids: list[uuid.UUID] | None = None,
    connector: Connector | None = None,
    owner: str | None = None,
    on_request: Callable | None = None,
    cycle_id: uuid.UUID | str | None = None,
) -> CycleReport:
    """Run one cycle of ``job`` in this process.

    ``user_ids``/``group_ids`` make it an on-demand cycle for just those objects (no watermark
    change). ``dry_run`` sends no writing request and rolls every database write back; the
    requests it would have sent are returned. ``cycle_id`` names a cycle row created beforehand
    (state Queued, e.g. by Provision on demand) for this run to fill in.
    """
    owner = owner or lease_owner_name()
    requests: list[RecordedRequest] = []
    options = {
        "initial": initial,
        "user_ids": user_ids,
        "group_ids": group_ids,
        "connector": connector,
        "owner": owner,
        "requests": requests,
        "on_request": on_request,
        "cycle_id": cycle_id,
    }
    if dry_run:
        with transaction.atomic():
            report = _run(job, dry_run=True, **options)
            transaction.set_rollback(True)
        report.requests = requests
        return report
    if not acquire_lease(job.pk, owner) and not take_over_dead_lease(job.pk, owner):
        raise CycleBusy(_busy_message(job.pk))
    # The lease names this process from now on: if it dies, a re-run here takes over at once.
    running_as = process_owner(owner)
    if transfer_lease(job.pk, owner, running_as):
        owner = options["owner"] = running_as
    try:
        return _run(job, dry_run=False, **options)
    finally:
        release_lease(job.pk, owner)


def _busy_message(job_id: int) -> str:
    expires = lease_expiry(job_id)
    if expires is None:
        return _("A cycle of this job is already running.")
    return _(
        "A cycle of this job is already running; its lease expires at %(time)s "
        "(%(seconds)d s from now) unless it ends first."
    ) % {
        "time": timezone.localtime(expires).strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seconds": max(0, int((expires - timezone.now()).total_seconds())),
    }


def _run(
    job, *, initial, dry_run, user_ids, group_ids, connector, owner, requests, on_request, cycle_id
):
    job.refresh_from_db()  # the caller sees the outcome; its stale lease is never saved back
    on_demand = user_ids is not None or group_ids is not None
    up_to = current_watermark()
    if on_demand:
        kind = CycleKind.ON_DEMAND
    elif initial or job.full_sync_required or job.watermark is None:
        kind = CycleKind.INITIAL
    else:
        kind = CycleKind.INCREMENTAL
    fields = {
        "kind": kind,
        "state": CycleState.RUNNING,
        "watermark_from": job.watermark,
        "watermark_to": up_to,
        "worker": owner,
    }
    if not dry_run:
        # We hold the lease: a cycle still marked as running was left by a dead worker.
        SyncCycle.objects.filter(job=job, state=CycleState.RUNNING).update(
            state=CycleState.ABANDONED, ended_at=timezone.now()
        )
    cycle = SyncCycle.objects.filter(pk=cycle_id, job=job).first() if cycle_id else None
    if cycle is None:
        cycle = SyncCycle.objects.create(job=job, **fields)
    else:
        for name, value in fields.items():
            setattr(cycle, name, value)
        cycle.save()
    application = job.application
    template = application.template
    recorder = CycleRecorder(
        cycle=cycle,
        application_id=application.pk,
        application_name=application.name,
        job_id=job.pk,
        secret_names=template.secret_credential_names,
    )
    own_connector = connector is None
    ctx = None
    pool = None
    try:
        if connector is None:
            connector = make_connector(
                job,
                dry_run=dry_run,
                recorder=requests.append if dry_run else None,
                on_request=on_request,
            )
        connector.begin_cycle()
        pool = RequestPool(job.max_requests_in_flight, connector)
        recorder.requests_snapshot = pool.snapshot
        ctx = CycleContext(
            job=job,
            connector=connector,
            capabilities=connector.capabilities(),
            recorder=recorder,
            mappings=load_mapping_rules(job),
            initial=kind == CycleKind.INITIAL,
            dry_run=dry_run,
            use_target_index=kind == CycleKind.INITIAL,
            lease_owner="" if dry_run else owner,
            on_demand=on_demand,
            requests=pool,
        )
        apply_target_learnt(ctx)
        if kind == CycleKind.INITIAL:
            users, groups = _initial_scope(ctx)
        elif kind == CycleKind.INCREMENTAL:
            users, groups = _changed_since(ctx, job.watermark, up_to)
        else:
            # Ids may come as text (a task's JSON arguments): the directory's ids are UUIDs.
            users = sorted({uuid.UUID(str(i)) for i in user_ids or []})
            groups = sorted({uuid.UUID(str(i)) for i in group_ids or []})
        _process(ctx, users, groups)
    except (StopCycle, ConnectorError, EvaluationError, LeaseLost) as error:
        stop = error.error if isinstance(error, StopCycle) else error
        _remember(job, connector, ctx, dry_run)
        recorder.flush()
        cycle.state = CycleState.FAILED
        cycle.error, cycle.error_message = error_text(stop)
        cycle.ended_at = timezone.now()
        cycle.counters = _counters(recorder)
        cycle.save()
        logger.warning("Cycle %s of %s failed: %s", cycle.pk, application.name, stop)
        if not dry_run and not on_demand:
            after_cycle(job, cycle, stop_error=stop)
        return CycleReport(cycle)
    finally:
        if pool is not None:
            pool.close()
            connector.use_flow(None)  # a connector handed in may be reused: not this cycle's limit
        if own_connector and connector is not None:
            connector.close()

    _remember(job, connector, ctx, dry_run)
    recorder.flush()
    failures = sum(v for k, v in recorder.counters.items() if k.endswith(":Failure"))
    cycle.state = CycleState.COMPLETED_WITH_FAILURES if failures else CycleState.SUCCEEDED
    cycle.ended_at = timezone.now()
    cycle.progress_done = cycle.progress_total
    cycle.counters = _counters(recorder)
    cycle.save()
    if not on_demand:
        updates = {"watermark": up_to}
        if kind == CycleKind.INITIAL:
            updates["full_sync_required"] = False
        if job.deletes_allowed_once and not ctx.held_removals:
            updates["deletes_allowed_once"] = False
        ProvisioningJob.objects.filter(pk=job.pk).update(**updates)
        for name, value in updates.items():
            setattr(job, name, value)
        if not dry_run:
            after_cycle(job, cycle, held_removals=ctx.held_removals)
    return CycleReport(cycle)


def apply_target_learnt(ctx: CycleContext) -> None:
    """What earlier cycles learnt about the target (member-removal form, attributes it refuses),
    for every kind of cycle that writes to it: normal cycles and a reconcile's repairs."""
    ctx.connector.apply_learnt(target_learnt(ctx.job))
    for object_type in (ObjectType.USER, ObjectType.GROUP):
        ctx.known_unsupported[object_type] = set(unsupported_attributes(ctx.job, object_type))


def _remember(job, connector, ctx, dry_run: bool) -> None:
    """Keep what the cycle learnt about the target (member removal form, unsupported
    attributes) for the next cycles and the job's pages."""
    if connector is None:
        return
    for kind in sorted(connector.stopped_kinds) if ctx is not None else []:
        ctx.recorder.log(
            object_type=ObjectType.USER if "/Users" in kind else ObjectType.GROUP,
            source_id=None,
            display=kind,
            action="Other",
            status="Warning",
            steps=[],
            error_code="TargetFailing",
            reason=_(
                "The target failed with HTTP 500 on %(kind)s repeatedly; no more such requests "
                "were sent in this cycle. The objects concerned are retried in a later cycle."
            )
            % {"kind": kind},
            recommendation=_("Check the target's health and its logs for this kind of request."),
            started=None,
        )
    if dry_run:
        return
    remember(
        job,
        connector_learnt=connector.learnt,
        unsupported=ctx.unsupported if ctx is not None else None,
    )


def _counters(recorder: CycleRecorder) -> dict:
    return recorder.counters_dict()


def _linked_ids(job: ProvisioningJob, object_type: str) -> list[uuid.UUID]:
    return list(
        ProvisionedObject.objects.filter(job=job, object_type=object_type)
        .values_list("source_id", flat=True)
        .iterator(chunk_size=5000)
    )


def _initial_scope(ctx: CycleContext) -> tuple[list, list]:
    application_id = ctx.job.application_id
    users = candidate_user_ids(application_id, ctx.sync_all, _linked_ids(ctx.job, ObjectType.USER))
    groups = []
    if ctx.groups_enabled:
        groups = candidate_group_ids(
            application_id, ctx.sync_all, _linked_ids(ctx.job, ObjectType.GROUP)
        )
    return users, groups


def _changed_since(ctx: CycleContext, after: int, up_to: int) -> tuple[list, list]:
    """The users and groups an incremental cycle must look at: changed ones, and escrow."""
    application_id = ctx.job.application_id
    users: set[uuid.UUID] = set()
    groups: set[uuid.UUID] = set()
    scope_groups: set[uuid.UUID] = set()  # groups whose members' scope may have changed
    for change in changes_between(after, up_to).iterator(chunk_size=2000):
        kind = change.changed_object
        if kind == "user":
            users.add(change.user_id)
        elif kind == "group":
            groups.add(change.group_id)
            scope_groups.add(change.group_id)
        elif kind == "membership":
            groups.add(change.group_id)
            if change.user_id:
                users.add(change.user_id)
        elif kind == "assignment" and change.application_id == application_id:
            if change.user_id:
                users.add(change.user_id)
            if change.group_id:
                groups.add(change.group_id)
                scope_groups.add(change.group_id)
    if scope_groups and not ctx.sync_all:
        # Only groups assigned to this application (now) give their members scope; a group
        # unassigned or deleted is covered by the assignment and membership changes above.
        relevant = set(
            Assignment.objects.filter(
                application_id=application_id, group_id__in=scope_groups
            ).values_list("group_id", flat=True)
        ) | (
            scope_groups
            & set(
                ProvisionedObject.objects.filter(
                    job=ctx.job, object_type=ObjectType.GROUP, source_id__in=scope_groups
                ).values_list("source_id", flat=True)
            )
        )
        for chunk in chunked(sorted(relevant), 500):
            users.update(
                GroupMembership.objects.filter(group_id__in=chunk, member_user__isnull=False)
                .values_list("member_user_id", flat=True)
                .iterator(chunk_size=5000)
            )
    due = ProvisionedObject.objects.filter(job=ctx.job, next_retry_at__lte=ctx.now).values_list(
        "object_type", "source_id"
    )
    for object_type, source_id in due:
        (users if object_type == ObjectType.USER else groups).add(source_id)
    if not ctx.groups_enabled:
        groups = set()
    return sorted(users), sorted(groups)


def _process(ctx: CycleContext, users: list, groups: list) -> None:
    recorder = ctx.recorder
    total = len(users) + len(groups)
    recorder.save_progress(done=0, total=total)
    chunk_size = CHUNK_SIZE
    if ctx.capabilities.bulk and ctx.capabilities.bulk_max_operations:
        # As many operations as the target takes in one Bulk request (its maxOperations; the
        # connector splits a chunk further by maxPayloadSize), ramped at both ends.
        chunk_size = max(100, min(CHUNK_SIZE, ctx.capabilities.bulk_max_operations))
    else:
        # Progress is saved as each chunk completes: a cycle of a few hundred objects is cut in
        # several chunks so that Synchronization details moves instead of jumping to 100 %.
        chunk_size = min(chunk_size, max(PROGRESS_MIN_CHUNK, -(-total // PROGRESS_STEPS)))

    progress = {"done": 0}

    def chunk_done(size: int) -> None:
        progress["done"] += size
        _heartbeat(ctx, progress["done"])

    user_rules = ctx.rules_for(ObjectType.USER)
    if user_rules is not None:
        _sync_chunks(ctx, user_rules, ObjectType.USER, users, chunk_size, chunk_done)
        if ctx.deferred_reference_users:
            # Second pass for references (a manager provisioned later in the same cycle).
            deferred = sorted(ctx.deferred_reference_users)
            ctx.deferred_reference_users = set()
            _sync_chunks(ctx, user_rules, ObjectType.USER, deferred, chunk_size, second_pass=True)
            ctx.deferred_reference_users = set()

    group_rules = ctx.rules_for(ObjectType.GROUP)
    if group_rules is not None:
        _sync_chunks(ctx, group_rules, ObjectType.GROUP, groups, chunk_size, chunk_done)
    ctx.held_removals = execute_removals(ctx)
    if group_rules is not None:
        # Groups written now, and the groups of users linked, disabled or enabled again: the
        # one rule (docs/architecture.md) is that only enabled accounts are members.
        membership_groups = set(groups)
        touched = ctx.newly_linked_users | ctx.membership_users
        for chunk in chunked(sorted(touched), 2000):
            membership_groups.update(
                GroupMembership.objects.filter(member_user_id__in=chunk).values_list(
                    "group_id", flat=True
                )
            )
        sync_memberships(ctx, sorted(membership_groups))
    recorder.save_progress(done=total)


def _heartbeat(ctx: CycleContext, done: int) -> None:
    ctx.recorder.save_progress(done=done)
    if ctx.lease_owner and not renew_lease(ctx.job.pk, ctx.lease_owner):
        raise LeaseLost(_("The job's lease was lost; another worker took over."))


def _sync_chunks(
    ctx: CycleContext,
    rules,
    object_type: str,
    ids: list[uuid.UUID],
    chunk_size: int,
    chunk_done: Callable[[int], None] | None = None,
    *,
    second_pass: bool = False,
) -> None:
    """Synchronize ``ids`` chunk by chunk, the target working on one chunk's requests while the
    next chunk is prepared here (the target's time and ours overlap instead of adding up).

    With Bulk, up to ``BULK_REQUESTS_IN_FLIGHT`` chunks are sent at once, and
    ``BATCHED_CREATE_CHUNKS_IN_FLIGHT`` to a target adding lists of objects: each chunk holds
    other objects (one object is in one chunk), and the outcomes are recorded in order."""
    bulk = ctx.capabilities.bulk
    senders = max(1, BULK_REQUESTS_IN_FLIGHT) if bulk else 1
    if not bulk and ctx.requests.concurrent and (ctx.connector.create_batch_size or 0) > 1:
        senders = BATCHED_CREATE_CHUNKS_IN_FLIGHT
    chunks = ramped(ids, chunk_size) if bulk else chunked(ids, chunk_size)
    switch_interval = sys.getswitchinterval()
    if bulk and len(chunks) > 1:
        sys.setswitchinterval(min(switch_interval, BULK_SWITCH_INTERVAL))
    try:
        with ThreadPoolExecutor(
            max_workers=senders, thread_name_prefix="target-requests"
        ) as sender:
            in_flight = None
            for chunk in chunks:
                prepared = _prepare_chunk(ctx, rules, object_type, chunk, second_pass=second_pass)
                future = sender.submit(prepared.send)
                if in_flight is not None:
                    _finish_chunk(*in_flight, chunk_done)
                in_flight = (prepared, future, len(chunk))
            if in_flight is not None:
                _finish_chunk(*in_flight, chunk_done)
    finally:
        sys.setswitchinterval(switch_interval)


def ramped(ids: list, size: int, ramp: tuple[int, ...] = BULK_RAMP) -> list[list]:
    """``ids`` in chunks of at most ``size``, the first ones ``ramp`` long and the last ones
    ``ramp`` reversed when there are enough ids; otherwise as without Bulk, a tenth of the stage
    (at least ``PROGRESS_MIN_CHUNK``): progress moves, and preparing one chunk while the target
    works on another still overlaps."""
    steps = [r for r in ramp if r < size]
    edge = sum(steps)
    if not steps or len(ids) < 2 * edge + size:
        return list(
            chunked(ids, min(size, max(PROGRESS_MIN_CHUNK, -(-len(ids) // PROGRESS_STEPS))))
        )
    middle = len(ids) - 2 * edge
    count = -(-middle // size)
    sizes = [*steps, *(middle // count + (n < middle % count) for n in range(count))]
    sizes += steps[::-1]
    chunks, start = [], 0
    for length in sizes:
        chunks.append(ids[start : start + length])
        start += length
    return chunks


def _finish_chunk(prepared: PreparedChunk, future, size: int, chunk_done) -> None:
    prepared.synchronizer.finish(prepared, *future.result())
    if chunk_done is not None:
        chunk_done(size)


def _prepare_chunk(
    ctx: CycleContext, rules, object_type: str, ids: list[uuid.UUID], *, second_pass: bool = False
) -> PreparedChunk:
    application_id = ctx.job.application_id
    loader = load_users if object_type == ObjectType.USER else load_groups
    objects = loader(application_id, ids)
    links = {
        link.source_id: link
        for link in ProvisionedObject.objects.filter(
            job=ctx.job, object_type=object_type, source_id__in=ids
        )
    }
    for source_id in ids:
        if source_id not in objects and source_id in links:
            exported = links[source_id].last_exported or {}
            display = exported.get("userName") or exported.get("displayName") or ""
            objects[source_id] = missing_object(object_type, source_id, str(display))
    references: dict[uuid.UUID, str] = {}
    if object_type == ObjectType.USER:
        manager_ids = {o.manager_id for o in objects.values() if o.manager_id}
        if manager_ids:
            references = dict(
                ProvisionedObject.objects.filter(
                    Q(state=LinkState.PROVISIONED) | Q(state=LinkState.DISABLED),
                    job=ctx.job,
                    object_type=ObjectType.USER,
                    source_id__in=manager_ids,
                )
                .exclude(target_id="")
                .values_list("source_id", "target_id")
            )
    ordered = [objects[i] for i in ids if i in objects]
    return ChunkSynchronizer(ctx, rules, second_pass=second_pass).prepare(
        ordered, links, references
    )
