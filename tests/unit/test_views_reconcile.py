"""APP > Reconcile (DESIGN B4): counts per class, the findings filterable by class, Reconcile now."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import AuditActivity, CycleKind, CycleState, ObjectType, ReconcileClass
from provisioning.models import AuditEvent, ReconcileFinding, SyncCycle
from provisioning.roles import ensure_roles
from tests.factories import make_application

pytestmark = pytest.mark.django_db


def login(client, role: str):
    administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username=role)
    user.groups.add(administrators if role == "admin" else auditors)
    client.force_login(user)
    return user


@pytest.fixture
def app():
    return make_application("scim", "Contoso SCIM")


@pytest.fixture
def reconciled(app):
    job = app.provisioning_job
    cycle = SyncCycle.objects.create(
        job=job,
        kind=CycleKind.RECONCILE,
        state=CycleState.SUCCEEDED,
        ended_at=timezone.now(),
        counters={"classes": {"InSync": 7, "Drifted": 1, "Unmanaged": 1}},
    )
    ReconcileFinding.objects.create(
        job=job,
        cycle=cycle,
        object_type=ObjectType.USER,
        classification=ReconcileClass.DRIFTED,
        target_id="t-alice",
        display="alice@contoso.example",
        differences=[{"name": "displayName", "old": "Changed by hand", "new": "Alice"}],
    )
    ReconcileFinding.objects.create(
        job=job,
        cycle=cycle,
        object_type=ObjectType.USER,
        classification=ReconcileClass.UNMANAGED,
        target_id="t-stranger",
        display="stranger@elsewhere.example",
    )
    return cycle


def test_auditors_read_the_counts_and_the_differences_but_cannot_reconcile(client, app, reconciled):
    login(client, "auditor")
    url = reverse("reconcile", args=[app.pk])

    page = client.get(url).content.decode()

    assert "In sync: <strong>7</strong>" in page and "Drifted: <strong>1</strong>" in page
    assert "Changed by hand → Alice" in page and "stranger@elsewhere.example" in page
    assert 'data-testid="reconcile-now"' not in page
    assert client.post(url).status_code == 403


def test_the_list_filters_by_class(client, app, reconciled):
    login(client, "auditor")

    page = client.get(reverse("reconcile", args=[app.pk]), {"class": "Unmanaged"})

    text = page.content.decode()
    assert "stranger@elsewhere.example" in text and "alice@contoso.example" not in text


def test_reconcile_now_needs_credentials(client, app):
    login(client, "admin")

    response = client.post(reverse("reconcile", args=[app.pk]), follow=True)

    assert "Fill in and test the admin credentials first." in response.content.decode()


def test_the_blade_links_to_the_reconcile_page(client, app):
    login(client, "admin")

    page = client.get(reverse("application-overview", args=[app.pk])).content.decode()

    assert reverse("reconcile", args=[app.pk]) in page


def test_reconcile_now_is_audited_with_who_and_the_repair_setting(client, app, reconciled):
    job = app.provisioning_job
    job.credentials = {"tenant_url": "http://127.0.0.1:9/scim", "secret_token": "s3cr3t"}
    job.save()
    admin = login(client, "admin")
    client.post(reverse("reconcile", args=[app.pk]))
    event = AuditEvent.objects.get(activity=AuditActivity.RECONCILE_NOW)
    assert event.actor == admin and event.application_id == app.pk
    assert event.after == {"repair": "ReportOnly", "disable_unmanaged": False}
    assert "s3cr3t" not in str(event.after)
