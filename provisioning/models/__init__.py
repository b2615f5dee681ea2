"""The domain model of DESIGN §3, one concept per module."""

from .api_tokens import ApiToken
from .applications import DEFAULT_ACCESS_ROLE, Application, AppRole, Assignment
from .audit import AuditEvent
from .changes import DirectoryChange
from .cycles import SyncCycle
from .directory import DirectoryGroup, DirectoryUser, GroupMembership
from .directory_imports import (
    DirectoryImport,
    DirectoryImportFile,
    DirectoryImportPhase,
    DirectoryImportState,
)
from .jobs import AttributeMapping, ObjectMapping, ProvisioningJob
from .links import ProvisionedObject
from .logs import ProvisioningLogEntry
from .reconcile import ReconcileFinding
from .security import EncryptionSentinel, ExternalIdentity, ServiceHeartbeat
from .target_schema import TargetAttribute

__all__ = [
    "ApiToken",
    "DEFAULT_ACCESS_ROLE",
    "AppRole",
    "Application",
    "Assignment",
    "AttributeMapping",
    "AuditEvent",
    "DirectoryChange",
    "DirectoryGroup",
    "DirectoryImport",
    "DirectoryImportFile",
    "DirectoryImportPhase",
    "DirectoryImportState",
    "DirectoryUser",
    "EncryptionSentinel",
    "ExternalIdentity",
    "GroupMembership",
    "ObjectMapping",
    "ProvisionedObject",
    "ProvisioningJob",
    "ProvisioningLogEntry",
    "ServiceHeartbeat",
    "SyncCycle",
    "TargetAttribute",
    "ReconcileFinding",
]
