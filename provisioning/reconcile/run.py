"""One reconcile of a job: read the target, classify every account, repair when asked.

Invariants:

- It holds the job's lease from start to end (renewed after each page), so it never overlaps
  another cycle of the job; a reconcile is a ``SyncCycle`` of kind *Reconcile*.
- An account is *missing* only when the whole listing completed: a listing that failed part way
  classifies nothing as missing and disables nothing (never act on incomplete knowledge), and a
  listing whose pages did not add up to the target's own total (objects created or deleted
  while it was read) classifies nothing as missing.
- Memory does not grow with the number of accounts: the target is read a few pages at a time
  (several in flight when the target pages with ``startIndex`` and the job allows requests in
  flight), the linked accounts a page returned are marked in the database
  (``ProvisionedObject.reconciled_in``) instead of remembered, the missing ones are then read
  back in chunks, and a group page's members are compared a bounded batch at a time.
- Only the attributes the mappings produce are compared and written.
- Disables (orphaned accounts when repairing, unmanaged ones when the job says so) wait until the
  listing is done and are held, all of them, when there are more than the job's accidental-deletion
  threshold, unless *Allow deletes* released them.
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from ..choices import (
    CycleKind,
    CycleState,
    LinkState,
    LogAction,
    LogStatus,
    ObjectType,
    ReconcileClass,
    ReconcileRepair,
)
from ..connectors.base import Connector, RecordedRequest
from ..connectors.errors import ConnectorError
from ..engine.act import StopCycle, Work
from ..engine.context import CycleContext, MappingRules, load_mapping_rules
from ..engine.cycle import (
    CycleBusy,
    LeaseLost,
    apply_target_learnt,
    lease_owner_name,
    make_connector,
)
from ..engine.evaluate import EvaluationError
from ..engine.importing import (
    GROUP_SOURCE_FIELDS,
    USER_SOURCE_FIELDS,
    chunked,
    load_groups,
    load_users,
    missing_object,
)
from ..engine.inflight import RequestPool
from ..engine.lease import acquire_lease, release_lease, renew_lease
from ..engine.match import matching_rules
from ..engine.record import CycleRecorder, Step
from ..engine.scope import decide_scope
from ..log_text import error_text
from ..log_text import gettext as _  # step texts translated when read
from ..models import (
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ProvisionedObject,
    ProvisioningJob,
    ReconcileFinding,
    SyncCycle,
)
from .compare import differences, member_differences
from .reader import PAGE_SIZE, Listing, TargetPage, read_target
from .repair import DriftRepairer, unmanaged_disabled

logger = logging.getLogger(__name__)

FINDINGS_BATCH = 500
MISSING_CHUNK = 500  # links read back at a time when finding the missing accounts
MEMBERS_BATCH = 20_000  # group memberships compared at a time (the groups of a page, in batches)
MAX_GROUPS_BATCH = 64  # groups whose members are read from the target at a time
SAMPLE_SIZE = 200  # findings kept in memory for the command's output
LINKED_STATES = (
    LinkState.PROVISIONED,
    LinkState.DISABLED,
    LinkState.STAGED_DELETE,
    LinkState.FAILED,
)

OUTCOME_REPAIRED = "Repaired"
OUTCOME_FAILED = "Failed"
OUTCOME_HELD = "Held"
OUTCOME_DISABLED = "Disabled"
OUTCOME_PROTECTED = "Protected"


@dataclass
class GroupMembers:
    """One linked group's members, as target ids."""

    wanted: set[str]  # what the directory's members' accounts are
    actual: set[str] = field(default_factory=set)  # what the target has
    ours: set[str] = field(default_factory=set)  # of ``actual``, accounts this job provisioned
    unread: str = ""  # why the target's members could not be read


