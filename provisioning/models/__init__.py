"""The domain model of DESIGN §3, one concept per module."""

from .applications import DEFAULT_ACCESS_ROLE, Application, AppRole, Assignment
from .audit import AuditEvent
from .changes import DirectoryChange
from .cycles import SyncCycle
from .directory import DirectoryGroup, DirectoryUser, GroupMembership
from .jobs import AttributeMapping, ObjectMapping, ProvisioningJob
from .links import ProvisionedObject
from .logs import ProvisioningLogEntry
from .reconcile import ReconcileFinding

__all__ = [
    "DEFAULT_ACCESS_ROLE",
    "AppRole",
    "Application",
    "Assignment",
    "AttributeMapping",
    "AuditEvent",
    "DirectoryChange",
    "DirectoryGroup",
    "DirectoryUser",
    "GroupMembership",
    "ObjectMapping",
    "ProvisionedObject",
    "ProvisioningJob",
    "ProvisioningLogEntry",
    "SyncCycle",
    "ReconcileFinding",
]
