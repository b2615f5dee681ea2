"""The authorisation matrix: anonymous, auditor token, admin token, revoked token, expired token
× every endpoint and method. Auditors read and are refused every write with 403; a missing,
revoked or expired token is 401 with ``WWW-Authenticate: Bearer``; administrators get the
endpoint's answer. Also: the browser's session works with CSRF."""

import importlib.util
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from provisioning.choices import (
    CycleKind,
    CycleState,
    JobState,
    LinkState,
    LogAction,
    LogStatus,
    ObjectType,
)
from provisioning.models import (
    ApiToken,
    AuditEvent,
    GroupMembership,
    ProvisionedObject,
    ProvisioningJob,
    ProvisioningLogEntry,
    SyncCycle,
)
from tests.api.conftest import assert_error, make_login, token_client
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryUserFactory,
    assign,
    make_application,
)

pytestmark = pytest.mark.django_db

SCHEMA_MODULE = (
    importlib.util.find_spec("provisioning.mappings") is not None
    and importlib.util.find_spec("provisioning.mappings.schema_document") is not None
)
SCHEMA_STATUS = 200 if SCHEMA_MODULE else 501


@pytest.fixture
def world():
    app = make_application("scim", "Matrix app")
    job = app.provisioning_job
    job.credentials = {"tenant_url": "http://127.0.0.1:9/scim", "secret_token": "s3cr3t"}
    job.mode = "Automatic"
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.NOT_RUN)
    assigned = DirectoryUserFactory()
    spare = DirectoryUserFactory()
    assignment = assign(app, assigned)
    group = DirectoryGroupFactory()
    GroupMembership.objects.create(group=group, member_user=assigned)
    cycle = SyncCycle.objects.create(job=job, kind=CycleKind.INITIAL, state=CycleState.SUCCEEDED)
    entry = ProvisioningLogEntry.objects.create(
        created_at=timezone.now(),
        job=job,
        application_id=app.pk,
        application_name=app.name,
        cycle_id=cycle.pk,
        object_type=ObjectType.USER,
        source_id=assigned.pk,
        source_display=assigned.user_principal_name,
        action=LogAction.CREATE,
        status=LogStatus.SUCCESS,
    )
    # A deletion held by the accidental-deletion guard, so that Allow deletes has something to allow.
    ProvisionedObject.objects.create(
        job=job,
        object_type=ObjectType.USER,
        source_id=spare.pk,
        target_id="held-1",
        state=LinkState.STAGED_DELETE,
    )
    deleted_user = DirectoryUserFactory()
    deleted_user.soft_delete()
    deleted_group = DirectoryGroupFactory()
    deleted_group.soft_delete()
    return {
        "deleted_user": str(deleted_user.pk),
        "deleted_group": str(deleted_group.pk),
        "app": app.pk,
        "assignment": assignment.pk,
        "user": str(assigned.pk),
        "spare": str(spare.pk),
        "group": str(group.pk),
        "cycle": str(cycle.pk),
        "entry": entry.pk,
    }


A = "/api/v1/applications/{app}"
J = A + "/provisioning"
# (method, path template, body, administrator's status)
ENDPOINTS = [
    ("get", "/api/v1/gallery/", None, 200),
    ("get", "/api/v1/gallery/scim/", None, 200),
    ("get", "/api/v1/applications/", None, 200),
    ("post", "/api/v1/applications/", {"template": "scim", "name": "New"}, 201),
    ("get", A + "/", None, 200),
    ("delete", A + "/", None, 204),
    ("get", A + "/assignments/", None, 200),
    ("post", A + "/assignments/", {"user": "{spare}", "role": "User"}, 201),
    ("get", A + "/assignments/{assignment}/", None, 200),
    ("delete", A + "/assignments/{assignment}/", None, 204),
    ("get", J + "/", None, 200),
    ("patch", J + "/", {"interval_minutes": 30}, 200),
    ("put", J + "/credentials/", {"credentials": {"secret_token": "new"}}, 200),
    ("post", J + "/test-connection/", {}, 200),
    ("post", J + "/start/", None, 200),
    ("post", J + "/pause/", None, 200),
    ("post", J + "/restart/", {"reset_scope": ["Full"]}, 200),
    ("post", J + "/provision-on-demand/", {"user": "{user}"}, 202),
    ("post", J + "/allow-deletes/", None, 200),
    ("get", J + "/schema/", None, SCHEMA_STATUS),
    ("put", J + "/schema/", {}, 400 if SCHEMA_MODULE else 501),
    ("get", J + "/cycles/", None, 200),
    ("get", J + "/cycles/{cycle}/", None, 200),
    ("get", A + "/provisioning-logs/", None, 200),
    ("get", A + "/provisioning-logs/stream/", None, 200),
    ("get", "/api/v1/provisioning-logs/", None, 200),
    ("get", "/api/v1/provisioning-logs/stream/", None, 200),
    ("get", "/api/v1/provisioning-logs/{entry}/", None, 200),
    ("get", "/api/v1/audit-events/", None, 200),
    ("get", "/api/v1/directory/users/", None, 200),
    (
        "post",
        "/api/v1/directory/users/",
        {"user_principal_name": "new@contoso.example", "display_name": "New"},
        201,
    ),
    ("get", "/api/v1/directory/users/{user}/", None, 200),
    ("patch", "/api/v1/directory/users/{user}/", {"department": "Sales"}, 200),
    ("delete", "/api/v1/directory/users/{user}/", None, 204),
    ("post", "/api/v1/directory/users/{deleted_user}/restore/", None, 200),
    ("get", "/api/v1/directory/groups/", None, 200),
    ("post", "/api/v1/directory/groups/", {"display_name": "New group"}, 201),
    ("get", "/api/v1/directory/groups/{group}/", None, 200),
    ("patch", "/api/v1/directory/groups/{group}/", {"description": "x"}, 200),
    ("delete", "/api/v1/directory/groups/{group}/", None, 204),
    ("post", "/api/v1/directory/groups/{deleted_group}/restore/", None, 200),
    ("get", "/api/v1/directory/groups/{group}/members/", None, 200),
    ("post", "/api/v1/directory/groups/{group}/members/", {"user": "{spare}"}, 201),
    ("delete", "/api/v1/directory/groups/{group}/members/{user}/", None, 204),
]
IDENTITIES = ["anonymous", "auditor", "admin", "revoked", "expired"]


