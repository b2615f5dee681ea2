"""The portal's pages: Enterprise applications and each application's blade."""

from django.urls import path

from .views import (
    allow_deletes,
    application_list,
    assignment_add,
    attribute_mappings,
    audit_logs,
    gallery,
    goto_authorize,
    home,
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
]
