"""Who may see and change what (F27): every page needs a sign-in, auditors read without forms,
buttons or secrets, and every POST of an auditor is refused."""

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import CycleKind, CycleState, LogAction, LogStatus, ObjectType
from provisioning.models import ProvisioningJob, ProvisioningLogEntry, SyncCycle
from provisioning.roles import ensure_roles
from tests.factories import DirectoryUserFactory, assign, make_application

pytestmark = pytest.mark.django_db

SECRET = "super-secret-token-value"


@pytest.fixture
def app():
    application = make_application("scim", "Contoso SCIM")
    job = application.provisioning_job
    job.credentials = {"tenant_url": "https://scim.contoso.example/v2", "secret_token": SECRET}
    job.save()
    assign(application, DirectoryUserFactory())
    return application


@pytest.fixture
def log_entry(app):
    cycle = SyncCycle.objects.create(
        job=app.provisioning_job,
        kind=CycleKind.ON_DEMAND,
        state=CycleState.SUCCEEDED,
        counters={"Create": {"Success": 1}},
    )
    return ProvisioningLogEntry.objects.create(
        created_at=cycle.started_at,
        job=app.provisioning_job,
        application_id=app.pk,
        application_name=app.name,
        cycle_id=cycle.pk,
        object_type=ObjectType.USER,
        source_id=uuid.uuid4(),
        source_display="ada@contoso.example",
        target_id="t-1",
        action=LogAction.CREATE,
        status=LogStatus.SUCCESS,
        steps=[{"name": "Import", "status": "Success", "detail": "Imported"}],
    )


def make_login(username: str, group_name: str | None):
    administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username=username)
    if group_name == "admin":
        user.groups.add(administrators)
    elif group_name == "auditor":
        user.groups.add(auditors)
    return user


@pytest.fixture
def auditor_client(client):
    client.force_login(make_login("audrey", "auditor"))
    return client


@pytest.fixture
def admin_client(client):
    client.force_login(make_login("adam", "admin"))
    return client


def read_pages(app, log_entry) -> list[str]:
    cycle_id = log_entry.cycle_id
    return [
        reverse("home"),
        reverse("application-list"),
        reverse("application-overview", args=[app.pk]),
        reverse("users-and-groups", args=[app.pk]),
        reverse("single-sign-on", args=[app.pk]),
        reverse("provisioning", args=[app.pk]),
        reverse("sync-details", args=[app.pk]),
        reverse("attribute-mappings", args=[app.pk, "users"]),
        reverse("attribute-mappings", args=[app.pk, "groups"]),
        reverse("provisioning-logs", args=[app.pk]),
        reverse("provisioning-logs", args=[app.pk]) + f"?cycle_id={cycle_id}&status=Failure",
        reverse("provisioning-log-detail", args=[app.pk, log_entry.pk]),
        reverse("on-demand-cycle", args=[app.pk, cycle_id]),
        reverse("audit-logs", args=[app.pk]),
    ]


def change_urls(app) -> list[str]:
    assignment = app.assignments.first()
    return [
        reverse("application-add"),
        reverse("assignment-add", args=[app.pk]),
        reverse("assignment-remove", args=[app.pk, assignment.pk]),
        reverse("provisioning", args=[app.pk]),
        reverse("test-connection", args=[app.pk]),
        reverse("restart-provisioning", args=[app.pk]),
        reverse("allow-deletes", args=[app.pk]),
        reverse("provision-on-demand", args=[app.pk]),
    ]


def test_every_page_requires_sign_in(client, app, log_entry):
    for url in read_pages(app, log_entry) + change_urls(app):
        response = client.get(url)
        assert response.status_code in (302, 405), url
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login")), url


def test_the_auditor_reads_every_page_without_forms_buttons_or_secrets(
    auditor_client, app, log_entry
):
    for url in read_pages(app, log_entry):
        response = auditor_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert SECRET not in html, url
        # The only POST form is the sign-out in the top bar; the page body has none.
        main = html.split('<main id="main"', 1)[1] if "<main" in html else html
        assert 'method="post"' not in main, url
        body_buttons = re.findall(r"<button[^>]*>(.*?)</button>", main, re.S)
        allowed = {"Search", "Apply filters"}
        assert all(b.strip() in allowed for b in body_buttons), (url, body_buttons)


def test_the_auditor_sees_that_a_secret_is_set_but_never_its_value(auditor_client, app):
    html = auditor_client.get(reverse("provisioning", args=[app.pk])).content.decode()
    assert "••••" in html and SECRET not in html
    assert "Read-only" in html


@pytest.mark.parametrize("method", ["post"])
def test_every_post_of_an_auditor_is_refused_and_changes_nothing(
    auditor_client, app, method, log_entry
):
    job_before = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assignments_before = app.assignments.count()
    for url in change_urls(app):
        response = getattr(auditor_client, method)(
            url,
            {
                "mode": "Automatic",
                "status": "on",
                "principal": "x",
                "name": "X",
                "template": "scim",
            },
        )
        assert response.status_code == 403, url
    job_after = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job_after.credentials == job_before.credentials
    assert job_after.mode == job_before.mode and job_after.status_on == job_before.status_on
    assert app.assignments.count() == assignments_before


def test_pages_that_only_change_things_are_refused_to_auditors_even_to_read(auditor_client, app):
    for name in ("assignment-add", "restart-provisioning", "provision-on-demand"):
        assert auditor_client.get(reverse(name, args=[app.pk])).status_code == 403, name
    assert auditor_client.get(reverse("application-add")).status_code == 403


def test_a_signed_in_user_without_a_role_sees_nothing(client, app, log_entry):
    client.force_login(make_login("nobody", None))
    for url in read_pages(app, log_entry):
        assert client.get(url).status_code == 403, url


def test_the_administrator_reads_every_page_and_never_the_stored_secret(
    admin_client, app, log_entry
):
    for url in read_pages(app, log_entry) + [
        reverse("assignment-add", args=[app.pk]),
        reverse("restart-provisioning", args=[app.pk]),
        reverse("provision-on-demand", args=[app.pk]),
        reverse("application-add") + "?q=scim&template=scim",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url


def test_a_polling_fragment_after_the_session_ended_sends_the_page_to_sign_in(client, app):
    response = client.get(
        reverse("sync-details", args=[app.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver" + reverse("provisioning", args=[app.pk]),
    )
    assert response.status_code == 200
    page = reverse("provisioning", args=[app.pk])
    assert response["HX-Redirect"] == f"{reverse('login')}?next={page}"
