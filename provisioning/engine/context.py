"""What a cycle needs, loaded once: the job's mappings (expressions parsed), the connector, state."""

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from ..choices import ObjectType, ProvisioningScope
from ..connectors.base import Capabilities, Connector
from ..connectors.errors import ConnectorError, TransientError
from ..log_text import gettext as _  # step texts translated when read
from ..models import ObjectMapping, ProvisioningJob
from .evaluate import AttributeRule
from .inflight import RequestPool, sequential
from .match import MatchResult, PrefetchedLookups, TargetIndex, match_by_attributes
from .record import CycleRecorder

logger = logging.getLogger(__name__)

# A cycle in which more than this share of the users' matches failed sends no member removal:
# the members it cannot place might be exactly the ones it would remove (issue 9).
MATCH_FAILURE_SHARE = 0.05


@dataclass
class MappingRules:
    mapping: ObjectMapping
    rules: list[AttributeRule]

    @property
    def paths(self) -> list[str]:
        return [r.target for r in self.rules]

    @property
    def matching_paths(self) -> list[str]:
        return [r.target for r in self.rules if r.is_matching]


@dataclass
class CycleContext:
    job: ProvisioningJob
    connector: Connector
    capabilities: Capabilities
    recorder: CycleRecorder
    mappings: dict[str, MappingRules]
    initial: bool
    dry_run: bool = False
    use_target_index: bool = False
    now: datetime = field(default_factory=timezone.now)
    indexes: dict[str, TargetIndex] = field(default_factory=dict)
    # Bookkeeping between stages.
    newly_linked_users: set[uuid.UUID] = field(default_factory=set)
    deleted_user_targets: set[str] = field(default_factory=set)
    deferred_reference_users: set[uuid.UUID] = field(default_factory=set)
    pending_removals: list = field(default_factory=list)  # [(object_type, Work)]
    held_removals: int = 0
    on_demand: bool = False
    lease_owner: str = ""
    # Users disabled or enabled again in this cycle: their groups' members are written again.
    membership_users: set[uuid.UUID] = field(default_factory=set)
    # Matching: "index" (one listing), "filter" (one GET per object) or "none" (both failed).
    match_mode: dict[str, str] = field(default_factory=dict)
    match_errors: dict[str, ConnectorError] = field(default_factory=dict)
    match_attempts: Counter = field(default_factory=Counter)
    match_failures: Counter = field(default_factory=Counter)
    # What this cycle learnt about the target (merged into the job's target_learnt).
    unsupported: dict[str, set[str]] = field(default_factory=dict)
    known_unsupported: dict[str, set[str]] = field(default_factory=dict)
    group_links: list | None = None  # loaded when a user delete needs them
    # Requests in flight (issue 16): the pool connector calls are sent over.
    requests: RequestPool = field(default_factory=sequential)
    _lookups: dict[str, PrefetchedLookups] = field(default_factory=dict)

    @property
    def sync_all(self) -> bool:
        return self.job.scope == ProvisioningScope.ALL

    def rules_for(self, object_type: str) -> MappingRules | None:
        rules = self.mappings.get(object_type)
        if rules is None or not rules.mapping.enabled:
            return None
        return rules

    @property
    def groups_enabled(self) -> bool:
        return self.rules_for(ObjectType.GROUP) is not None

    def target_index(self, object_type: str) -> TargetIndex | None:
        if not self.use_target_index:
            return None
        return self._index(object_type)

    def _index(self, object_type: str) -> TargetIndex:
        if object_type not in self.indexes:
            rules = self.mappings[object_type]
            self.indexes[object_type] = TargetIndex(
                self.connector, object_type, rules.matching_paths, self.requests
            )
        return self.indexes[object_type]

    def find_match(
        self, object_type: str, rules: list[AttributeRule], desired: dict
    ) -> MatchResult:
        """Match by attributes, through one listing (initial cycles) or one filtered GET each.

        When one way fails, the other is tried, once, for the rest of the cycle; when both
        failed, matching of that type stops for the cycle and every later object fails at once
        (it is escrowed) without another request: never one listing per object.
        """
        self.match_attempts[object_type] += 1
        try:
            return self._find_match(object_type, rules, desired)
        except ConnectorError:
            self.match_failures[object_type] += 1
            raise

    def _find_match(self, object_type: str, rules, desired: dict) -> MatchResult:
        default = "index" if self.use_target_index else "filter"
        mode = self.match_mode.setdefault(object_type, default)
        if mode == "none":
            error = self.match_errors[object_type]
            raise TransientError(
                _("Matching is unavailable in this cycle: %(error)s") % {"error": error.message},
                code=error.code,
                http_status=error.http_status,
                detail=error.detail,
            )
        try:
            index = self._index(object_type) if mode == "index" else self.lookups(object_type)
            return match_by_attributes(self.connector, object_type, rules, desired, index)
        except ConnectorError as error:
            if error.stops_job:
                raise
            if not self.matching_failed(object_type, error, mode):
                raise
            return self._find_match(object_type, rules, desired)

    def matching_failed(
        self, object_type: str, error: ConnectorError, mode: str = "filter"
    ) -> bool:
        """One way of matching failed: switch to the other (True), or, when both failed, to
        none for the rest of the cycle (False)."""
        failed_before = object_type in self.match_errors
        self.match_errors[object_type] = error
        if failed_before:
            self.match_mode[object_type] = "none"
            logger.warning(
                "matching %s: listing and filtered lookups both failed; the remaining "
                "objects are escrowed (%s)",
                object_type,
                error,
            )
            return False
        other = "filter" if mode == "index" else "index"
        self.match_mode[object_type] = other
        logger.warning(
            "matching %s by %s failed (%s); falling back to %s", object_type, mode, error, other
        )
        return True

    def lookups(self, object_type: str) -> PrefetchedLookups:
        """Filtered lookups, sent concurrently ahead of planning a chunk (issue 16)."""
        if object_type not in self._lookups:
            self._lookups[object_type] = PrefetchedLookups(self.connector, object_type)
        return self._lookups[object_type]

    def matching_by_filter(self, object_type: str) -> bool:
        default = "index" if self.use_target_index else "filter"
        return self.match_mode.get(object_type, default) == "filter"

    @property
    def member_removal_blocked(self) -> bool:
        """True when too many user matches failed for any member removal to be trusted."""
        # The share of the users this cycle looked at (linked ones need no match).
        users = max(self.match_attempts[ObjectType.USER], self.recorder.counters.get("users", 0))
        failures = self.match_failures[ObjectType.USER]
        return failures > 0 and failures > MATCH_FAILURE_SHARE * users


def load_mapping_rules(job: ProvisioningJob) -> dict[str, MappingRules]:
    mappings = {}
    for mapping in job.mappings.prefetch_related("attributes"):
        rules = [AttributeRule.from_mapping(a) for a in mapping.attributes.all()]
        mappings[mapping.object_type] = MappingRules(mapping, rules)
    return mappings
