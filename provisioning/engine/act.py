"""Stage 5, act: decide what each object needs and do it in the target.

For a chunk of source objects: scope each, evaluate and match the ones in scope, then send the
creates and updates together (as SCIM Bulk when the target offers it, B1), then the disables and
deletes. Objects whose representation did not change send nothing (diff-skip). Each outcome goes to
the recorder; object-level errors fail (and escrow) that object only, job-level errors
(credentials, configuration) stop the cycle.
"""

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from ..choices import LinkState, LogAction, LogStatus, ObjectType
from ..connectors.base import BulkOperation, BulkResult, CreateStarted
from ..connectors.errors import (
    AlreadyExistsError,
    ConnectorError,
    NotFoundError,
    PartlyCreatedError,
)
from ..log_text import gettext as _  # step texts translated when read
from ..models import ProvisionedObject
from ..security.redaction import protect_secret_values, secret_key_checker
from .context import CycleContext, MappingRules
from .evaluate import EvaluationError, attributes_hash, changed_attributes, evaluate_object
from .importing import SourceObject
from .match import AmbiguousMatch, MatchResult, match_by_attributes, matching_rules
from .record import Step, modified_properties, save_links
from .scope import decide_scope

ESCROW_BASE = timedelta(minutes=5)
ESCROW_MAX = timedelta(hours=24)


class StopCycle(Exception):
    """A job-level failure: the cycle stops (bad credentials, unusable configuration)."""

    def __init__(self, error: ConnectorError):
        super().__init__(str(error))
        self.error = error


def escrow_delay(failures: int) -> timedelta:
    return min(ESCROW_BASE * (2 ** max(0, failures - 1)), ESCROW_MAX)


@dataclass
class Work:
    """One object's way through the stages of this cycle."""

    obj: SourceObject
    link: ProvisionedObject | None
    started: float = field(default_factory=time.monotonic)
    steps: list[Step] = field(default_factory=list)
    action: str = ""  # create | update | disable | delete | ""
    desired: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, Any] = field(default_factory=dict)
    previous: dict[str, Any] = field(default_factory=dict)
    log_action: str = LogAction.OTHER
    bulk_id: str = ""

    @property
    def target_id(self) -> str:
        return self.link.target_id if self.link else ""


@dataclass
class PreparedChunk:
    """A chunk whose creates and updates are ready to send."""

    synchronizer: "ChunkSynchronizer"
    writes: list[Work]
    operations: list[BulkOperation]

    def send(self) -> tuple[list[BulkResult] | None, BaseException | None]:
        """Send the operations; returns (results, None), (None, the error), or — requests sent
        in parallel — the results that came back and the error that stops the cycle.
        Thread-safe: connectors never touch the database."""
        if not self.operations:
            return [], None
        ctx = self.synchronizer.ctx
        batch_size = 0 if ctx.capabilities.bulk else int(ctx.connector.create_batch_size or 0)
        if batch_size > 1:
            return self._send_with_batched_creates(batch_size)
        if ctx.capabilities.bulk or not ctx.requests.concurrent:
            try:
                return ctx.connector.bulk(self.operations), None
            except BaseException as error:  # handed to finish() in the cycle's own thread
                return None, error
        # No Bulk: one request per object, many in flight (issue 16). One object per call.
        run_one = ctx.connector.run_operation
        outcomes = ctx.requests.run_all([partial(run_one, op) for op in self.operations])
        results = [result for result, error in outcomes if error is None and result is not None]
        stop = next((error for _result, error in outcomes if error is not None), None)
        return results, stop

    def _send_with_batched_creates(
        self, batch_size: int
    ) -> tuple[list[BulkResult], BaseException | None]:
        """A target whose API adds a list of objects in one request (GoTo, issue 16): the
        creates go in batches of ``batch_size`` beside the updates (one object per call), then
        what each started create still needs (GoTo: its licence) goes one object per call. A
        batch's object is in no other call until its batch has answered."""
        ctx = self.synchronizer.ctx
        connector = ctx.connector
        creates = [op for op in self.operations if op.method.upper() == "POST"]
        others = [op for op in self.operations if op.method.upper() != "POST"]
        calls = [
            partial(connector.create_batch, creates[start : start + batch_size])
            for start in range(0, len(creates), batch_size)
        ]
        calls += [partial(connector.run_operation, op) for op in others]
        results: list[BulkResult] = []
        started: list[CreateStarted] = []
        stop: BaseException | None = None
        for answer, error in ctx.requests.run_all(calls):
            if error is not None:
                stop = stop or error
            for item in answer if isinstance(answer, list) else [answer]:
                if isinstance(item, CreateStarted):
                    started.append(item)
                elif isinstance(item, BulkResult):
                    results.append(item)
        outcomes: list[tuple[BulkResult | None, BaseException | None]]
        if started and stop is None:
            outcomes = ctx.requests.run_all([item.complete for item in started])
        else:
            outcomes = [(None, stop) for _item in started]
        for item, (result, error) in zip(started, outcomes, strict=True):
            if error is None and result is not None:
                results.append(result)
                continue
            stop = stop or error
            if item.target_id and error is not None:
                # The cycle stops: the object was created but not completed; it is linked (so
                # never created twice) and completed by a later cycle's update.
                results.append(
                    BulkResult(item.bulk_id, 0, item.target_id, error=_not_completed(item, error))
                )
        return results, stop


