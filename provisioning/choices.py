"""Enumerations, named as the product names them (Azure's provisioning vocabulary)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ObjectType(models.TextChoices):
    USER = "User", _("User")
    GROUP = "Group", _("Group")


class ProvisioningMode(models.TextChoices):
    MANUAL = "Manual", _("Manual")
    AUTOMATIC = "Automatic", _("Automatic")


class ProvisioningScope(models.TextChoices):
    ASSIGNED = "assigned", _("Sync only assigned users and groups")
    ALL = "all", _("Sync all users and groups")


class JobState(models.TextChoices):
    NOT_CONFIGURED = "NotConfigured", _("Not configured")
    NOT_RUN = "NotRun", _("Not run")
    ACTIVE = "Active", _("Active")
    PAUSED = "Paused", _("Paused")
    QUARANTINE = "Quarantine", _("Quarantine")
    DISABLED = "Disabled", _("Disabled")


class QuarantineReason(models.TextChoices):
    BASE_ESCROW_THRESHOLD = "EncounteredBaseEscrowThreshold", _("Too many failures")
    TOTAL_ESCROW_THRESHOLD = "EncounteredTotalEscrowThreshold", _("Too many failures in total")
    ESCROW_PROPORTION_THRESHOLD = (
        "EncounteredEscrowProportionThreshold",
        _("Too high a proportion of failures"),
    )
    QUARANTINE_EXCEPTION = (
        "EncounteredQuarantineException",
        _("Invalid credentials or configuration"),
    )
    ON_DEMAND = "QuarantinedOnDemand", _("Quarantined on demand")
    TOO_MANY_DELETES = "TooManyDeletes", _("Too many deletions")


class MappingType(models.TextChoices):
    DIRECT = "Direct", _("Direct")
    CONSTANT = "Constant", _("Constant")
    EXPRESSION = "Expression", _("Expression")
    NONE = "None", _("None")


class ApplyMapping(models.TextChoices):
    ALWAYS = "Always", _("Always")
    ON_CREATE = "OnCreate", _("Only during object creation")


class LinkState(models.TextChoices):
    PROVISIONED = "Provisioned", _("Provisioned")
    DISABLED = "Disabled", _("Disabled")
    DELETED = "Deleted", _("Deleted")
    FAILED = "Failed", _("Failed")
    STAGED_DELETE = "StagedDelete", _("Staged delete")


class CycleKind(models.TextChoices):
    INITIAL = "initial", _("Initial cycle")
    INCREMENTAL = "incremental", _("Incremental cycle")
    ON_DEMAND = "on_demand", _("Provision on demand")
    RECONCILE = "reconcile", _("Reconcile")


class CycleState(models.TextChoices):
    QUEUED = "Queued", _("Queued")
    RUNNING = "Running", _("In progress")
    SUCCEEDED = "Succeeded", _("Completed")
    COMPLETED_WITH_FAILURES = "CompletedWithFailures", _("Completed with failures")
    FAILED = "Failed", _("Failed")
    ABANDONED = "Abandoned", _("Abandoned")


class LogAction(models.TextChoices):
    CREATE = "Create", _("Create")
    UPDATE = "Update", _("Update")
    DISABLE = "Disable", _("Disable")
    DELETE = "Delete", _("Delete")
    STAGED_DELETE = "StagedDelete", _("Staged delete")
    OTHER = "Other", _("Other")


class LogStatus(models.TextChoices):
    SUCCESS = "Success", _("Success")
    FAILURE = "Failure", _("Failure")
    SKIPPED = "Skipped", _("Skipped")
    WARNING = "Warning", _("Warning")


class AuditActivity(models.TextChoices):
    ADD_APPLICATION = "Add application", _("Add application")
    DELETE_APPLICATION = "Delete application", _("Delete application")
    UPDATE_SETTINGS = (
        "Update provisioning setting or credentials",
        _("Update provisioning setting or credentials"),
    )
    ENABLE = "Enable/start provisioning configuration", _("Enable/start provisioning configuration")
    DISABLE = (
        "Disable/pause provisioning configuration",
        _("Disable/pause provisioning configuration"),
    )
    RESTART = (
        "Enable/restart provisioning configuration",
        _("Enable/restart provisioning configuration"),
    )
    UPDATE_MAPPINGS = "Update attribute mappings or scope", _("Update attribute mappings or scope")
    ADD_ASSIGNMENT = "Add app role assignment", _("Add app role assignment")
    REMOVE_ASSIGNMENT = "Remove app role assignment", _("Remove app role assignment")
    ALLOW_DELETES = "Allow deletes", _("Allow deletes")
    PROVISION_ON_DEMAND = "Provision on demand", _("Provision on demand")
    # Issue 11: sign-ins, Test Connection and changes made through the Django admin.
    SIGN_IN = "Sign in", _("Sign in")
    TEST_CONNECTION = "Test connection", _("Test connection")
    ADMIN_ADD = "Add through the Django admin", _("Add through the Django admin")
    ADMIN_CHANGE = "Change through the Django admin", _("Change through the Django admin")
    ADMIN_DELETE = "Delete through the Django admin", _("Delete through the Django admin")
    # The directory (issue 15), named as Azure AD's audit log names them.
    ADD_USER = "Add user", _("Add user")
    UPDATE_USER = "Update user", _("Update user")
    DISABLE_ACCOUNT = "Disable account", _("Disable account")
    ENABLE_ACCOUNT = "Enable account", _("Enable account")
    DELETE_USER = "Delete user", _("Delete user")
    RESTORE_USER = "Restore user", _("Restore user")
    HARD_DELETE_USER = "Hard delete user", _("Hard delete user")
    ADD_GROUP = "Add group", _("Add group")
    UPDATE_GROUP = "Update group", _("Update group")
    DELETE_GROUP = "Delete group", _("Delete group")
    HARD_DELETE_GROUP = "Hard delete group", _("Hard delete group")
    ADD_MEMBER = "Add member to group", _("Add member to group")
    REMOVE_MEMBER = "Remove member from group", _("Remove member from group")
    IMPORT_DIRECTORY = "Bulk import users and groups", _("Bulk import users and groups")
    FAILED_SIGN_IN = "Failed sign-in", _("Failed sign-in")
    RECONCILE_NOW = "Reconcile now", _("Reconcile now")
    # Issue 10: the mapping editor.
    UPDATE_ATTRIBUTE_MAPPINGS = "Update attribute mappings", _("Update attribute mappings")
    UPDATE_SCOPING_FILTERS = "Update scoping filters", _("Update scoping filters")
    UPDATE_TARGET_SCHEMA = "Update target attribute list", _("Update target attribute list")


class ChangeOperation(models.TextChoices):
    INSERT = "I", _("Insert")
    UPDATE = "U", _("Update")
    DELETE = "D", _("Delete")


class ChangedObject(models.TextChoices):
    USER = "user", _("User")
    GROUP = "group", _("Group")
    MEMBERSHIP = "membership", _("Membership")
    ASSIGNMENT = "assignment", _("Assignment")


# Issue 10: the mapping editor.
class TargetAttributeType(models.TextChoices):
    STRING = "String", _("String")
    BOOLEAN = "Boolean", _("Boolean")
    INTEGER = "Integer", _("Integer")
    DECIMAL = "Decimal", _("Decimal")
    DATETIME = "DateTime", _("DateTime")
    REFERENCE = "Reference", _("Reference")
    BINARY = "Binary", _("Binary")


class TargetAttributeOrigin(models.TextChoices):
    DEFAULT = "default", _("Default attribute list")
    TARGET = "target", _("Read from the target's /Schemas")
    MANUAL = "manual", _("Added by an administrator")
    IMPORT = "import", _("Imported schema document")


class ReconcileClass(models.TextChoices):
    """How a reconcile (DESIGN B4) classifies an account it compared with the target."""

    IN_SYNC = "InSync", _("In sync")
    DRIFTED = "Drifted", _("Drifted")
    MISSING = "Missing", _("Missing")
    UNMANAGED = "Unmanaged", _("Unmanaged")
    ORPHANED = "Orphaned", _("Orphaned")


class ReconcileRepair(models.TextChoices):
    REPORT_ONLY = "ReportOnly", _("Report only")
    REPAIR_DRIFT = "RepairDrift", _("Repair drift")
