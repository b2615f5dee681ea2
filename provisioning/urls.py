"""The portal's pages: Enterprise applications and each application's blade."""

from django.urls import path
from django.views.generic import RedirectView

from .views import (
    allow_deletes,
    application_list,
    assignment_add,
    attribute_mappings,
    audit_logs,
    directory_groups,
    directory_import,
    directory_users,
    favicon,
    gallery,
    goto_authorize,
    home,
    insights,
    mapping_editor,
    monitoring_logs,
    on_demand,
    overview,
    provisioning_logs,
    provisioning_tab,
    reconcile,
    restart,
    single_sign_on,
    sync_details,
    test_connection,
    users_and_groups,
)

APP = "apps/<int:application_id>/"

urlpatterns = [
    path("", home.home, name="home"),
    path("apps/", application_list.application_list, name="application-list"),
    path("apps/add/", gallery.gallery, name="application-add"),
    path(APP, overview.overview, name="application-overview"),
    path(f"{APP}users-and-groups/", users_and_groups.users_and_groups, name="users-and-groups"),
    path(f"{APP}users-and-groups/add/", assignment_add.assignment_add, name="assignment-add"),
    path(
        f"{APP}users-and-groups/role-check/",
        assignment_add.role_check,
        name="assignment-role-check",
    ),
    path(
        f"{APP}users-and-groups/<int:assignment_id>/remove/",
        users_and_groups.assignment_remove,
        name="assignment-remove",
    ),
    path(f"{APP}single-sign-on/", single_sign_on.single_sign_on, name="single-sign-on"),
    path(f"{APP}provisioning/", provisioning_tab.provisioning_tab, name="provisioning"),
    path(
        f"{APP}provisioning/test-connection/",
        test_connection.test_connection,
        name="test-connection",
    ),
    path(f"{APP}provisioning/sync-details/", sync_details.sync_details, name="sync-details"),
    path(f"{APP}provisioning/restart/", restart.restart, name="restart-provisioning"),
    path(
        f"{APP}provisioning/allow-deletes/",
        allow_deletes.allow_deletes_view,
        name="allow-deletes",
    ),
    path(
        f"{APP}provisioning/on-demand/",
        on_demand.provision_on_demand,
        name="provision-on-demand",
    ),
    path(
        f"{APP}provisioning/on-demand/<uuid:cycle_id>/",
        on_demand.on_demand_cycle,
        name="on-demand-cycle",
    ),
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/",
        attribute_mappings.attribute_mappings,
        name="attribute-mappings",
    ),
    # Issue 10: the mapping editor.
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/attributes/new/",
        mapping_editor.attribute_editor,
        name="attribute-editor-new",
    ),
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/attributes/<int:index>/",
        mapping_editor.attribute_editor,
        name="attribute-editor",
    ),
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/expression-check/",
        mapping_editor.expression_check,
        name="expression-check",
    ),
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/expression-test/",
        mapping_editor.expression_test,
        name="expression-test",
    ),
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/source-objects/",
        mapping_editor.source_object_search,
        name="source-object-search",
    ),
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/scope/",
        mapping_editor.scoping_filters,
        name="scoping-filters",
    ),
    path(
        f"{APP}provisioning/mappings/<slug:object_type>/target-schema/",
        mapping_editor.target_schema,
        name="target-schema",
    ),
    path(f"{APP}provisioning/schema/", mapping_editor.schema_document, name="schema-document"),
    path(f"{APP}provisioning-logs/", provisioning_logs.provisioning_logs, name="provisioning-logs"),
    path(
        f"{APP}provisioning-logs/<int:entry_id>/",
        provisioning_logs.provisioning_log_detail,
        name="provisioning-log-detail",
    ),
    path(f"{APP}audit-logs/", audit_logs.audit_logs, name="audit-logs"),
    path(f"{APP}provisioning/reconcile/", reconcile.reconcile, name="reconcile"),
    path(
        f"{APP}provisioning/authorize/",
        goto_authorize.goto_authorize,
        name="goto-authorize",
    ),
    path(
        f"{APP}provisioning/authorize/remove/",
        goto_authorize.goto_deauthorize,
        name="goto-deauthorize",
    ),
    path(
        "goto/authorize/callback/",
        goto_authorize.goto_authorize_callback,
        name="goto-authorize-callback",
    ),
    # Reports for auditors (issue 11): downloads, insights, and the tenant-wide Monitoring pages.
    path(
        f"{APP}provisioning-logs/download/",
        provisioning_logs.provisioning_logs_download,
        name="provisioning-logs-download",
    ),
    path(f"{APP}audit-logs/download/", audit_logs.audit_logs_download, name="audit-logs-download"),
    path(f"{APP}insights/", insights.insights, name="insights"),
    path(
        "monitoring/",
        RedirectView.as_view(pattern_name="monitoring-provisioning-logs"),
        name="monitoring",
    ),
    path(
        "monitoring/provisioning-logs/",
        monitoring_logs.monitoring_provisioning_logs,
        name="monitoring-provisioning-logs",
    ),
    path(
        "monitoring/provisioning-logs/download/",
        monitoring_logs.monitoring_provisioning_logs_download,
        name="monitoring-provisioning-logs-download",
    ),
    path(
        "monitoring/provisioning-logs/<int:entry_id>/",
        monitoring_logs.monitoring_provisioning_log_detail,
        name="monitoring-provisioning-log-detail",
    ),
    path("monitoring/insights/", insights.monitoring_insights, name="monitoring-insights"),
    path("monitoring/audit-logs/", audit_logs.monitoring_audit_logs, name="monitoring-audit-logs"),
    path(
        "monitoring/audit-logs/download/",
        audit_logs.monitoring_audit_logs_download,
        name="monitoring-audit-logs-download",
    ),
    path("favicon.ico", favicon.favicon, name="favicon"),
    # Directory (issue 15): users, deleted users, groups, bulk import.
    path("users/", directory_users.user_list, name="directory-users"),
    path("users/new/", directory_users.user_create, name="directory-user-create"),
    path("users/deleted/", directory_users.deleted_user_list, name="directory-deleted-users"),
    path("users/<uuid:user_id>/", directory_users.user_detail, name="directory-user"),
    path("users/<uuid:user_id>/edit/", directory_users.user_edit, name="directory-user-edit"),
    path(
        "users/<uuid:user_id>/<slug:action>/",
        directory_users.user_action,
        name="directory-user-action",
    ),
    path("groups/", directory_groups.group_list, name="directory-groups"),
    path("groups/new/", directory_groups.group_create, name="directory-group-create"),
    path("groups/<uuid:group_id>/", directory_groups.group_detail, name="directory-group"),
    path("groups/<uuid:group_id>/edit/", directory_groups.group_edit, name="directory-group-edit"),
    path(
        "groups/<uuid:group_id>/delete/",
        directory_groups.group_delete,
        name="directory-group-delete",
    ),
    path(
        "groups/<uuid:group_id>/members/add/",
        directory_groups.group_member_add,
        name="directory-group-member-add",
    ),
    path(
        "groups/<uuid:group_id>/members/remove/",
        directory_groups.group_member_remove,
        name="directory-group-member-remove",
    ),
    path("directory/import/", directory_import.import_upload, name="directory-import-upload"),
    path(
        "directory/import/<uuid:import_id>/",
        directory_import.import_status,
        name="directory-import",
    ),
    path(
        "directory/import/<uuid:import_id>/progress/",
        directory_import.import_progress,
        name="directory-import-progress",
    ),
    path(
        "directory/import/<uuid:import_id>/confirm/",
        directory_import.import_confirm,
        name="directory-import-confirm",
    ),
]