def _not_completed(item: CreateStarted, stop: BaseException) -> PartlyCreatedError:
    """The record of a create the target did part of before the cycle stopped."""
    reason = stop.message if isinstance(stop, ConnectorError) else str(stop)
    return PartlyCreatedError(
        _(
            "The object was created in the target, but the cycle stopped before the rest of "
            "its create was sent: %(reason)s"
        )
        % {"reason": reason},
        created_id=item.target_id,
        unapplied=item.pending,
        recommendation=_("Nothing to do: the next cycle completes it."),
        code="CreateNotCompleted",
    )


class ChunkSynchronizer:
    """Synchronizes one chunk of users or groups."""

    def __init__(self, ctx: CycleContext, rules: MappingRules, *, second_pass: bool = False):
        self.ctx = ctx
        self.rules = rules
        self.second_pass = second_pass  # references pass: the objects were counted already
        self.object_type = rules.mapping.object_type
        self.created_links: dict[uuid.UUID, ProvisionedObject] = {}
        self.changed_links: dict[uuid.UUID, ProvisionedObject] = {}
        self.deleted_links: list[ProvisionedObject] = []
        # Paths whose values came through Redact(): written to the target, masked in logs.
        self.redacted_paths: set[str] = set()
        self._secret_name = secret_key_checker(ctx.recorder.secret_names)

    # -- planning -------------------------------------------------------------------------

    def run(
        self,
        objects: list[SourceObject],
        links: dict[uuid.UUID, ProvisionedObject],
        reference_targets: dict[uuid.UUID, str],
    ) -> None:
        """Plan, send and record one chunk, here and now."""
        prepared = self.prepare(objects, links, reference_targets)
        self.finish(prepared, *prepared.send())

    def prepare(
        self,
        objects: list[SourceObject],
        links: dict[uuid.UUID, ProvisionedObject],
        reference_targets: dict[uuid.UUID, str],
    ) -> "PreparedChunk":
        """Scope, evaluate and match every object; build the chunk's creates and updates.

        What ``prepare`` returns can be sent from another thread (connectors never touch the
        database) while the next chunk is prepared; ``finish`` then records the outcome.
        """
        if self.ctx.requests.concurrent and self.ctx.matching_by_filter(self.object_type):
            self.prefetch_lookups(objects, links, reference_targets)
        works = [self.plan(obj, links.get(obj.source_id), reference_targets) for obj in objects]
        # Disables and deletes wait for the end of the cycle: the accidental-deletion guard
        # (F23) must see how many there are before any is done.
        self.ctx.pending_removals.extend(
            (self.object_type, w) for w in works if w.action in ("disable", "delete")
        )
        writes = [w for w in works if w.action in ("create", "update")]
        operations = []
        for number, work in enumerate(writes):
            work.bulk_id = f"b{number}"
            if work.action == "create":
                operations.append(
                    BulkOperation("POST", self.object_type, work.bulk_id, None, work.desired)
                )
            else:
                operations.append(
                    BulkOperation(
                        "PATCH", self.object_type, work.bulk_id, work.link.target_id, work.changes
                    )
                )
        return PreparedChunk(self, writes, operations)

    def prefetch_lookups(
        self,
        objects: list[SourceObject],
        links: dict[uuid.UUID, ProvisionedObject],
        reference_targets: dict[uuid.UUID, str],
    ) -> None:
        """Send the filtered lookups of the chunk's unlinked objects concurrently (issue 16):
        the first matching attribute of each, exactly what planning asks for first."""
        mapping = self.rules.mapping
        rules = matching_rules(self.rules.rules)
        if not rules:
            return
        lookups = []
        for obj in objects:
            link = links.get(obj.source_id)
            if link is not None and link.target_id:
                continue
            decision = decide_scope(
                obj, sync_all=self.ctx.sync_all, scoping_filters=mapping.scoping_filters
            )
            if decision.failed or not decision.in_scope:
                continue
            source = dict(obj.attributes)
            source["IsSoftDeleted"] = False
            source["appRoleAssignments"] = list(obj.roles)
            try:
                desired = evaluate_object(
                    self.rules.rules, source, for_create=True, reference_targets=reference_targets
                ).attributes
            except EvaluationError:
                continue  # planning logs it
            for rule in rules:
                value = desired.get(rule.target)
                if value not in (None, ""):
                    if isinstance(value, str | int | bool):
                        lookups.append((rule.target, value))
                    break
        if len(lookups) > 1:
            error = self.ctx.lookups(self.object_type).prefetch(self.ctx.requests, lookups)
            if isinstance(error, ConnectorError) and not error.stops_job:
                self.ctx.matching_failed(self.object_type, error)

    def finish(
        self,
        prepared: "PreparedChunk",
        results: list[BulkResult] | None,
        error: BaseException | None,
    ) -> None:
        """Record what the target answered to a prepared chunk, then save its links."""
        if error is not None and not isinstance(error, ConnectorError):
            raise error
        if results:
            # Requests sent in parallel: what came back is recorded even when another request
            # of the chunk stops the cycle, so nothing created is forgotten.
            by_bulk_id = {work.bulk_id: work for work in prepared.writes}
            try:
                for result in results:
                    work = by_bulk_id.get(result.bulk_id)
                    if work is not None:
                        self.complete_write(work, result)
            except StopCycle:
                self.persist()
                raise
        if error is not None:
            if error.stops_job:
                self.persist()
                raise StopCycle(error) from error
            # The whole batch failed in transit: every object in it fails and is escrowed.
            answered = {result.bulk_id for result in results or []}
            for work in prepared.writes:
                if work.bulk_id not in answered:
                    self.fail_with_connector_error(work, error)
        self.persist()

    def plan(
        self,
        obj: SourceObject,
        link: ProvisionedObject | None,
        reference_targets: dict[uuid.UUID, str],
    ) -> Work:
        work = Work(obj=obj, link=link)
        if not self.second_pass:
            self.ctx.recorder.count("users" if obj.object_type == ObjectType.USER else "groups")
        if obj.exists:
            work.steps.append(
                Step(
                    "Import",
                    LogStatus.SUCCESS,
                    _("Retrieved %(name)s from the directory") % {"name": obj.display},
                )
            )
        else:
            work.steps.append(
                Step("Import", LogStatus.SUCCESS, _("The object no longer exists in the directory"))
            )
        mapping = self.rules.mapping
        decision = decide_scope(
            obj, sync_all=self.ctx.sync_all, scoping_filters=mapping.scoping_filters
        )
        if decision.failed:  # issue 10: the object fails alone, nothing is disabled
            self.fail(work, "ScopingFilterError", decision.reason, _("Check the scoping filters."))
            return work
        if not decision.in_scope:
            work.steps.append(Step("Scope", LogStatus.SKIPPED, decision.reason))
            return self.plan_out_of_scope(work, decision.reason)
        work.steps.append(Step("Scope", LogStatus.SUCCESS, _("In scope")))

        linked = link is not None and bool(link.target_id)
        if linked and link.state == LinkState.STAGED_DELETE:
            # Back in scope while its removal was held: nothing to remove any more.
            link.state = LinkState.PROVISIONED
            link.next_retry_at = None
            self.ensure_link_tracked(link)
        try:
            desired = self.evaluate(obj, for_create=not linked, reference_targets=reference_targets)
        except EvaluationError as error:
            self.fail(work, "EvaluationError", str(error), _("Check the attribute mappings."))
            return work

        if not linked:
            try:
                match = self.ctx.find_match(self.object_type, self.rules.rules, desired)
            except AmbiguousMatch as error:
                self.fail(
                    work,
                    "AmbiguousMatch",
                    str(error),
                    _(
                        "Make the matching attribute unique in the target, or change the matching attributes."
                    ),
                )
                return work
            except ConnectorError as error:
                self.fail_with_connector_error(work, error)
                return work
            if match.target_id is None and link is not None and link.failure_count:
                # An earlier create of this object may have reached the target unanswered (and
                # the object renamed since): what it sent as externalId still finds it.
                external_id = desired.get("externalId")
                if external_id in (None, "") and self.object_type == ObjectType.GROUP:
                    external_id = str(obj.source_id)
                try:
                    match = self.find_by_external_id(external_id) or match
                except AmbiguousMatch as error:
                    self.fail(work, "AmbiguousMatch", str(error), "")
                    return work
                except ConnectorError as error:
                    self.fail_with_connector_error(work, error)
                    return work
            if match.target_id is None:
                work.steps.append(Step("Match", LogStatus.SUCCESS, match.detail))
                if not mapping.action_create:
                    work.steps.append(
                        Step("Action", LogStatus.SKIPPED, _("The Create action is off"))
                    )
                    self.log(
                        work,
                        LogAction.CREATE,
                        LogStatus.SKIPPED,
                        reason=_("The Create action is off"),
                    )
                    return work
                work.action, work.log_action = "create", LogAction.CREATE
                if self.object_type == ObjectType.GROUP and "externalId" not in desired:
                    # Groups have no unique name in most targets: the directory id sent as
                    # externalId is what finds a group whose create answer was lost.
                    desired["externalId"] = str(obj.source_id)
                work.desired = desired
                work.changes = desired
                return work
            work.steps.append(Step("Match", LogStatus.SUCCESS, match.detail))
            self.link_to(work, match)
            desired = self.evaluate(obj, for_create=False, reference_targets=reference_targets)
            current = self.ctx.connector.read_attributes(
                self.object_type, match.resource or {}, list(desired)
            )
            work.link.last_exported = protect_secret_values(
                {k: v for k, v in current.items() if k in desired}, self.is_secret_path
            )
        else:
            work.steps.append(
                Step(
                    "Match",
                    LogStatus.SUCCESS,
                    _("Linked to target object %(id)s") % {"id": link.target_id},
                )
            )

        work.desired = desired
        work.previous = dict(work.link.last_exported or {})
        work.changes = changed_attributes(desired, work.previous, self.is_secret_path)
        if work.link.state == LinkState.DISABLED:
            if self.ctx.connector.reenable_with_full_representation:
                # GoTo: a disable takes more than `active` away (the licence, admin roles).
                work.changes = dict(desired)
            # Else only what changed, and `active`: one attribute the target does not take
            # must not block the re-enable (issue 9).
            if "active" in self.rules.paths:
                work.changes["active"] = desired.get("active", True)
        unsupported = self.ctx.known_unsupported.get(self.object_type, set())
        if unsupported:
            work.changes = {k: v for k, v in work.changes.items() if k not in unsupported}
        if not work.changes:
            self.ctx.recorder.count("unchanged")
            if work.link.state == LinkState.FAILED or work.link.failure_count:
                self.clear_escrow(work.link)
            if self.ctx.on_demand:
                # Cycles only count no-ops (the logs would grow with them); on demand the person
                # who asked sees every step, as Azure shows "Skipped — no change".
                no_change = _("No change: the target object already has these values")
                work.steps.append(Step("Action", LogStatus.SKIPPED, no_change))
                self.log(work, LogAction.OTHER, LogStatus.SKIPPED, reason=no_change)
            return work
        if not mapping.action_update:
            work.steps.append(Step("Action", LogStatus.SKIPPED, _("The Update action is off")))
            self.log(
                work, LogAction.UPDATE, LogStatus.SKIPPED, reason=_("The Update action is off")
            )
            return work
        work.action, work.log_action = "update", LogAction.UPDATE
        return work

    def plan_out_of_scope(self, work: Work, reason: str) -> Work:
        link, obj, mapping = work.link, work.obj, self.rules.mapping
        if link is None or not link.target_id:
            if link is not None:
                # An escrowed failure of an object that left scope: nothing to retry any more.
                self.deleted_links.append(link)
            # Say why an object was passed over, except for groups nobody assigned: every
            # membership change in any group would otherwise log one.
            if obj.exists and (
                obj.object_type == ObjectType.USER or obj.assigned or self.ctx.sync_all
            ):
                self.log(work, LogAction.OTHER, LogStatus.SKIPPED, reason=reason)
            return work
        hard_deleted = not obj.exists
        if self.object_type == ObjectType.GROUP or (hard_deleted and mapping.action_delete):
            if not mapping.action_delete:
                self.log(
                    work, LogAction.DELETE, LogStatus.SKIPPED, reason=_("The Delete action is off")
                )
                return work
            work.action, work.log_action = "delete", LogAction.DELETE
            return work
        if link.state == LinkState.DISABLED:
            return work  # already disabled
        if not mapping.action_update:
            self.log(
                work, LogAction.DISABLE, LogStatus.SKIPPED, reason=_("The Update action is off")
            )
            return work
        work.action, work.log_action = "disable", LogAction.DISABLE
        return work

    def evaluate(self, obj: SourceObject, *, for_create: bool, reference_targets) -> dict[str, Any]:
        source = dict(obj.attributes)
        source["IsSoftDeleted"] = False
        source["appRoleAssignments"] = list(obj.roles)
        evaluated = evaluate_object(
            self.rules.rules, source, for_create=for_create, reference_targets=reference_targets
        )
        if evaluated.unresolved_references:
            self.ctx.deferred_reference_users.add(obj.source_id)
        self.redacted_paths.update(evaluated.redacted_paths)
        return evaluated.attributes

    # -- doing ----------------------------------------------------------------------------

    def complete_write(self, work: Work, result: BulkResult) -> None:
        error = result.error
        if error is None:
            if work.action == "create":
                self.created(work, result.target_id or (result.resource or {}).get("id", ""))
            else:
                self.updated(work)
            return
        if work.action == "create" and getattr(error, "created_id", None):
            self.created_with_failure(work, error)
            return
        if error.stops_job:
            raise StopCycle(error)
        if error.outcome_unknown and work.action == "create":
            self.recover_lost_create(work, error)
        elif error.outcome_unknown and work.action == "update":
            # A PATCH replays harmlessly: send it again, on its own.
            self.update_now(work, work.previous)
        elif work.action == "update" and _refused_as_unsupported(error) and work.changes:
            self.update_partially(work, error)
        elif isinstance(error, AlreadyExistsError) and work.action == "create":
            self.recover_conflict(work, error)
        elif isinstance(error, NotFoundError) and work.action == "update":
            self.recover_missing(work)
        elif work.action == "update" and getattr(error, "reason", None) == "noTarget":
            # A filtered path (emails[type eq "work"]) with no such item yet: the connector's
            # own update knows how to add the item instead of replacing into it.
            self.update_now(work, work.previous)
        else:
            self.fail_with_connector_error(work, error)

    def created(self, work: Work, target_id: str) -> None:
        if not target_id:
            self.fail(work, "MissingId", _("The target created the object but sent no id"), "")
            return
        link = self.ensure_link(work)
        link.target_id = str(target_id)
        self.set_exported(link, work.desired)
        if self.object_type == ObjectType.USER:
            self.ctx.newly_linked_users.add(work.obj.source_id)
        else:
            link.last_exported["members"] = []
        work.steps.append(
            Step("Action", LogStatus.SUCCESS, _("Created %(id)s") % {"id": target_id})
        )
        self.log(
            work,
            LogAction.CREATE,
            LogStatus.SUCCESS,
            properties=modified_properties({}, work.desired, self.secret_names),
        )

    def created_with_failure(self, work: Work, error: ConnectorError) -> None:
        """The target created the object but refused part of it (GoTo: the licence when no
        seat is free). The create is logged as done and the object linked, so it is never
        created twice; the refused attributes are logged as a failed update and retried."""
        self.created(work, error.created_id)
        unapplied = set(getattr(error, "unapplied", ()) or ())
        self.set_exported(work.link, {k: v for k, v in work.desired.items() if k not in unapplied})
        work.steps = []
        work.log_action = LogAction.UPDATE
        recommendation = getattr(error, "recommendation", "") or _recommendation(error)
        self.fail(work, error.code, describe_error(error), recommendation)

    def updated(self, work: Work) -> None:
        link = work.link
        if link.state == LinkState.DISABLED and self.object_type == ObjectType.USER:
            self.ctx.membership_users.add(work.obj.source_id)  # enabled again: its groups back
        exported = dict(link.last_exported or {})
        exported.update(work.changes)
        self.set_exported(link, exported)
        work.steps.append(
            Step(
                "Action",
                LogStatus.SUCCESS,
                _("Updated %(count)d attribute(s)") % {"count": len(work.changes)},
            )
        )
        self.log(
            work,
            LogAction.UPDATE,
            LogStatus.SUCCESS,
            properties=modified_properties(work.previous, work.changes, self.secret_names),
        )

    def recover_conflict(self, work: Work, error: ConnectorError) -> None:
        """409 on create: the object exists already; match it by attribute and update it."""
        try:
            match = match_by_attributes(
                self.ctx.connector, self.object_type, self.rules.rules, work.desired
            )
        except (AmbiguousMatch, ConnectorError) as lookup_error:
            self.fail(work, "AlreadyExists", f"{error.message} ({lookup_error})", "")
            return
        if match.target_id is None:
            self.fail_with_connector_error(work, error)
            return
        work.steps.append(
            Step(
                "Match",
                LogStatus.SUCCESS,
                _("The create answered “already exists”; ") + match.detail,
            )
        )
        self.link_to(work, match)
        current = self.ctx.connector.read_attributes(
            self.object_type, match.resource or {}, list(work.desired)
        )
        self.update_now(work, current)

    def recover_lost_create(self, work: Work, error: ConnectorError) -> None:
        """The create's answer was lost: never resend blindly, look the object up first.

        Found (by externalId, then the matching attributes): link it, bring it up to date and
        log the Create. Not found: create it once more (a POST is never retried), and if that
        answer is lost too, escrow the object; the next cycle matches before it creates.
        """
        work.steps.append(
            Step(
                "Action",
                LogStatus.WARNING,
                _("The answer to the create was lost (%(code)s); looking the object up")
                % {"code": error.code},
            )
        )
        try:
            match = self.lookup(work.desired)
        except (AmbiguousMatch, ConnectorError) as lookup_error:
            if isinstance(lookup_error, ConnectorError) and lookup_error.stops_job:
                raise StopCycle(lookup_error) from lookup_error
            self.fail(work, error.code, f"{describe_error(error)} ({lookup_error})", "")
            return
        if match.target_id is None:
            if _may_be_in_flight(error):
                # No answer at all (a timeout, a dropped connection, a gateway timeout): the
                # target may still be working on it, so a second create now could race it.
                # The next cycle looks it up again before it creates anything.
                self.fail(
                    work,
                    error.code,
                    _(
                        "%(error)s The object was not found in the target yet; it is looked up "
                        "again, before any new create, in a later cycle."
                    )
                    % {"error": describe_error(error)},
                    _("Nothing to do: the next cycle resolves it."),
                )
                return
            try:
                resource = self.ctx.connector.create(self.object_type, work.desired)
            except ConnectorError as again:
                if again.stops_job:
                    raise StopCycle(again) from again
                if isinstance(again, AlreadyExistsError):
                    self.recover_conflict(work, again)
                else:
                    self.fail_with_connector_error(work, again)
                return
            self.created(work, resource.get("id", ""))
            return
        work.steps.append(Step("Match", LogStatus.SUCCESS, match.detail))
        current = self.ctx.connector.read_attributes(
            self.object_type, match.resource or {}, list(work.desired)
        )
        changes = changed_attributes(work.desired, current)
        if changes:
            try:
                self.ctx.connector.update(self.object_type, match.target_id, changes, work.desired)
            except ConnectorError as update_error:
                if update_error.stops_job:
                    raise StopCycle(update_error) from update_error
                self.link_to(work, match)
                self.fail_with_connector_error(work, update_error)
                return
        self.created(work, match.target_id)
        if self.object_type == ObjectType.GROUP:
            members = self.ctx.connector.member_ids(match.resource or {})
            work.link.last_exported["members"] = sorted(members)

    def lookup(self, desired: dict[str, Any]) -> MatchResult:
        """Find an object this engine may have created: by externalId, else by matching."""
        found = self.find_by_external_id(desired.get("externalId"))
        if found is not None:
            return found
        return match_by_attributes(self.ctx.connector, self.object_type, self.rules.rules, desired)

    def find_by_external_id(self, external_id: Any) -> MatchResult | None:
        """The one target object carrying ``external_id`` (what the engine sends on create)."""
        if external_id not in (None, ""):
            try:
                found = self.ctx.connector.find(self.object_type, "externalId", external_id)
            except ConnectorError as error:
                if error.stops_job:
                    raise
                found = None  # the target cannot filter on externalId: match as usual
            if found is not None:
                # A target that ignores the filter must not make us link someone else's object.
                found = [r for r in found if str(r.get("externalId")) == str(external_id)]
            if found is not None and len(found) == 1:
                return MatchResult(
                    str(found[0]["id"]),
                    found[0],
                    _("Found by externalId = “%(value)s”") % {"value": external_id},
                )
            if found:
                raise AmbiguousMatch(
                    _("%(count)d target objects have externalId = “%(value)s”")
                    % {"count": len(found), "value": external_id}
                )
        return None

    def update_partially(self, work: Work, error: ConnectorError) -> None:
        """A PATCH refused because of attributes the target does not support (501, or 400
        naming the attribute): send the rest without them and remember them for the job."""
        changes = dict(work.changes)
        named = [p for p in changes if _names_attribute(error, p)]
        refused: list[str] = []
        other_error: ConnectorError | None = None
        if len(named) == 1 and len(changes) > 1:
            refused = named
            rest = {k: v for k, v in changes.items() if k not in refused}
            try:
                self.ctx.connector.update(self.object_type, work.link.target_id, rest, None)
            except ConnectorError as again:
                if again.stops_job:
                    raise StopCycle(again) from again
                other_error = again
        elif len(changes) == 1:
            if error.http_status == 501 or named:
                refused = list(changes)
            else:
                self.fail_with_connector_error(work, error)
                return
        elif len(changes) > 1:
            # Which attribute is unknown: one operation at a time.
            for path, value in changes.items():
                try:
                    self.ctx.connector.update(
                        self.object_type, work.link.target_id, {path: value}, None
                    )
                except ConnectorError as one:
                    if one.stops_job:
                        raise StopCycle(one) from one
                    if _refused_as_unsupported(one) and (
                        one.http_status == 501 or _names_attribute(one, path) or len(changes) == 1
                    ):
                        refused.append(path)
                    else:
                        other_error = one
        else:
            self.fail_with_connector_error(work, error)
            return
        for path in refused:
            self.note_unsupported(work, path, error)
        sent = {k: v for k, v in changes.items() if k not in refused}
        if other_error is not None:
            self.fail_with_connector_error(work, other_error)
            return
        work.changes = sent
        self.updated(work)

    def note_unsupported(self, work: Work, path: str, error: ConnectorError) -> None:
        """Log an attribute the target refuses, once per job and attribute (a warning)."""
        known = self.ctx.known_unsupported.setdefault(self.object_type, set())
        work.steps.append(
            Step(
                "Action",
                LogStatus.WARNING,
                _("The target does not support %(attribute)s; it is no longer sent")
                % {"attribute": path},
            )
        )
        if path in known:
            return
        known.add(path)
        self.ctx.unsupported.setdefault(self.object_type, set()).add(path)
        self.ctx.recorder.log(
            object_type=self.object_type,
            source_id=work.obj.source_id,
            display=work.obj.display or str(work.obj.source_id),
            target_id=work.target_id,
            action=LogAction.OTHER,
            status=LogStatus.WARNING,
            steps=[*work.steps],
            error_code=error.code,
            reason=_(
                "The target does not support the attribute %(attribute)s (%(error)s); "
                "it is left out of what this job sends."
            )
            % {"attribute": path, "error": error.message},
            recommendation=_(
                "Remove the attribute from the mapping, or check the target's configuration."
            ),
            started=work.started,
        )

    def recover_missing(self, work: Work) -> None:
        """404 on a linked object: match it again, else create it again."""
        try:
            match = match_by_attributes(
                self.ctx.connector, self.object_type, self.rules.rules, work.desired
            )
        except (AmbiguousMatch, ConnectorError) as error:
            self.fail(work, "NotFound", str(error), "")
            return
        if match.target_id is not None:
            work.steps.append(Step("Match", LogStatus.SUCCESS, match.detail))
            self.link_to(work, match)
            current = self.ctx.connector.read_attributes(
                self.object_type, match.resource or {}, list(work.desired)
            )
            self.update_now(work, current)
            return
        work.steps.append(
            Step(
                "Match",
                LogStatus.WARNING,
                _("The linked object is gone from the target; creating it again"),
            )
        )
        work.action, work.log_action = "create", LogAction.CREATE
        try:
            resource = self.ctx.connector.create(self.object_type, work.desired)
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            self.fail_with_connector_error(work, error)
            return
        self.created(work, resource.get("id", ""))

    def update_now(self, work: Work, current: dict[str, Any]) -> None:
        work.previous = current
        work.changes = changed_attributes(work.desired, current, self.is_secret_path)
        work.action, work.log_action = "update", LogAction.UPDATE
        if work.changes:
            try:
                self.ctx.connector.update(
                    self.object_type, work.link.target_id, work.changes, work.desired
                )
            except ConnectorError as error:
                if error.stops_job:
                    raise StopCycle(error) from error
                self.fail_with_connector_error(work, error)
                return
        self.updated(work)

    def disable(self, work: Work) -> None:
        error = None
        try:
            self.ctx.connector.disable(self.object_type, work.link.target_id)
        except ConnectorError as failure:
            error = failure
        self.disabled(work, error)

    def disabled(self, work: Work, error: ConnectorError | None) -> None:
        """Record a disable sent (here, or from a request thread) and its outcome."""
        try:
            if error is not None:
                raise error
        except NotFoundError:
            work.steps.append(Step("Action", LogStatus.WARNING, _("Already gone from the target")))
            self.deleted_links.append(work.link)
            self.log(
                work,
                LogAction.DISABLE,
                LogStatus.WARNING,
                reason=_("The object no longer exists in the target"),
            )
            return
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            self.fail_with_connector_error(work, error)
            return
        link = work.link
        previous = dict(link.last_exported or {})
        exported = dict(previous)
        exported["active"] = False
        self.set_exported(link, exported, state=LinkState.DISABLED)
        if self.object_type == ObjectType.USER:
            self.ctx.membership_users.add(work.obj.source_id)  # disabled: out of its groups
        reason = next((s.detail for s in work.steps if s.name == "Scope"), "")
        work.steps.append(
            Step("Action", LogStatus.SUCCESS, _("Disabled: %(reason)s") % {"reason": reason})
        )
        self.log(
            work,
            LogAction.DISABLE,
            LogStatus.SUCCESS,
            properties=[{"name": "active", "old": previous.get("active", True), "new": False}],
            reason=reason,
        )

    def delete(self, work: Work) -> None:
        try:
            if self.object_type == ObjectType.USER:
                from .memberships import remove_user_from_groups

                remove_user_from_groups(self.ctx, work.link.target_id)
            self.ctx.connector.delete(self.object_type, work.link.target_id)
        except ConnectorError as error:
            if error.stops_job:
                raise StopCycle(error) from error
            self.fail_with_connector_error(work, error)
            return
        if self.object_type == ObjectType.USER:
            self.ctx.deleted_user_targets.add(work.link.target_id)
        self.deleted_links.append(work.link)
        work.steps.append(
            Step("Action", LogStatus.SUCCESS, _("Deleted %(id)s") % {"id": work.link.target_id})
        )
        self.log(work, LogAction.DELETE, LogStatus.SUCCESS)

    # -- bookkeeping ----------------------------------------------------------------------

    @property
    def secret_names(self) -> tuple[str, ...]:
        return (*self.ctx.recorder.secret_names, *sorted(self.redacted_paths))

    def is_secret_path(self, path: str) -> bool:
        """Passwords and Redact()ed paths: last_exported keeps their fingerprint only."""
        return path in self.redacted_paths or self._secret_name(path)

    def ensure_link(self, work: Work) -> ProvisionedObject:
        if work.link is None:
            work.link = ProvisionedObject(
                job_id=self.ctx.job.pk,
                object_type=self.object_type,
                source_id=work.obj.source_id,
                last_exported={},
            )
            self.created_links[work.obj.source_id] = work.link
        elif work.obj.source_id not in self.created_links:
            self.changed_links[work.obj.source_id] = work.link
        return work.link

    def link_to(self, work: Work, match: MatchResult) -> None:
        link = self.ensure_link(work)
        link.target_id = match.target_id or ""
        link.state = LinkState.PROVISIONED
        if self.object_type == ObjectType.USER:
            self.ctx.newly_linked_users.add(work.obj.source_id)
        else:
            members = self.ctx.connector.member_ids(match.resource or {})
            link.last_exported = {"members": sorted(members)}

    def set_exported(
        self, link: ProvisionedObject, exported: dict, state: str = LinkState.PROVISIONED
    ) -> None:
        self.ensure_link_tracked(link)
        link.last_exported = exported = protect_secret_values(exported, self.is_secret_path)
        link.exported_hash = attributes_hash(exported)
        link.state = state
        link.failure_count = 0
        link.last_error = ""
        link.next_retry_at = None

    def ensure_link_tracked(self, link: ProvisionedObject) -> None:
        if link.source_id not in self.created_links:
            self.changed_links[link.source_id] = link

    def clear_escrow(self, link: ProvisionedObject) -> None:
        link.failure_count = 0
        link.last_error = ""
        link.next_retry_at = None
        if link.state == LinkState.FAILED and link.target_id:
            link.state = LinkState.PROVISIONED
        self.ensure_link_tracked(link)

    def fail_with_connector_error(self, work: Work, error: ConnectorError) -> None:
        if error.stops_job:
            raise StopCycle(error)
        self.fail(work, error.code, describe_error(error), _recommendation(error))

    def fail(self, work: Work, code: str, reason: str, recommendation: str) -> None:
        link = self.ensure_link(work)
        link.failure_count += 1
        link.last_error = f"{code}: {reason}"[:2000]
        link.next_retry_at = self.ctx.now + escrow_delay(link.failure_count)
        if not link.target_id:
            link.state = LinkState.FAILED
        # Failed and escrowed: the references pass must not try (and log, and count) it again.
        self.ctx.deferred_reference_users.discard(work.obj.source_id)
        work.steps.append(Step("Action", LogStatus.FAILURE, reason))
        self.log(
            work,
            work.log_action if work.action else LogAction.OTHER,
            LogStatus.FAILURE,
            error_code=code,
            reason=reason,
            recommendation=recommendation,
        )

    def log(self, work: Work, action: str, status: str, **kwargs) -> None:
        self.ctx.recorder.log(
            object_type=self.object_type,
            source_id=work.obj.source_id,
            display=work.obj.display or str(work.obj.source_id),
            target_id=work.target_id,
            action=action,
            status=status,
            steps=work.steps,
            started=work.started,
            **kwargs,
        )

    def persist(self) -> None:
        if not self.ctx.recorder.persist:
            return
        save_links(list(self.created_links.values()), list(self.changed_links.values()))
        if self.deleted_links:
            ids = [link.pk for link in self.deleted_links if link.pk]
            ProvisionedObject.objects.filter(pk__in=ids).delete()
        self.created_links, self.changed_links, self.deleted_links = {}, {}, []