@dataclass
class ReconcileReport:
    cycle: SyncCycle
    counts: dict[str, int]
    requests: list[RecordedRequest] = field(default_factory=list)
    sample: list[ReconcileFinding] = field(default_factory=list)

    @property
    def duration_seconds(self) -> float:
        if self.cycle.ended_at is None:
            return 0.0
        return (self.cycle.ended_at - self.cycle.started_at).total_seconds()

    @property
    def found_something(self) -> bool:
        return bool(self.counts.get(ReconcileClass.DRIFTED) or self.counts.get("Unmanaged"))


def reconcile_interval(job: ProvisioningJob) -> timedelta | None:
    """Time between scheduled reconciles (an hour is 60 of the settings' minutes), None = off."""
    if not job.reconcile_interval_hours:
        return None
    return timedelta(
        seconds=job.reconcile_interval_hours * 60 * settings.PROVISIONING_MINUTE_SECONDS
    )


def run_reconcile(
    job: ProvisioningJob,
    *,
    dry_run: bool = False,
    connector: Connector | None = None,
    owner: str | None = None,
    page_size: int = PAGE_SIZE,
    on_request=None,
    on_progress: Callable[[int], None] | None = None,
) -> ReconcileReport:
    """Reconcile ``job`` now, in this process.

    ``dry_run`` sends no writing request and rolls every database write back; the requests it
    would have sent are returned. Raises :class:`CycleBusy` when another cycle holds the lease.
    ``on_progress`` is called with the number of target objects compared after each page.
    """
    owner = owner or lease_owner_name()
    requests: list[RecordedRequest] = []
    options = {"page_size": page_size, "on_request": on_request, "on_progress": on_progress}
    if dry_run:
        with transaction.atomic():
            report = _run(job, True, connector, "", requests, **options)
            transaction.set_rollback(True)
        report.requests = requests
        return report
    if not acquire_lease(job.pk, owner):
        raise CycleBusy(_("A cycle of this job is already running."))
    try:
        return _run(job, False, connector, owner, requests, **options)
    finally:
        release_lease(job.pk, owner)


def _run(
    job, dry_run, connector, owner, requests, *, page_size, on_request, on_progress
) -> ReconcileReport:
    job.refresh_from_db()
    if not dry_run:
        SyncCycle.objects.filter(job=job, state=CycleState.RUNNING).update(
            state=CycleState.ABANDONED, ended_at=timezone.now()
        )
    cycle = SyncCycle.objects.create(
        job=job, kind=CycleKind.RECONCILE, state=CycleState.RUNNING, worker=owner or "dry-run"
    )
    application = job.application
    recorder = CycleRecorder(
        cycle=cycle,
        application_id=application.pk,
        application_name=application.name,
        job_id=job.pk,
        secret_names=application.template.secret_credential_names,
    )
    own_connector = connector is None
    reconciler = None
    pool = None
    error: Exception | None = None
    try:
        if connector is None:
            connector = make_connector(
                job,
                dry_run=dry_run,
                recorder=requests.append if dry_run else None,
                on_request=on_request,
            )
        # Reads (pages, group members) are sent over the job's requests in flight (issue 16).
        pool = RequestPool(job.max_requests_in_flight, connector)
        recorder.requests_snapshot = pool.snapshot
        ctx = CycleContext(
            job=job,
            connector=connector,
            capabilities=connector.capabilities(),
            recorder=recorder,
            mappings=load_mapping_rules(job),
            initial=False,
            dry_run=dry_run,
            lease_owner=owner,
            requests=pool,
        )
        connector.begin_cycle()
        apply_target_learnt(ctx)
        reconciler = Reconciler(ctx, cycle, page_size=page_size, on_progress=on_progress)
        reconciler.run()
    except (StopCycle, ConnectorError, EvaluationError, LeaseLost) as failure:
        error = failure.error if isinstance(failure, StopCycle) else failure
    finally:
        if pool is not None:
            pool.close()
            connector.use_flow(None)  # a connector handed in may be reused
        if own_connector and connector is not None:
            connector.close()
    counts = dict(reconciler.counts) if reconciler else {}
    if reconciler is not None:
        reconciler.flush()
    recorder.flush()
    failures = sum(v for k, v in recorder.counters.items() if k.endswith(":Failure"))
    if error is not None:
        cycle.state = CycleState.FAILED
        cycle.error, cycle.error_message = error_text(error)
        logger.warning("Reconcile of %s failed: %s", application.name, error)
    else:
        cycle.state = CycleState.COMPLETED_WITH_FAILURES if failures else CycleState.SUCCEEDED
    cycle.ended_at = timezone.now()
    cycle.progress_done = cycle.progress_total = reconciler.compared if reconciler else 0
    # With the requests in flight (issue 16) as run_cycle keeps them.
    cycle.counters = {**recorder.counters_dict(), "classes": counts}
    cycle.save()
    report = ReconcileReport(cycle, counts, sample=reconciler.sample if reconciler else [])
    if not dry_run:
        _quarantine_if_needed(job, cycle, error)
        if error is None:
            # The report shows the last complete reconcile: earlier findings go.
            ReconcileFinding.objects.filter(job=job).exclude(cycle=cycle).delete()
        interval = reconcile_interval(job)
        ProvisioningJob.objects.filter(pk=job.pk).update(
            next_reconcile_at=cycle.ended_at + interval if interval else None
        )
        if error is None and report.found_something:
            from ..notifications import notify_reconcile_findings

            notify_reconcile_findings(job, cycle, counts)
    return report


