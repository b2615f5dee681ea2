"""Reconcile (DESIGN B4) against the fake GoTo API (GoTo's Admin API cannot run here): drift
made by hand through the API is found and repaired; licences and admin roles are compared."""

import pytest
import requests

from provisioning.choices import CycleState, ProvisioningMode, ReconcileClass, ReconcileRepair
from provisioning.engine.cycle import run_cycle
from provisioning.models import ProvisionedObject, ReconcileFinding
from provisioning.reconcile.run import run_reconcile
from provisioning.services.applications import add_application
from tests.factories import DirectoryUserFactory, assign
from tests.fakes.goto_api import FAKE_ADMIN_EMAIL, FAKE_ADMIN_PASSWORD

pytestmark = pytest.mark.django_db


class GoToByHand:
    """An administrator changing users directly through GoTo's Admin API with requests."""

    def __init__(self, fake, connector, clock):
        self.fake = fake
        self.clock = clock  # the fake's rate window runs on the virtual clock: a second per call
        self.base = f"{fake.api_url}/accounts/{connector.account_key()}/users"
        self.headers = {"Authorization": f"Bearer {connector._access_token()}"}

    def put(self, key, **body):
        self.clock.advance(1.0)
        response = requests.put(f"{self.base}/{key}", json=body, headers=self.headers, timeout=5)
        assert response.status_code in (200, 204), response.text

    def delete(self, key):
        self.clock.advance(1.0)
        response = requests.delete(f"{self.base}/{key}", headers=self.headers, timeout=5)
        assert response.status_code == 204, response.text

    def post(self, email):
        self.clock.advance(1.0)
        response = requests.post(
            self.base,
            json={"users": [{"email": email, "firstName": "By", "lastName": "Hand"}]},
            headers=self.headers,
            timeout=5,
        )
        assert response.status_code == 201, response.text
        return response.json()[0]["key"]


@pytest.fixture
def setup(fake_goto, make_goto_connector, goto_clock):
    application = add_application("gotomeeting", "GTM")
    job = application.provisioning_job
    job.credentials = {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD}
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    grace = DirectoryUserFactory(
        user_principal_name="grace@contoso.example", given_name="Grace", surname="Hopper"
    )
    alan = DirectoryUserFactory(
        user_principal_name="alan@contoso.example", given_name="Alan", surname="Turing"
    )
    assign(application, grace, "User")
    assign(application, alan, "Administrator")
    connector = make_goto_connector()
    report = run_cycle(job, connector=connector, initial=True)
    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    keys = {
        u.user_principal_name: ProvisionedObject.objects.get(job=job, source_id=u.pk).target_id
        for u in (grace, alan)
    }
    return job, connector, GoToByHand(fake_goto, connector, goto_clock), keys


def reconcile(job, connector):
    job.refresh_from_db()
    report = run_reconcile(job, connector=connector)
    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    return report


def by_class(report, classification):
    return {
        f.display: f
        for f in ReconcileFinding.objects.filter(cycle=report.cycle, classification=classification)
    }


def test_names_licence_and_admin_role_changed_by_hand_are_drift_and_repaired(fake_goto, setup):
    job, connector, hand, keys = setup
    grace, alan = keys["grace@contoso.example"], keys["alan@contoso.example"]
    hand.put(grace, firstName="Gracie", licenseKeys=[], locale="fr_FR")
    hand.put(alan, adminRoles=[])

    report = reconcile(job, connector)

    drifted = by_class(report, ReconcileClass.DRIFTED)
    assert {
        d["name"]: (d["old"], d["new"]) for d in drifted["grace@contoso.example"].differences
    } == {
        "firstName": ("Gracie", "Grace"),
        "active": (False, True),
    }
    assert [
        (d["name"], d["old"], d["new"]) for d in drifted["alan@contoso.example"].differences
    ] == [("role", "User", "Administrator")]
    # The admin who signs in is unmanaged but protected.
    unmanaged = by_class(report, ReconcileClass.UNMANAGED)
    assert unmanaged[FAKE_ADMIN_EMAIL].outcome == "Protected"

    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    report = reconcile(job, connector)

    licence = fake_goto.g2m_licence_key()
    repaired = fake_goto.user_by_email("grace@contoso.example")
    assert repaired["firstName"] == "Grace"
    assert repaired["licenseKeys"] == [licence]
    assert repaired["locale"] == "fr_FR"  # not mapped: left alone
    assert fake_goto.user_by_email("alan@contoso.example")["adminRoles"] == ["MANAGE_USERS"]
    assert reconcile(job, connector).counts[ReconcileClass.IN_SYNC] == 2