def execute_removals(ctx: CycleContext) -> int:
    """Do the cycle's disables and deletes, or hold them all when they exceed the threshold.

    Returns the number held (0 when they were done).
    """
    pending, ctx.pending_removals = ctx.pending_removals, []
    if not pending:
        return 0
    job = ctx.job
    guarded = job.prevent_accidental_deletion and not ctx.on_demand and not job.deletes_allowed_once
    if guarded and len(pending) > job.deletion_threshold:
        return _hold_removals(ctx, pending)
    synchronizers: dict[str, ChunkSynchronizer] = {}
    for object_type, _work in pending:
        if object_type not in synchronizers:
            synchronizers[object_type] = ChunkSynchronizer(ctx, ctx.mappings[object_type])
    # Disables: one request per object, many in flight (issue 16), recorded here in order.
    disables = [(t, w) for t, w in pending if w.action == "disable"]
    outcomes = ctx.requests.run_all(
        [partial(ctx.connector.disable, t, w.link.target_id) for t, w in disables]
    )
    try:
        stop: StopCycle | None = None
        for (object_type, work), (_result, error) in zip(disables, outcomes, strict=True):
            if error is not None and not isinstance(error, ConnectorError):
                raise error
            try:
                synchronizers[object_type].disabled(work, error)
            except StopCycle as stopping:
                stop = stop or stopping  # the others' outcomes are recorded first
        if stop is not None:
            raise stop
        # Deletes one by one: a user's account first leaves the groups it was written into.
        for object_type, work in pending:
            if work.action != "disable":
                synchronizers[object_type].delete(work)
    finally:
        for sync in synchronizers.values():
            sync.persist()
    return 0


