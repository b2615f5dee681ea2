"""Reconcile findings in the Django admin (issue 13): listed and shown, never added, changed
or deleted there (only a reconcile writes them)."""

import pytest
from django.contrib.auth import get_user_model

from provisioning.choices import CycleKind, CycleState, ObjectType, ReconcileClass
from provisioning.models import ReconcileFinding, SyncCycle
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def finding():
    job = make_application("scim", "Admin reconcile app").provisioning_job
    cycle = SyncCycle.objects.create(job=job, kind=CycleKind.RECONCILE, state=CycleState.SUCCEEDED)
    return ReconcileFinding.objects.create(
        job=job,
        cycle=cycle,
        object_type=ObjectType.USER,
        classification=ReconcileClass.DRIFTED,
        target_id="t-1",
        display="ada@contoso.example",
        differences=[{"name": "displayName", "old": "By hand", "new": "Ada"}],
    )


def test_the_admin_shows_reconcile_findings_read_only(client, finding):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(superuser)
    base = "/admin/provisioning/reconcilefinding/"

    changelist = client.get(base, {"classification__exact": ReconcileClass.DRIFTED})
    assert changelist.status_code == 200
    assert "ada@contoso.example" in changelist.content.decode()
    page = client.get(f"{base}{finding.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "By hand" in html
    assert 'name="_save"' not in html and "deletelink" not in html  # view only
    assert client.post(f"{base}{finding.pk}/change/", {"display": "x"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{finding.pk}/delete/", {"post": "yes"}).status_code == 403
    finding.refresh_from_db()
    assert finding.display == "ada@contoso.example"