def test_email_echoed_in_another_case_is_in_sync(setup):
    job, connector, hand, keys = setup
    hand.put(keys["grace@contoso.example"], email="GRACE@Contoso.Example")

    report = reconcile(job, connector)

    assert report.counts[ReconcileClass.IN_SYNC] == 2
    assert ReconcileClass.DRIFTED not in report.counts


def test_deleted_is_missing_and_added_by_hand_is_unmanaged(fake_goto, setup):
    job, connector, hand, keys = setup
    hand.delete(keys["alan@contoso.example"])
    hand.post("stranger@elsewhere.example")

    report = reconcile(job, connector)

    assert set(by_class(report, ReconcileClass.MISSING)) == {"alan@contoso.example"}
    assert set(by_class(report, ReconcileClass.UNMANAGED)) == {
        "stranger@elsewhere.example",
        FAKE_ADMIN_EMAIL,
    }

    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    reconcile(job, connector)

    alan = fake_goto.user_by_email("alan@contoso.example")
    assert alan is not None and alan["licenseKeys"] == [fake_goto.g2m_licence_key()]


def test_disable_unmanaged_respects_the_threshold_and_never_the_admin(fake_goto, setup):
    job, connector, hand, keys = setup
    licence = fake_goto.g2m_licence_key()
    strangers = [hand.post(f"hand{n}@elsewhere.example") for n in range(2)]
    for key in strangers:
        hand.put(key, licenseKeys=[licence])
    job.reconcile_disable_unmanaged = True
    job.deletion_threshold = 1
    job.save()

    report = reconcile(job, connector)

    assert {
        by_class(report, ReconcileClass.UNMANAGED)[f"hand{n}@elsewhere.example"].outcome
        for n in range(2)
    } == {"Held"}
    assert all(
        fake_goto.user_by_email(f"hand{n}@elsewhere.example")["licenseKeys"] for n in range(2)
    )

    job.deletion_threshold = 2
    job.save()
    reconcile(job, connector)

    assert all(
        fake_goto.user_by_email(f"hand{n}@elsewhere.example")["licenseKeys"] == [] for n in range(2)
    )
    admin = fake_goto.user_by_email(FAKE_ADMIN_EMAIL)
    assert admin["adminRoles"] == ["SUPER_USER"]
    assert fake_goto.user_by_email("grace@contoso.example")["licenseKeys"] == [licence]


def test_unassigned_but_still_licensed_is_orphaned_and_disabled_when_repairing(fake_goto, setup):
    from provisioning.models import Assignment

    job, connector, hand, keys = setup
    # Grace leaves the application and no cycle has run since: GoTo still licenses her.
    Assignment.objects.filter(user__user_principal_name="grace@contoso.example").delete()

    report = reconcile(job, connector)

    orphaned = by_class(report, ReconcileClass.ORPHANED)
    assert set(orphaned) == {"grace@contoso.example"}
    assert orphaned["grace@contoso.example"].target_active is True
    licence = fake_goto.g2m_licence_key()
    assert fake_goto.user_by_email("grace@contoso.example")["licenseKeys"] == [licence]

    job.reconcile_repair = ReconcileRepair.REPAIR_DRIFT
    job.save()
    report = reconcile(job, connector)

    assert by_class(report, ReconcileClass.ORPHANED)["grace@contoso.example"].outcome == "Disabled"
    assert fake_goto.user_by_email("grace@contoso.example")["licenseKeys"] == []
    assert fake_goto.user_by_email("alan@contoso.example")["licenseKeys"] == [licence]