def _quarantine_if_needed(job: ProvisioningJob, cycle: SyncCycle, error) -> None:
    """Quarantine as after any cycle when a condition is met (bad credentials or configuration,
    too many failed repairs); a reconcile never lifts a quarantine nor moves the next cycle."""
    from ..engine.quarantine import after_cycle, quarantine_condition

    stop = error if isinstance(error, ConnectorError) and error.stops_job else None
    job.refresh_from_db()
    if quarantine_condition(job, cycle, stop, 0) is not None:
        after_cycle(job, cycle, stop_error=stop)


class Reconciler:
    """Compares one job's target with its directory, page by page."""

    def __init__(
        self,
        ctx: CycleContext,
        cycle: SyncCycle,
        *,
        page_size: int = PAGE_SIZE,
        on_progress: Callable[[int], None] | None = None,
    ):
        self.ctx = ctx
        self.job = ctx.job
        self.cycle = cycle
        self.connector = ctx.connector
        self.page_size = page_size
        self.repair = self.job.reconcile_repair == ReconcileRepair.REPAIR_DRIFT
        self.counts: Counter = Counter()
        self.pending: list[ReconcileFinding] = []
        self.sample: list[ReconcileFinding] = []
        self.compared = 0
        self.on_progress = on_progress
        self.incomplete: list[str] = []  # object types whose listing did not add up

    # -- orchestration --------------------------------------------------------------------

    def run(self) -> None:
        for object_type in (ObjectType.USER, ObjectType.GROUP):
            rules = self.ctx.rules_for(object_type)
            if rules is not None:
                self.reconcile_type(object_type, rules)
        self.flush()
        self.disable_removals()

    def reconcile_type(self, object_type: str, rules: MappingRules) -> None:
        repairer = DriftRepairer(self.ctx, rules)
        insensitive = self.connector.case_insensitive_paths(object_type)
        members_mapped = object_type == ObjectType.GROUP and any(
            r.source == "members" for r in rules.rules
        )
        listing = Listing(object_type)
        pages = read_target(
            self.job,
            self.connector,
            object_type,
            self.page_size,
            requests=self.ctx.requests,
            listing=listing,
        )
        for page in pages:
            linked = list(page.linked())
            batches = self.member_batches(linked) if members_mapped else [linked]
            for batch in batches:
                members = self.group_members(batch) if members_mapped else {}
                for resource, link in batch:
                    self.compare_linked(page, resource, link, rules, repairer, insensitive, members)
            self.classify_unmanaged(object_type, rules, page.unlinked())
            repairer.persist()
            self.flush()
            self.mark_listed(page)
            self.heartbeat(len(page.resources))
        if listing.complete:
            self.find_missing(object_type, rules, repairer)
            repairer.persist()
        else:
            self.listing_incomplete(listing)

    def mark_listed(self, page: TargetPage) -> None:
        """Mark the page's linked accounts as listed by this reconcile (one UPDATE): what is
        not marked at the end is *missing*. After the page's links were saved, which keeps
        the column untouched (it is not one of the fields a link's save writes)."""
        ids = [str(r["id"]) for r in page.resources]
        if ids:
            ProvisionedObject.objects.filter(
                job=self.job, object_type=page.object_type, target_id__in=ids
            ).update(reconciled_in=self.cycle.pk)

    def listing_incomplete(self, listing: Listing) -> None:
        self.incomplete.append(listing.object_type)
        self.counts["listing incomplete"] += 1
        reason = _(
            "The target's listing did not add up (%(received)d objects read, the target "
            "announced %(expected)d): objects were created or deleted while it was read. No "
            "account is reported missing from this reconcile."
        ) % {"received": listing.received, "expected": listing.expected or 0}
        self.ctx.recorder.log(
            object_type=listing.object_type,
            source_id=None,
            display=_("Reconcile"),
            action="Other",
            status=LogStatus.WARNING,
            steps=[Step("Import", LogStatus.WARNING, reason)],
            reason=reason,
            recommendation=_("Reconcile again when the target is not being changed."),
        )

    def heartbeat(self, done: int) -> None:
        self.compared += done
        self.ctx.recorder.save_progress(done=self.compared, total=self.compared)
        if self.ctx.lease_owner and not renew_lease(self.job.pk, self.ctx.lease_owner):
            raise LeaseLost(_("The job's lease was lost; another worker took over."))
        if self.on_progress is not None:
            self.on_progress(self.compared)

    # -- findings -------------------------------------------------------------------------

    def found(self, classification: str, object_type: str, **fields: Any) -> ReconcileFinding:
        self.counts[classification] += 1
        finding = ReconcileFinding(
            job_id=self.job.pk,
            cycle_id=self.cycle.pk,
            object_type=object_type,
            classification=classification,
            **fields,
        )
        finding.display = (finding.display or "")[:512]
        self.pending.append(finding)
        if len(self.sample) < SAMPLE_SIZE:
            self.sample.append(finding)
        if len(self.pending) >= FINDINGS_BATCH:
            self.flush()
        return finding

    def flush(self) -> None:
        if self.pending:
            ReconcileFinding.objects.bulk_create(self.pending, batch_size=FINDINGS_BATCH)
            self.pending = []

    # -- linked accounts ------------------------------------------------------------------

    def compare_linked(
        self,
        page: TargetPage,
        resource: dict[str, Any],
        link: ProvisionedObject,
        rules: MappingRules,
        repairer: DriftRepairer,
        insensitive: frozenset[str],
        members: dict[uuid.UUID, "GroupMembers"],
    ) -> None:
        object_type = page.object_type
        display_name = self.connector.display_name(object_type, resource)
        obj = page.sources.get(link.source_id) or missing_object(
            object_type, link.source_id, display_name
        )
        active = self.connector.is_active(object_type, resource)
        decision = decide_scope(
            obj, sync_all=self.ctx.sync_all, scoping_filters=rules.mapping.scoping_filters
        )
        if not decision.in_scope:
            if active:
                self.found(
                    ReconcileClass.ORPHANED,
                    object_type,
                    source_id=link.source_id,
                    target_id=link.target_id,
                    display=obj.display or display_name,
                    detail=decision.reason,
                    target_active=True,
                )
            else:
                self.counts[ReconcileClass.IN_SYNC] += 1
            return
        try:
            desired = repairer.evaluate(obj, for_create=False, reference_targets=page.references)
        except EvaluationError as error:
            self.found(
                ReconcileClass.DRIFTED,
                object_type,
                source_id=link.source_id,
                target_id=link.target_id,
                display=obj.display,
                detail=str(error),
                target_active=active,
                outcome=OUTCOME_FAILED,
            )
            return
        current = self.connector.read_attributes(object_type, resource, list(desired))
        diffs = differences(
            desired, current, case_insensitive=insensitive, secret_names=repairer.secret_names
        )
        to_add: list[str] = []
        to_remove: list[str] = []
        members_unread = ""
        group = members.get(link.source_id) if object_type == ObjectType.GROUP else None
        if group is not None:
            members_unread = group.unread
            to_add = sorted(group.wanted - group.actual)
            to_remove = sorted((group.actual & group.ours) - group.wanted)
        if not diffs and not to_add and not to_remove and not members_unread:
            self.counts[ReconcileClass.IN_SYNC] += 1
            return
        finding = self.found(
            ReconcileClass.DRIFTED,
            object_type,
            source_id=link.source_id,
            target_id=link.target_id,
            display=obj.display or display_name,
            differences=diffs + member_differences(to_add, to_remove),
            target_active=active,
            detail=members_unread,
        )
        if not self.repair:
            return
        if not rules.mapping.action_update:
            finding.detail = _("The Update action is off")
            return
        ok = not members_unread
        if diffs:
            work = self.work(obj, link, _("The target differs from the mappings"))
            work.desired = desired
            changes = {row["name"]: desired[row["name"]] for row in diffs}
            ok = repairer.repair_attributes(work, current, changes) and ok
        if to_add or to_remove:
            work = self.work(obj, link, _("The target's group members differ"))
            ok = repairer.repair_members(work, to_add, to_remove) and ok
        finding.outcome = OUTCOME_REPAIRED if ok else OUTCOME_FAILED

    def work(self, obj, link: ProvisionedObject, detail: str) -> Work:
        work = Work(obj=obj, link=link)
        work.steps.append(
            Step("Import", LogStatus.SUCCESS, _("Read back from the target by reconcile"))
        )
        work.steps.append(Step("Match", LogStatus.WARNING, detail))
        return work

    def member_batches(self, linked: list[tuple[dict[str, Any], ProvisionedObject]]):
        """A page's linked groups in batches of at most :data:`MEMBERS_BATCH` memberships
        (and :data:`MAX_GROUPS_BATCH` groups): a page of large groups is never held whole."""
        sizes = dict(
            GroupMembership.objects.filter(
                group_id__in=[link.source_id for _resource, link in linked],
                member_user__isnull=False,
            )
            .values("group_id")
            .annotate(n=Count("pk"))
            .values_list("group_id", "n")
        )
        batch: list[tuple[dict[str, Any], ProvisionedObject]] = []
        held = 0
        for resource, link in linked:
            size = sizes.get(link.source_id, 0)
            if batch and (held + size > MEMBERS_BATCH or len(batch) >= MAX_GROUPS_BATCH):
                yield batch
                batch, held = [], 0
            batch.append((resource, link))
            held += size
        if batch:
            yield batch

    def group_members(
        self, batch: list[tuple[dict[str, Any], ProvisionedObject]]
    ) -> dict[uuid.UUID, "GroupMembers"]:
        """For a batch of linked groups: the members the directory wants (their accounts'
        target ids), the members the target has (read concurrently when the job allows) and
        which of those this job provisioned."""
        wanted = self.desired_members([link.source_id for _resource, link in batch])
        outcomes = self.ctx.requests.run_all(
            [partial(self.connector.read_members, resource) for resource, _link in batch]
        )
        members: dict[uuid.UUID, GroupMembers] = {}
        for (_resource, link), (actual, error) in zip(batch, outcomes, strict=True):
            group = GroupMembers(wanted=wanted.get(link.source_id, set()))
            if error is None:
                group.actual = set(actual or [])
            elif isinstance(error, ConnectorError) and not error.stops_job:
                # Gone since the listing, or unreadable: compare what we can, touch no member.
                group.unread = _("The group's members could not be read: %(error)s") % {
                    "error": error.message
                }
                group.actual = set(group.wanted)
            else:
                raise error
            members[link.source_id] = group
        ours = self.linked_user_targets(set().union(*(g.actual for g in members.values())))
        for group in members.values():
            group.ours = group.actual & ours
        return members

    def desired_members(self, group_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        """For these groups: the target ids of their provisioned user members (one query)."""
        account = (
            ProvisionedObject.objects.filter(
                job=self.job,
                object_type=ObjectType.USER,
                source_id=OuterRef("member_user_id"),
                state=LinkState.PROVISIONED,
            )
            .exclude(target_id="")
            .values("target_id")[:1]
        )
        members: dict[uuid.UUID, set[str]] = {g: set() for g in group_ids}
        rows = (
            GroupMembership.objects.filter(group_id__in=group_ids, member_user__isnull=False)
            .annotate(target=Subquery(account))
            .filter(target__isnull=False)
            .values_list("group_id", "target")
        )
        for group_id, target in rows.iterator(chunk_size=5000):
            members[group_id].add(target)
        return members

    def linked_user_targets(self, target_ids: set[str]) -> set[str]:
        """Which of these target ids are accounts this job provisioned (members we own)."""
        found: set[str] = set()
        for chunk in chunked(sorted(target_ids), 2000):
            found.update(
                ProvisionedObject.objects.filter(
                    job=self.job, object_type=ObjectType.USER, target_id__in=chunk
                ).values_list("target_id", flat=True)
            )
        return found

    # -- unmanaged ------------------------------------------------------------------------

    def classify_unmanaged(
        self, object_type: str, rules: MappingRules, resources: list[dict[str, Any]]
    ) -> None:
        if not resources:
            return
        claims = self.would_claim(object_type, rules, resources)
        for resource in resources:
            target_id = str(resource["id"])
            claimed = claims.get(target_id)
            detail = ""
            if claimed:
                detail = _("Matches %(name)s in the directory: a cycle would claim it.") % {
                    "name": claimed
                }
            protected = self.connector.is_protected(object_type, resource)
            if protected:
                detail = _("Never disabled by reconcile: an administrator account of the target.")
            self.found(
                ReconcileClass.UNMANAGED,
                object_type,
                target_id=target_id,
                display=self.connector.display_name(object_type, resource),
                detail=detail,
                target_active=self.connector.is_active(object_type, resource),
                outcome=OUTCOME_PROTECTED if protected else "",
            )

    def would_claim(
        self, object_type: str, rules: MappingRules, resources: list[dict[str, Any]]
    ) -> dict[str, str]:
        """target id → the directory object its matching attribute names (Direct mappings)."""
        fields = USER_SOURCE_FIELDS if object_type == ObjectType.USER else GROUP_SOURCE_FIELDS
        model = DirectoryUser if object_type == ObjectType.USER else DirectoryGroup
        name_field = "user_principal_name" if object_type == ObjectType.USER else "display_name"
        remaining = {str(r["id"]): r for r in resources}
        claims: dict[str, str] = {}
        for rule in matching_rules(rules.rules):
            column = fields.get(rule.source) if rule.mapping_type == "Direct" else None
            if column is None or not remaining:
                continue
            values: dict[str, list[str]] = {}
            for target_id, resource in remaining.items():
                value = self.connector.read_attributes(object_type, resource, [rule.target]).get(
                    rule.target
                )
                if isinstance(value, str) and value:
                    values.setdefault(value.casefold(), []).append(target_id)
            if not values:
                continue
            rows = (
                model.objects.filter(deleted_at__isnull=True)
                .annotate(key=Lower(column))
                .filter(key__in=list(values))
                .values_list("key", name_field)
            )
            for key, name in rows:
                for target_id in values.get(str(key).casefold(), []):
                    claims.setdefault(target_id, str(name))
                    remaining.pop(target_id, None)
        return claims

    # -- missing --------------------------------------------------------------------------

    def find_missing(self, object_type: str, rules: MappingRules, repairer: DriftRepairer) -> None:
        """Links the complete listing did not mark, read back :data:`MISSING_CHUNK` at a time
        in key order (a re-created account's link changes while this runs: no open cursor)."""
        unlisted = (
            ProvisionedObject.objects.filter(
                job=self.job, object_type=object_type, state__in=LINKED_STATES
            )
            .exclude(target_id="")
            .exclude(reconciled_in=self.cycle.pk)
            .order_by("pk")
        )
        loader = load_users if object_type == ObjectType.USER else load_groups
        after = 0
        while True:
            chunk = list(unlisted.filter(pk__gt=after)[:MISSING_CHUNK])
            if not chunk:
                return
            after = chunk[-1].pk
            sources = loader(self.job.application_id, [link.source_id for link in chunk])
            for link in chunk:
                exported = link.last_exported or {}
                display = str(
                    exported.get("userName")
                    or exported.get("email")
                    or exported.get("displayName")
                    or link.source_id
                )
                obj = sources.get(link.source_id) or missing_object(
                    object_type, link.source_id, display
                )
                decision = decide_scope(
                    obj, sync_all=self.ctx.sync_all, scoping_filters=rules.mapping.scoping_filters
                )
                finding = self.found(
                    ReconcileClass.MISSING,
                    object_type,
                    source_id=link.source_id,
                    target_id=link.target_id,
                    display=obj.display or display,
                    detail="" if decision.in_scope else decision.reason,
                )
                if self.repair and decision.in_scope and rules.mapping.action_create:
                    finding.outcome = self.recreate(obj, link, repairer, object_type)
            repairer.persist()
            self.flush()
            self.heartbeat(0)  # renews the lease: many accounts may be gone

    def recreate(self, obj, link, repairer: DriftRepairer, object_type: str) -> str:
        """Match again or create again (the engine's recovery for a linked object gone)."""
        # A full (fresh) object: the manager and references as the cycle would resolve them.
        references = {}
        if obj.manager_id:
            references = dict(
                ProvisionedObject.objects.filter(
                    job=self.job, object_type=ObjectType.USER, source_id=obj.manager_id
                )
                .exclude(target_id="")
                .values_list("source_id", "target_id")
            )
        try:
            desired = repairer.evaluate(obj, for_create=True, reference_targets=references)
        except EvaluationError:
            return OUTCOME_FAILED
        work = self.work(obj, link, _("The linked account is gone from the target"))
        work.desired = desired
        work.action, work.log_action = "create", LogAction.CREATE
        repairer.recover_missing(work)
        if any(step.status == LogStatus.FAILURE for step in work.steps):
            return OUTCOME_FAILED
        if object_type == ObjectType.GROUP and work.link and work.link.target_id:
            wanted = self.desired_members([obj.source_id]).get(obj.source_id, set())
            if wanted:
                members_work = self.work(obj, work.link, _("Members of a re-created group"))
                if not repairer.repair_members(members_work, sorted(wanted), []):
                    return OUTCOME_FAILED
        return OUTCOME_REPAIRED

    # -- disables -------------------------------------------------------------------------

    def disable_removals(self) -> None:
        """Disable orphaned (when repairing) and unmanaged (when asked) active user accounts,
        or hold them all when they are more than the accidental-deletion threshold."""
        if self.ctx.rules_for(ObjectType.USER) is None:
            return
        classes = []
        if self.repair:
            classes.append(ReconcileClass.ORPHANED)
        if self.job.reconcile_disable_unmanaged:
            classes.append(ReconcileClass.UNMANAGED)
        if not classes:
            return
        candidates = ReconcileFinding.objects.filter(
            cycle=self.cycle,
            object_type=ObjectType.USER,
            classification__in=classes,
            target_active=True,
        ).exclude(outcome=OUTCOME_PROTECTED)
        total = candidates.count()
        if not total:
            return
        job = self.job
        if (
            job.prevent_accidental_deletion
            and not job.deletes_allowed_once
            and total > job.deletion_threshold
        ):
            self.hold(candidates, total)
            return
        rules = self.ctx.rules_for(ObjectType.USER)
        for chunk in chunked(candidates.order_by("pk").iterator(chunk_size=500), 500):
            repairer = DriftRepairer(self.ctx, rules)
            repairer.reason = unmanaged_disabled()
            links = {
                link.target_id: link
                for link in ProvisionedObject.objects.filter(
                    job=job,
                    object_type=ObjectType.USER,
                    target_id__in=[f.target_id for f in chunk],
                )
            }
            sources = load_users(job.application_id, [link.source_id for link in links.values()])
            for finding in chunk:
                link = links.get(finding.target_id)
                if finding.classification == ReconcileClass.ORPHANED and link is not None:
                    obj = sources.get(link.source_id) or missing_object(
                        ObjectType.USER, link.source_id, finding.display
                    )
                    work = self.work(obj, link, _("Still active in the target"))
                    work.steps.append(Step("Scope", LogStatus.SKIPPED, finding.detail))
                    work.action, work.log_action = "disable", LogAction.DISABLE
                    repairer.disable(work)
                    failed = any(s.status == LogStatus.FAILURE for s in work.steps)
                elif finding.classification == ReconcileClass.UNMANAGED:
                    failed = not self.disable_unmanaged(finding)
                else:
                    continue
                finding.outcome = OUTCOME_FAILED if failed else OUTCOME_DISABLED
            repairer.persist()
            ReconcileFinding.objects.bulk_update(chunk, ["outcome"])

    def disable_unmanaged(self, finding: ReconcileFinding) -> bool:
        started = time.monotonic()
        try:
            self.connector.disable(ObjectType.USER, finding.target_id)
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            self.ctx.recorder.log(
                object_type=ObjectType.USER,
                source_id=None,
                display=finding.display,
                target_id=finding.target_id,
                action=LogAction.DISABLE,
                status=LogStatus.FAILURE,
                steps=[Step("Action", LogStatus.FAILURE, error.message)],
                error_code=error.code,
                reason=error.message,
                started=started,
            )
            return False
        self.ctx.recorder.log(
            object_type=ObjectType.USER,
            source_id=None,
            display=finding.display,
            target_id=finding.target_id,
            action=LogAction.DISABLE,
            status=LogStatus.SUCCESS,
            steps=[Step("Action", LogStatus.SUCCESS, unmanaged_disabled())],
            properties=[{"name": "active", "old": True, "new": False}],
            reason=unmanaged_disabled(),
            started=started,
        )
        return True

    def hold(self, candidates, total: int) -> None:
        reason = _(
            "Held by the accidental-deletion guard: this reconcile would disable %(count)d "
            "accounts, more than the threshold of %(threshold)d. Use “Allow deletes” to go ahead."
        ) % {"count": total, "threshold": self.job.deletion_threshold}
        candidates.update(outcome=OUTCOME_HELD, detail=reason)
        self.counts["held"] = total
        self.ctx.recorder.log(
            object_type=ObjectType.USER,
            source_id=None,
            display=_("%(count)d accounts") % {"count": total},
            action=LogAction.STAGED_DELETE,
            status=LogStatus.SKIPPED,
            steps=[Step("Action", LogStatus.SKIPPED, reason)],
            reason=reason,
            recommendation=_(
                "Check the unmanaged and orphaned accounts on the Reconcile page. If the "
                "disables are intended, use “Allow deletes”."
            ),
        )
