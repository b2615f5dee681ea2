"""Synchronization details (F14), quarantine and Allow deletes (F23), Restart and Provision on
demand (F13) as the pages drive them."""

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import (
    AuditActivity,
    CycleKind,
    CycleState,
    JobState,
    LogAction,
    LogStatus,
    ObjectType,
    ProvisioningMode,
)
from provisioning.models import AuditEvent, ProvisioningJob, ProvisioningLogEntry, SyncCycle
from provisioning.roles import ensure_roles
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryUserFactory,
    MembershipFactory,
    make_application,
)

pytestmark = pytest.mark.django_db


def login(client, role: str):
    administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username=f"{role}-user")
    user.groups.add(administrators if role == "admin" else auditors)
    client.force_login(user)
    return user


@pytest.fixture
def app():
    application = make_application("scim", "Contoso SCIM")
    job = application.provisioning_job
    job.mode = ProvisioningMode.AUTOMATIC
    job.credentials = {"tenant_url": "https://scim.contoso.example/v2", "secret_token": "tok"}
    job.save()
    return application


def quarantine(app, reason="TooManyDeletes"):
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        state=JobState.QUARANTINE,
        quarantine_reason=reason,
        quarantine_detail="12 disables exceed the threshold of 10.",
        quarantine_since=timezone.now(),
        status_on=True,
    )


def test_sync_details_show_progress_counts_and_the_cycle_logs_link(client, app):
    login(client, "auditor")
    started = timezone.now()
    cycle = SyncCycle.objects.create(
        job=app.provisioning_job,
        kind=CycleKind.INITIAL,
        state=CycleState.SUCCEEDED,
        progress_total=4,
        progress_done=4,
        counters={"Create": {"Success": 3, "Failure": 1}, "users": 4, "groups": 0},
    )
    SyncCycle.objects.filter(pk=cycle.pk).update(ended_at=started + timezone.timedelta(seconds=65))
    html = client.get(reverse("sync-details", args=[app.pk])).content.decode()
    assert "<html" not in html  # the fragment htmx swaps in
    assert "Initial cycle" in html and "Completed" in html
    assert 'value="100"' in html and "100%" in html
    assert '<th scope="row">Create</th><td class="num">3</td><td class="num">1</td>' in html
    assert f"?cycle_id={cycle.pk}" in html and "status=Failure" in html
    assert "1 min 5 s" in html


def test_a_running_cycle_makes_the_details_poll_fast(client, app):
    login(client, "auditor")
    SyncCycle.objects.create(
        job=app.provisioning_job,
        kind=CycleKind.INITIAL,
        state=CycleState.RUNNING,
        progress_total=10,
        progress_done=3,
    )
    html = client.get(reverse("sync-details", args=[app.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in html and "30%" in html and "In progress" in html


def test_the_quarantine_banner_gives_the_reason_and_allow_deletes_to_admins(client, app):
    quarantine(app)
    login(client, "admin")
    html = client.get(reverse("provisioning", args=[app.pk])).content.decode()
    assert "Provisioning is in quarantine." in html and "TooManyDeletes" in html
    assert "12 disables exceed the threshold of 10." in html
    assert "Allow deletes" in html


def test_auditors_see_the_quarantine_but_no_allow_deletes_button(client, app):
    quarantine(app)
    login(client, "auditor")
    html = client.get(reverse("application-overview", args=[app.pk])).content.decode()
    assert "Provisioning is in quarantine." in html and "Allow deletes</button>" not in html


def test_allow_deletes_releases_the_quarantine_and_is_audited(client, app):
    quarantine(app)
    admin = login(client, "admin")
    overview = reverse("application-overview", args=[app.pk])
    response = client.post(reverse("allow-deletes", args=[app.pk]), {"next": overview})
    assert response.status_code == 302 and response["Location"] == overview
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.deletes_allowed_once and job.state == JobState.ACTIVE
    assert AuditEvent.objects.filter(activity=AuditActivity.ALLOW_DELETES, actor=admin).exists()


def test_allow_deletes_never_redirects_off_site(client, app):
    quarantine(app)
    login(client, "admin")
    response = client.post(
        reverse("allow-deletes", args=[app.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("provisioning", args=[app.pk])


def test_restart_asks_for_confirmation_then_restarts_and_is_audited(client, app):
    quarantine(app, reason="EncounteredQuarantineException")
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        target_learnt={"unsupported_attributes": {"User": ["title"]}}
    )
    admin = login(client, "admin")
    url = reverse("restart-provisioning", args=[app.pk])
    page = client.get(url).content.decode()
    assert "Are you sure you want to restart provisioning?" in page
    assert client.post(url).status_code == 302
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert job.quarantine_reason == "" and job.full_sync_required and job.watermark is None
    assert job.target_learnt == {}
    assert AuditEvent.objects.filter(activity=AuditActivity.RESTART, actor=admin).exists()


def test_provision_on_demand_queues_a_cycle_and_opens_its_page(client, app):
    login(client, "admin")
    person = DirectoryUserFactory(user_principal_name="ada@contoso.example")
    response = client.post(
        reverse("provision-on-demand", args=[app.pk]), {"principal": f"user:{person.pk}"}
    )
    cycle = SyncCycle.objects.get(job=app.provisioning_job, kind=CycleKind.ON_DEMAND)
    assert cycle.state == CycleState.QUEUED
    assert response["Location"] == reverse("on-demand-cycle", args=[app.pk, cycle.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page and "Queued" in page


def test_a_group_of_more_than_five_members_is_refused_on_demand(client, app):
    login(client, "admin")
    group = DirectoryGroupFactory()
    for _ in range(6):
        MembershipFactory(group=group)
    response = client.post(
        reverse("provision-on-demand", args=[app.pk]), {"principal": f"group:{group.pk}"}
    )
    assert response.status_code == 200
    assert "at most 5 members" in response.content.decode()
    assert not SyncCycle.objects.filter(kind=CycleKind.ON_DEMAND).exists()


def test_the_on_demand_fragment_lists_the_steps_and_stops_polling_when_done(client, app):
    login(client, "auditor")
    cycle = SyncCycle.objects.create(
        job=app.provisioning_job, kind=CycleKind.ON_DEMAND, state=CycleState.SUCCEEDED
    )
    SyncCycle.objects.filter(pk=cycle.pk).update(ended_at=timezone.now())
    ProvisioningLogEntry.objects.create(
        created_at=timezone.now(),
        application_id=app.pk,
        application_name=app.name,
        cycle_id=cycle.pk,
        object_type=ObjectType.USER,
        source_id=uuid.uuid4(),
        source_display="ada@contoso.example",
        action=LogAction.CREATE,
        status=LogStatus.SUCCESS,
        steps=[
            {"name": "Import", "status": "Success", "detail": "Imported"},
            {"name": "Scope", "status": "Success", "detail": "In scope"},
            {"name": "Match", "status": "Success", "detail": "No match"},
            {"name": "Action", "status": "Success", "detail": "Created"},
        ],
    )
    html = client.get(
        reverse("on-demand-cycle", args=[app.pk, cycle.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in html and "hx-trigger" not in html
    for text in ("Import", "Determine if in scope", "Perform action", "ada@contoso.example"):
        assert text in html