def client_for(identity: str) -> APIClient:
    if identity == "anonymous":
        return APIClient()
    role = "auditor" if identity == "auditor" else "admin"
    user = make_login(f"{identity}-user", role)
    if identity == "expired":
        return token_client(user, "old", expires_in=timedelta(seconds=-1))
    client = token_client(user, identity)
    if identity == "revoked":
        client.token.revoke()
    return client


def fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(
    "method,path,body,admin_status",
    ENDPOINTS,
    ids=[f"{m.upper()} {p}" for m, p, _b, _s in ENDPOINTS],
)
def test_authorisation_matrix(world, identity, method, path, body, admin_status):
    client = client_for(identity)
    url = fill(path, world)
    events_before = AuditEvent.objects.count()
    response = getattr(client, method)(url, fill(body, world), format="json")
    if identity in ("anonymous", "revoked", "expired"):
        error = assert_error(
            response, 401, "not_authenticated" if identity == "anonymous" else None
        )
        assert response["WWW-Authenticate"].startswith("Bearer")
        if identity == "revoked":
            assert "revoked" in error["message"]
        if identity == "expired":
            assert "expired" in error["message"]
        assert AuditEvent.objects.count() == events_before
    elif identity == "auditor" and method != "get":
        assert_error(response, 403, "permission_denied")
        assert AuditEvent.objects.count() == events_before
    elif identity == "auditor":
        assert response.status_code == admin_status, response.content[:300]
    else:
        assert response.status_code == admin_status, response.content[:300]
    if response.status_code < 300 and not getattr(response, "streaming", False):
        # No answer to anyone ever carries a stored secret.
        assert b"s3cr3t" not in response.content


def test_every_api_route_is_in_the_matrix():
    from provisioning.api.urls import urlpatterns

    routes = {str(p.pattern) for p in urlpatterns} - {"schema/", "docs/", "^.*$"}
    covered = {re.sub(r"\{\w+\}", "{}", path) for _m, path, _b, _s in ENDPOINTS}
    normalised = {
        re.sub(r"\{\w+\}", "{}", "/api/v1/" + re.sub(r"<(?:\w+:)?\w+>", "{}", route))
        for route in routes
    }
    # The gallery's detail is exercised with a real slug.
    covered = {path.replace("/gallery/scim/", "/gallery/{}/") for path in covered}
    assert normalised == covered


def test_a_token_is_stored_hashed_and_its_use_recorded(admin_user):
    client = token_client(admin_user, "ci")
    token = ApiToken.objects.get(pk=client.token.pk)
    assert client.plain not in (token.digest, token.prefix)
    assert token.last_used_at is None
    assert client.get("/api/v1/applications/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_follows_its_users_role():
    user = make_login("demoted", "admin")
    client = token_client(user, "t")
    assert (
        client.post("/api/v1/directory/groups/", {"display_name": "G"}, format="json").status_code
        == 201
    )
    user.groups.clear()
    assert_error(client.get("/api/v1/applications/"), 403, "permission_denied")


def test_a_malformed_or_unknown_bearer_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer")
    assert_error(client.get("/api/v1/applications/"), 401, "authentication_failed")
    client.credentials(HTTP_AUTHORIZATION="Bearer ppt_not-a-token")
    assert_error(client.get("/api/v1/applications/"), 401, "authentication_failed")


def test_the_browser_session_works_with_csrf(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get("/api/v1/applications/").status_code == 200
    refused = client.post("/api/v1/directory/groups/", {"display_name": "G"}, format="json")
    assert_error(refused, 403, "permission_denied")
    assert "CSRF" in refused.json()["error"]["message"]
    client.get("/accounts/login/")
    csrf = client.cookies["csrftoken"].value
    created = client.post(
        "/api/v1/directory/groups/", {"display_name": "G"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert created.status_code == 201
    make_application("scim", "Via session")
    app_id = make_application("scim", "Session app").pk
    client.delete(f"/api/v1/applications/{app_id}/", HTTP_X_CSRFTOKEN=csrf)
    assert AuditEvent.objects.filter(channel="api:session").exists()
