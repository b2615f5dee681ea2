"""The portal's pages: Enterprise applications and each application's blade."""

from django.urls import path

from .views import (
    allow_deletes,
    application_list,
    assignment_add,
    attribute_mappings,
    audit_logs,
    gallery,
    home,
    mapping_editor,
    on_demand,
    overview,
    provisioning_logs,
    provisioning_tab,
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
]