def _hold_removals(ctx: CycleContext, pending: list[tuple[str, "Work"]]) -> int:
    threshold = ctx.job.deletion_threshold
    reason = _(
        "Held by the accidental-deletion guard: this cycle would disable or delete %(count)d "
        "objects, more than the threshold of %(threshold)d. Use “Allow deletes” to go ahead."
    ) % {"count": len(pending), "threshold": threshold}
    changed = []
    for object_type, work in pending:
        link = work.link
        already_held = link.state == LinkState.STAGED_DELETE
        link.state = LinkState.STAGED_DELETE
        link.next_retry_at = None
        changed.append(link)
        if already_held:
            continue
        work.steps.append(Step("Action", LogStatus.SKIPPED, reason))
        ctx.recorder.log(
            object_type=object_type,
            source_id=work.obj.source_id,
            display=work.obj.display or str(work.obj.source_id),
            target_id=link.target_id,
            action=LogAction.STAGED_DELETE,
            status=LogStatus.SKIPPED,
            steps=work.steps,
            reason=reason,
            recommendation=_(
                "Check why so many objects left scope. If it is intended, use “Allow deletes”."
            ),
            started=work.started,
        )
    if ctx.recorder.persist:
        save_links([], changed)
    return len(pending)


def _may_be_in_flight(error: ConnectorError) -> bool:
    """True when no answer came back at all: the request may still be at work in the target."""
    return error.http_status == 504 or (
        error.http_status is None
        and (error.code == "Timeout" or error.code.startswith("Connection"))
    )


