"""Django admin registrations. Secrets are never displayed: credentials are excluded."""

from django.contrib import admin

from . import models
from .reports.audit_events import audit_admin_changes


@admin.register(models.DirectoryUser)
class DirectoryUserAdmin(admin.ModelAdmin):
    list_display = (
        "display_name",
        "user_principal_name",
        "department",
        "account_enabled",
        "deleted_at",
    )
    list_filter = ("account_enabled", "department")
    search_fields = ("display_name", "user_principal_name", "mail", "employee_id")
    raw_id_fields = ("manager",)


class MembershipInline(admin.TabularInline):
    model = models.GroupMembership
    fk_name = "group"
    raw_id_fields = ("member_user", "member_group")
    extra = 0


@admin.register(models.DirectoryGroup)
class DirectoryGroupAdmin(admin.ModelAdmin):
    list_display = ("display_name", "mail", "security_enabled", "deleted_at")
    search_fields = ("display_name", "mail", "mail_nickname")
    inlines = [MembershipInline]


class AppRoleInline(admin.TabularInline):
    model = models.AppRole
    extra = 0


@admin.register(models.Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ("name", "template_slug", "created_at")
    search_fields = ("name",)
    inlines = [AppRoleInline]


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("application", "user", "group", "role", "created_at")
    list_filter = ("application",)
    raw_id_fields = ("user", "group")


@admin.register(models.ProvisioningJob)
class ProvisioningJobAdmin(admin.ModelAdmin):
    list_display = ("application", "mode", "status_on", "state", "next_run_at")
    list_filter = ("mode", "status_on", "state")
    # The encrypted credentials are never shown, not even masked: they are edited on the
    # Provisioning tab, which keeps a stored secret unless it is replaced.
    exclude = ("credentials",)
    readonly_fields = ("watermark", "lease_owner", "lease_expires_at", "quarantine_since")


class ReadOnlyAdminMixin:
    """Shown, never changed here: mappings, scoping filters and the target schema change only
    through the mapping editor, which validates, audits and requires an initial cycle
    (issue 10)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AttributeMappingInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = models.AttributeMapping
    extra = 0


@admin.register(models.ObjectMapping)
class ObjectMappingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "job", "object_type", "enabled")
    inlines = [AttributeMappingInline]


@admin.register(models.TargetAttribute)
class TargetAttributeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "job", "object_type", "type", "matching_supported", "origin")
    list_filter = ("object_type", "type", "origin")
    search_fields = ("name",)


@admin.register(models.ProvisionedObject)
class ProvisionedObjectAdmin(admin.ModelAdmin):
    list_display = ("job", "object_type", "source_id", "target_id", "state", "failure_count")
    list_filter = ("object_type", "state")
    search_fields = ("source_id", "target_id")


@admin.register(models.SyncCycle)
class SyncCycleAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "kind", "state", "started_at", "ended_at")
    list_filter = ("kind", "state")


@admin.register(models.ReconcileFinding)
class ReconcileFindingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What a reconcile found (issue 13): written by the reconcile only, shown here as on the
    Reconcile page; the reconcile itself is a cycle of kind *Reconcile* (Sync cycles)."""

    list_display = (
        "display",
        "classification",
        "object_type",
        "outcome",
        "target_id",
        "job",
        "cycle",
    )
    list_filter = ("classification", "object_type", "outcome")
    search_fields = ("display", "target_id")
    list_select_related = ("job__application", "cycle")


class AppendOnlyAdmin(admin.ModelAdmin):
    """Provisioning log entries and audit events are append-only (F25): shown, never changed."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.ProvisioningLogEntry)
class ProvisioningLogEntryAdmin(AppendOnlyAdmin):
    list_display = ("created_at", "application_name", "source_display", "action", "status")
    list_filter = ("action", "status")
    search_fields = ("source_display", "target_id")


@admin.register(models.AuditEvent)
class AuditEventAdmin(AppendOnlyAdmin):
    list_display = ("created_at", "actor_name", "channel", "application_name", "activity")
    list_filter = ("activity", "channel")


@admin.register(models.DirectoryChange)
class DirectoryChangeAdmin(admin.ModelAdmin):
    list_display = ("seq", "changed_object", "operation", "recorded_at")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


# Every change made through this admin to a portal model writes an audit event too (F25).
audit_admin_changes(admin.site)
