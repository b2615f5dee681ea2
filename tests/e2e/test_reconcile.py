"""Reconcile in Chromium (issue 13, DESIGN B4): an account changed by hand in the target shows on
the Reconcile page after **Reconcile now**; with *Repair drift* chosen on the Provisioning tab the
next Reconcile now repairs it, and an auditor reads the page without the button."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from provisioning.choices import CycleKind, CycleState, ProvisioningMode
from provisioning.engine.cycle import run_cycle
from provisioning.models import ProvisionedObject, SyncCycle
from provisioning.services.applications import add_application
from tests.e2e.helpers import sign_in
from tests.factories import DirectoryUserFactory, assign
from tests.support.processes import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def reconciles_done(job) -> int:
    return SyncCycle.objects.filter(
        job=job,
        kind=CycleKind.RECONCILE,
        state__in=[CycleState.SUCCEEDED, CycleState.COMPLETED_WITH_FAILURES, CycleState.FAILED],
    ).count()


def reconcile_now(page, engine, job) -> None:
    before = reconciles_done(job)
    page.get_by_test_id("reconcile-now").click()
    expect(page.get_by_text("A reconcile was queued")).to_be_visible()
    wait_until(
        lambda: reconciles_done(job) > before,
        timeout=60,
        message=lambda: f"the reconcile never ended\n{engine.logs()}",
    )
    page.reload()


def test_drift_made_by_hand_is_shown_then_repaired_with_reconcile_now(
    page, engine, scim, make_login, screenshot
):
    make_login("rita", "admin")
    make_login("audrey", "auditor")
    application = add_application("scim", f"Reconciled {uuid.uuid4().hex[:4]}")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    alice = DirectoryUserFactory(
        user_principal_name="alice@contoso.example", display_name="Alice Liddell"
    )
    assign(application, alice)
    assert run_cycle(job, initial=True).cycle.state == CycleState.SUCCEEDED
    alice_id = ProvisionedObject.objects.get(job=job, source_id=alice.pk).target_id
    response = scim.request(
        "PATCH",
        f"/Users/{alice_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Changed by hand"}],
        },
        headers={"Content-Type": "application/scim+json"},
    )
    assert response.status_code in (200, 204)

    sign_in(page, "rita")
    page.goto(f"/apps/{application.pk}/")
    page.get_by_role("link", name="Reconcile", exact=True).click()
    expect(page.get_by_test_id("reconcile-last")).to_contain_text("Never")
    reconcile_now(page, engine, job)

    counts = page.get_by_test_id("reconcile-counts")
    expect(counts).to_contain_text("Drifted: 1")
    expect(counts).to_contain_text("In sync: 0")
    findings = page.get_by_test_id("reconcile-findings")
    expect(findings).to_contain_text("alice@contoso.example")
    expect(findings).to_contain_text("Changed by hand → Alice Liddell")
    screenshot(page, "reconcile-drift")
    assert scim.get_resource("Users", alice_id)["displayName"] == "Changed by hand"

    page.goto(f"/apps/{application.pk}/provisioning/")
    page.get_by_label("When a reconcile finds drift").select_option("RepairDrift")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages, [role=status], [role=alert]").first).to_be_visible()
    job.refresh_from_db()
    assert job.reconcile_repair == "RepairDrift"

    page.goto(f"/apps/{application.pk}/provisioning/reconcile/")
    reconcile_now(page, engine, job)

    expect(page.get_by_test_id("reconcile-findings")).to_contain_text("Repaired")
    assert scim.get_resource("Users", alice_id)["displayName"] == "Alice Liddell"
    page.get_by_role("link", name="Provisioning logs").click()
    expect(page.get_by_test_id("provisioning-logs")).to_contain_text("Drift repaired")

    page.context.clear_cookies()
    sign_in(page, "audrey")
    page.goto(f"/apps/{application.pk}/provisioning/reconcile/")
    expect(page.get_by_test_id("reconcile-counts")).to_contain_text("Drifted: 1")
    expect(page.get_by_test_id("reconcile-now")).to_have_count(0)