# SCIM error types that say the value is wrong, not that the attribute is unknown.
VALUE_ERRORS = frozenset({"noTarget", "invalidValue", "uniqueness", "invalidSyntax", "tooMany"})


def _refused_as_unsupported(error: ConnectorError) -> bool:
    """A refusal that may be about an attribute the target does not support: 501, or a 400
    whose SCIM error type is not about the value."""
    if error.retryable:
        return False
    return error.http_status == 501 or (
        error.http_status == 400 and error.reason not in VALUE_ERRORS
    )


def _names_attribute(error: ConnectorError, path: str) -> bool:
    text = f"{error.message} {error.detail}".casefold()
    leaf = path.rsplit(":", 1)[-1]
    return path.casefold() in text or (len(leaf) > 3 and leaf.casefold() in text)


def describe_error(error: ConnectorError) -> str:
    """The connector's message plus what the target said, for the log entry's reason."""
    detail = (error.detail or "").strip()
    if detail and detail not in error.message:
        return f"{error.message} {_('The target said:')} {detail[:500]}"
    return error.message


def _recommendation(error: ConnectorError) -> str:
    if error.retryable:
        return _("The target was unavailable; the object will be retried in a later cycle.")
    if isinstance(error, NotFoundError):
        return _("The object was not found in the target; it will be matched again.")
    return _(
        "Check the attribute values against what the target accepts; the object will be retried."
    )
