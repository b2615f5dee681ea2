"""End to end in Chromium as the auditor (issue 11): Monitoring → Provisioning logs filtered by
date and status, one entry's details, a CSV download of the filtered set, Insights — with no
console error (the ``page`` fixture fails the test on any)."""

import csv
import io
import uuid
from datetime import timedelta

from django.utils import timezone

from provisioning.choices import LogAction, LogStatus, ObjectType
from provisioning.models import ProvisioningLogEntry
from tests.e2e.helpers import sign_in
from tests.factories import make_application


def entries_for(application, count: int, tag: str) -> list[ProvisioningLogEntry]:
    now = timezone.now()
    return ProvisioningLogEntry.objects.bulk_create(
        ProvisioningLogEntry(
            created_at=now - timedelta(hours=3 * i),  # two weeks back for 112 entries
            job=application.provisioning_job,
            application_id=application.pk,
            application_name=application.name,
            cycle_id=uuid.uuid4(),
            object_type=ObjectType.USER,
            source_id=uuid.uuid4(),
            source_display=f"{tag}{i:03}@contoso.example",
            target_id=f"t-{i}",
            action=LogAction.UPDATE,
            status=LogStatus.FAILURE if i % 2 else LogStatus.SUCCESS,
            error_code="SCIM_400" if i % 2 else "",
            reason="The target refused the request (HTTP 400)." if i % 2 else "",
            recommendation="Check the attribute mappings." if i % 2 else "",
            steps=[
                {"name": "Import", "status": "Success", "detail": "Retrieved"},
                {"name": "Action", "status": "Failure" if i % 2 else "Success", "detail": "PATCH"},
            ],
            modified_properties=[{"name": "displayName", "old": "A", "new": "B"}],
            duration_ms=10 * i,
        )
        for i in range(count)
    )


def test_the_auditor_filters_opens_downloads_and_reads_insights(page, make_login, screenshot):
    make_login("audrey", "auditor")
    tag = f"e2e{uuid.uuid4().hex[:5]}-"
    alpha = make_application("scim", f"Alpha {tag}")
    beta = make_application("scim", f"Beta {tag}")
    entries_for(alpha, 112, tag + "a")
    entries_for(beta, 60, tag + "b")

    sign_in(page, "audrey")
    page.get_by_role("link", name="Monitoring").click()
    page.get_by_role("heading", name="Monitoring: Provisioning logs").wait_for()
    page.get_by_label("Date", exact=True).select_option("7d")
    page.get_by_label("Status").select_option("Failure")
    page.get_by_label("Identity").fill(tag)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**range=7d**")
    table = page.get_by_test_id("provisioning-logs")
    rows = table.locator("tbody tr")
    # Failures within 7 days: odd i with 3*i < 168 h, in both applications.
    expected = {f"{tag}{app}{i:03}" for app in "ab" for i in range(1, 56, 2)}  # two pages
    shown, pages = set(), 0
    while True:
        pages += 1
        for text in rows.locator("td:nth-child(3)").all_inner_texts():
            shown.add(text.split("@")[0])
        nxt = page.get_by_role("link", name="Next")
        if not nxt.count():
            break
        nxt.click()
        page.wait_for_url("**after=**")
    assert shown == expected and pages == 2
    screenshot(page, "reports-monitoring-logs")

    page.get_by_role("link", name="Newest").click()
    page.get_by_test_id("provisioning-logs").locator("tbody tr a").first.click()
    page.get_by_role("heading", name="Troubleshooting and recommendations").wait_for()
    assert "Check the attribute mappings." in page.content()
    page.get_by_role("link", name="Back to the provisioning logs").click()

    with page.expect_download() as info:
        page.get_by_test_id("downloads").get_by_role("link", name="CSV", exact=True).click()
    path = info.value.path()
    with open(path, encoding="utf-8-sig", newline="") as stream:
        rows_csv = list(csv.DictReader(io.StringIO(stream.read())))
    assert {r["Identity"].split("@")[0] for r in rows_csv} == expected
    assert {r["Status"] for r in rows_csv} == {"Failure"}

    page.get_by_role("link", name="Insights").first.click()
    page.get_by_role("heading", name="Monitoring: Insights").wait_for()
    page.get_by_label("Date", exact=True).select_option("30d")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**range=30d**")
    assert page.locator("svg[role=img]").count() >= 2  # events by status, by action
    assert page.get_by_test_id("top-errors").get_by_text("SCIM_400").count() == 1
    page.get_by_text("Show the numbers as a table").first.click()
    assert page.get_by_test_id("chart-status-table").is_visible()
    screenshot(page, "reports-insights")

    page.goto(f"/apps/{alpha.pk}/insights/")
    page.get_by_role("heading", name="Events over time").wait_for()
