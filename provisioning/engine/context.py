"""What a cycle needs, loaded once: the job's mappings (expressions parsed), the connector, state."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from ..choices import ObjectType, ProvisioningScope
from ..connectors.base import Capabilities, Connector
from ..models import ObjectMapping, ProvisioningJob
from .evaluate import AttributeRule
from .match import TargetIndex
from .record import CycleRecorder


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
        if object_type not in self.indexes:
            rules = self.mappings[object_type]
            self.indexes[object_type] = TargetIndex(
                self.connector, object_type, rules.matching_paths
            )
        return self.indexes[object_type]


def load_mapping_rules(job: ProvisioningJob) -> dict[str, MappingRules]:
    mappings = {}
    for mapping in job.mappings.prefetch_related("attributes"):
        rules = [AttributeRule.from_mapping(a) for a in mapping.attributes.all()]
        mappings[mapping.object_type] = MappingRules(mapping, rules)
    return mappings
