"""/api/v1/: the resources of issue 14, the OpenAPI document and its browsable docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .views import applications, directory, provisioning, reports
from .views.not_found import api_not_found

APP = "applications/<int:application_id>/"
JOB = f"{APP}provisioning/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI with its start-up script served as a file (``?script``) and no inline style, so
    # the portal's Content-Security-Policy (no inline script or style) holds on this page too.
    # (Redoc is not offered: its page loads web fonts from a CDN and needs inline styles.)
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("gallery/", applications.GalleryList.as_view(), name="api-gallery"),
    path("gallery/<slug:slug>/", applications.GalleryDetail.as_view(), name="api-gallery-detail"),
    path("applications/", applications.ApplicationList.as_view(), name="api-applications"),
    path(APP, applications.ApplicationDetail.as_view(), name="api-application"),
    path(f"{APP}assignments/", applications.AssignmentList.as_view(), name="api-assignments"),
    path(
        f"{APP}assignments/<int:assignment_id>/",
        applications.AssignmentDetail.as_view(),
        name="api-assignment",
    ),
    path(JOB, provisioning.ProvisioningJobDetail.as_view(), name="api-job"),
    path(
        f"{JOB}credentials/",
        provisioning.ProvisioningCredentials.as_view(),
        name="api-job-credentials",
    ),
    path(
        f"{JOB}test-connection/",
        provisioning.TestConnection.as_view(),
        name="api-job-test-connection",
    ),
    path(f"{JOB}start/", provisioning.StartJob.as_view(), name="api-job-start"),
    path(f"{JOB}pause/", provisioning.PauseJob.as_view(), name="api-job-pause"),
    path(f"{JOB}restart/", provisioning.RestartJob.as_view(), name="api-job-restart"),
    path(
        f"{JOB}provision-on-demand/",
        provisioning.ProvisionOnDemand.as_view(),
        name="api-job-on-demand",
    ),
    path(f"{JOB}allow-deletes/", provisioning.AllowDeletes.as_view(), name="api-job-allow-deletes"),
    path(f"{JOB}schema/", provisioning.SchemaDocument.as_view(), name="api-job-schema"),
    path(f"{JOB}cycles/", provisioning.CycleList.as_view(), name="api-cycles"),
    path(f"{JOB}cycles/<uuid:cycle_id>/", provisioning.CycleDetail.as_view(), name="api-cycle"),
    path(
        f"{APP}provisioning-logs/",
        reports.ApplicationLogList.as_view(),
        name="api-application-logs",
    ),
    path(
        f"{APP}provisioning-logs/stream/",
        reports.ApplicationLogStream.as_view(),
        name="api-application-logs-stream",
    ),
    path("provisioning-logs/", reports.ProvisioningLogList.as_view(), name="api-logs"),
    path(
        "provisioning-logs/stream/", reports.ProvisioningLogStream.as_view(), name="api-logs-stream"
    ),
    path(
        "provisioning-logs/<int:entry_id>/", reports.ProvisioningLogDetail.as_view(), name="api-log"
    ),
    path("audit-events/", reports.AuditEventList.as_view(), name="api-audit-events"),
    path("directory/users/", directory.UserList.as_view(), name="api-users"),
    path("directory/users/<uuid:object_id>/", directory.UserDetail.as_view(), name="api-user"),
    path(
        "directory/users/<uuid:object_id>/restore/",
        directory.UserRestore.as_view(),
        name="api-user-restore",
    ),
    path("directory/groups/", directory.GroupList.as_view(), name="api-groups"),
    path("directory/groups/<uuid:object_id>/", directory.GroupDetail.as_view(), name="api-group"),
    path(
        "directory/groups/<uuid:object_id>/restore/",
        directory.GroupRestore.as_view(),
        name="api-group-restore",
    ),
    path(
        "directory/groups/<uuid:object_id>/members/",
        directory.GroupMemberList.as_view(),
        name="api-group-members",
    ),
    path(
        "directory/groups/<uuid:object_id>/members/<uuid:member_id>/",
        directory.GroupMemberDetail.as_view(),
        name="api-group-member",
    ),
    # Anything else under /api/v1/ answers in the API's error shape, not with an HTML page.
    re_path(r"^.*$", api_not_found, name="api-not-found"),
]
