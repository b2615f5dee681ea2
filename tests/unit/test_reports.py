"""Reports for auditors (issue 11): filters and keyset pages against a generated table, downloads
that parse back to the same rows, neutralised formula cells, insights that agree with the entries."""

import csv
import io
import json
import re
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import LogAction, LogStatus, ObjectType
from provisioning.models import ProvisioningLogEntry
from provisioning.reports.filters import ProvisioningLogFilterForm, select_entries
from provisioning.reports.insights import compute_insights
from provisioning.reports.paging import PAGE_SIZE
from provisioning.reports.writers import neutralise
from provisioning.roles import ensure_roles
from provisioning.services.retention import purge_provisioning_logs
from tests.factories import DirectoryUserFactory, make_application

pytestmark = pytest.mark.django_db

STATUSES = [LogStatus.SUCCESS, LogStatus.FAILURE, LogStatus.SKIPPED, LogStatus.WARNING]
ACTIONS = [LogAction.CREATE, LogAction.UPDATE, LogAction.DISABLE, LogAction.OTHER]
NOW = timezone.now().replace(minute=30, second=0, microsecond=0)


@pytest.fixture
def auditor(client):
    _administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="audrey")
    user.groups.add(auditors)
    client.force_login(user)
    return user


@pytest.fixture
def apps():
    return [make_application("scim", name) for name in ("Alpha", "Beta", "Gamma")]


def generate(apps, count=240):
    """``count`` entries, one every 20 minutes back from NOW, cycling through the values."""
    cycles = [uuid.uuid4() for _ in range(4)]
    entries = []
    for i in range(count):
        app = apps[i % len(apps)]
        status = STATUSES[i % 4]
        entries.append(
            ProvisioningLogEntry(
                created_at=NOW - timedelta(minutes=20 * i),
                job=app.provisioning_job,
                application_id=app.pk,
                application_name=app.name,
                cycle_id=cycles[i % 4],
                object_type=ObjectType.USER if i % 5 else ObjectType.GROUP,
                source_id=uuid.uuid4(),
                source_display=f"person{i:03}@contoso.example",
                target_id=f"t-{i:03}",
                action=ACTIONS[(i // 4) % 4],
                status=status,
                error_code="SCIM_400" if status == LogStatus.FAILURE else "",
                reason='=HYPERLINK("http://evil")' if i == 7 else f"reason {i}",
                steps=[{"name": "Import", "status": "Success", "detail": f"step of {i}"}],
                modified_properties=[{"name": "displayName", "old": None, "new": f"P {i}"}],
                duration_ms=i,
            )
        )
    return ProvisioningLogEntry.objects.bulk_create(entries), cycles


def select(data, application_id=None):
    form = ProvisioningLogFilterForm(data, tenant_wide=application_id is None)
    return select_entries(form, application_id=application_id, now=NOW)


def displays(queryset):
    return set(queryset.values_list("source_display", flat=True))


def test_each_filter_and_combinations_select_exactly_the_matching_entries(apps):
    entries, cycles = generate(apps)
    by = lambda test: {e.source_display for e in entries if test(e)}  # noqa: E731
    assert displays(select({"status": "Failure"})) == by(lambda e: e.status == "Failure")
    assert displays(select({"action": "Disable"})) == by(lambda e: e.action == "Disable")
    assert displays(select({"object_type": "Group"})) == by(lambda e: e.object_type == "Group")
    assert displays(select({"cycle_id": str(cycles[1])})) == by(lambda e: e.cycle_id == cycles[1])
    one = entries[17]
    assert displays(select({"change_id": str(one.change_id)})) == {one.source_display}
    assert displays(select({"identity": "person017@"})) == {"person017@contoso.example"}
    assert displays(select({"identity": str(one.source_id)})) == {one.source_display}
    assert displays(select({"identity": "t-017"})) == {one.source_display}
    assert displays(select({"application": str(apps[1].pk)})) == by(
        lambda e: e.application_id == apps[1].pk
    )
    combined = select({"status": "Failure", "application": str(apps[0].pk), "range": "24h"})
    assert displays(combined) == by(
        lambda e: (
            e.status == "Failure"
            and e.application_id == apps[0].pk
            and e.created_at >= NOW - timedelta(hours=24)
        )
    )
    # One application's page never shows another's entries, whatever the filter says.
    scoped = select({"application": str(apps[1].pk)}, application_id=apps[0].pk)
    assert set(scoped.values_list("application_id", flat=True)) == {apps[0].pk}


def test_identity_matches_a_display_name_from_the_directory(apps):
    entries, _cycles = generate(apps, 10)
    person = DirectoryUserFactory(display_name="Grace Hopper")
    ProvisioningLogEntry.objects.filter(pk=entries[3].pk).update(source_id=person.pk)
    assert displays(select({"identity": "grace hop"})) == {entries[3].source_display}


def test_date_range_boundaries_start_inclusive_end_exclusive(apps):
    generate(apps, 80)
    start = (NOW - timedelta(minutes=100)).strftime("%Y-%m-%dT%H:%M:%S")
    end = (NOW - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M:%S")
    chosen = displays(select({"range": "custom", "start": start, "end": end}))
    # Entries at -100, -80, -60 minutes; the one at -40 is the (exclusive) end.
    assert chosen == {"person005@contoso.example", "person004@contoso.example",
                      "person003@contoso.example"}  # fmt: skip
    last_day = displays(select({"range": "24h"}))
    assert "person072@contoso.example" in last_day  # exactly 24 h ago: included
    assert "person073@contoso.example" not in last_day
    invalid = ProvisioningLogFilterForm({"range": "custom", "start": end, "end": start})
    assert not invalid.is_valid()


def next_link(html, rel="next"):
    match = re.search(rf'href="\?([^"]*)" rel="{rel}"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_keyset_pages_walk_every_entry_once_across_equal_timestamps(auditor, client, apps):
    generate(apps, PAGE_SIZE * 2 + 1)
    # Equal timestamps at a page boundary: the id breaks the tie.
    ProvisioningLogEntry.objects.filter(
        source_display__in=[f"person{i:03}@contoso.example" for i in range(45, 56)]
    ).update(created_at=NOW - timedelta(hours=1))
    url = reverse("monitoring-provisioning-logs")
    seen, query, pages = [], "", 0
    while query is not None:
        html = client.get(url + "?" + query).content.decode()
        seen += re.findall(r"person\d{3}@contoso\.example", html)
        query = next_link(html)
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == PAGE_SIZE * 2 + 1


def test_monitoring_leads_to_the_tenant_wide_logs(auditor, client):
    response = client.get("/monitoring/")
    assert response.status_code == 302
    assert response["Location"] == reverse("monitoring-provisioning-logs")
    assert (
        'href="/monitoring/provisioning-logs/">Monitoring</a>' in client.get("/").content.decode()
    )


def test_the_tenant_wide_page_filters_by_application_and_opens_a_detail(auditor, client, apps):
    generate(apps, 12)
    html = client.get(
        reverse("monitoring-provisioning-logs") + f"?application={apps[2].pk}"
    ).content.decode()
    found = set(re.findall(r"person(\d{3})@", html))
    assert found == {f"{i:03}" for i in range(12) if i % 3 == 2}
    assert "Entries are kept for 30 days" in html
    entry = ProvisioningLogEntry.objects.filter(application_id=apps[2].pk).first()
    detail = client.get(reverse("monitoring-provisioning-log-detail", args=[entry.pk]))
    assert detail.status_code == 200 and str(entry.change_id) in detail.content.decode()


def download(client, url, query):
    response = client.get(url + "?" + query)
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content)


def test_csv_download_parses_back_to_exactly_the_filtered_rows(auditor, client, apps):
    entries, _cycles = generate(apps, 40)
    body = download(client, reverse("monitoring-provisioning-logs-download"), "status=Failure")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, rows = rows[0], rows[1:]
    expected = sorted(
        (e for e in entries if e.status == "Failure"), key=lambda e: (e.created_at, e.pk),
        reverse=True,
    )  # fmt: skip
    assert [r[header.index("Change id")] for r in rows] == [str(e.change_id) for e in expected]
    first = dict(zip(header, rows[0], strict=True))
    assert first["Identity"] == expected[0].source_display
    assert first["Status"] == "Failure" and first["Error code"] == "SCIM_400"
    assert json.loads(first["Modified properties"])[0]["name"] == "displayName"
    assert json.loads(first["Steps"])[0]["name"] == "Import"


def test_formula_cells_are_neutralised_in_csv(auditor, client, apps):
    generate(apps, 10)
    body = download(client, reverse("monitoring-provisioning-logs-download"), "identity=person007")
    [_header, row] = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert '\'=HYPERLINK("http://evil")' in row
    for prefix in "=+-@\t\r":
        assert neutralise(prefix + "x") == "'" + prefix + "x"
    assert neutralise("plain") == "plain" and neutralise(-3) == -3


def test_zipped_three_files_and_json_downloads_parse_back(auditor, client, apps):
    entries, _cycles = generate(apps, 25)
    url = reverse("provisioning-logs-download", args=[apps[0].pk])
    mine = [e for e in entries if e.application_id == apps[0].pk]
    archive = zipfile.ZipFile(io.BytesIO(download(client, url, "format=zip")))
    assert archive.namelist() == ["summary.csv", "steps.csv", "modified_properties.csv"]
    summary = list(csv.DictReader(io.StringIO(archive.read("summary.csv").decode("utf-8-sig"))))
    steps = list(csv.DictReader(io.StringIO(archive.read("steps.csv").decode("utf-8-sig"))))
    props = list(
        csv.DictReader(io.StringIO(archive.read("modified_properties.csv").decode("utf-8-sig")))
    )
    assert {r["Change id"] for r in summary} == {str(e.change_id) for e in mine}
    assert len(steps) == len(props) == len(mine)
    assert {r["Detail"] for r in steps} == {f"step of {i}" for i in range(25) if i % 3 == 0}

    array = json.loads(download(client, url, "format=json"))
    lines = [json.loads(line) for line in download(client, url, "format=ndjson").splitlines()]
    assert array == lines
    assert {item["change_id"] for item in array} == {str(e.change_id) for e in mine}
    assert array[0]["steps"][0]["name"] == "Import"
    assert client.get(url + "?format=exe").status_code == 400


def test_insights_numbers_agree_with_the_entries_and_follow_the_purge(auditor, client, apps):
    entries, _cycles = generate(apps, 240)  # 80 hours
    since, until = NOW - timedelta(days=4), NOW + timedelta(hours=1)
    data = compute_insights(since, until)
    in_range = [e for e in entries if e.created_at >= since.replace(minute=0)]
    assert data.total == len(in_range)
    for status in STATUSES:
        expected = sum(1 for e in in_range if e.status == status)
        assert sum(data.by_status.get(status.value, [])) == expected
    assert data.top_errors[0]["code"] == "SCIM_400"
    assert data.top_errors[0]["count"] == sum(1 for e in in_range if e.error_code == "SCIM_400")
    assert data.slowest[0]["duration_ms"] == max(e.duration_ms for e in in_range)
    assert data.cycles_by_day == []
    from provisioning.choices import CycleKind, CycleState
    from provisioning.models import SyncCycle

    for seconds in (10, 20, 60):
        cycle = SyncCycle.objects.create(
            job=apps[1].provisioning_job, kind=CycleKind.INCREMENTAL, state=CycleState.SUCCEEDED
        )
        start = NOW - timedelta(hours=1)
        SyncCycle.objects.filter(pk=cycle.pk).update(
            started_at=start, ended_at=start + timedelta(seconds=seconds)
        )
    [day] = compute_insights(since, until, application_id=apps[1].pk).cycles_by_day
    assert (day["count"], day["average"], day["max"]) == (3, 30.0, 60.0)
    assert compute_insights(since, until, application_id=apps[0].pk).cycles_by_day == []
    one_app = compute_insights(since, until, application_id=apps[1].pk)
    assert one_app.total == sum(1 for e in in_range if e.application_id == apps[1].pk)

    purge_provisioning_logs(2, now=NOW)
    kept = [e for e in in_range if e.created_at >= NOW - timedelta(days=2)]
    assert compute_insights(since, until).total == len(kept)

    html = client.get(reverse("monitoring-insights") + "?range=7d").content.decode()
    assert 'role="img"' in html and "chart-status-table" in html and "SCIM_400" in html
    page = client.get(reverse("insights", args=[apps[0].pk]))
    assert page.status_code == 200


@pytest.mark.postgres
def test_postgresql_copy_and_the_python_path_write_the_same_csv(apps):
    """On PostgreSQL the single CSV comes from COPY; elsewhere from Python: same cells."""
    from django.db import connection

    from provisioning.reports.exports import ENTRY_FIELDS, _summary_rows
    from provisioning.reports.pg_copy import entry_csv_lines
    from provisioning.reports.writers import csv_chunks

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    generate(apps, 30)
    odd = ProvisioningLogEntry.objects.first()
    odd.source_display = '-1+1 ünïcode, "quoted"\nnew line'
    odd.created_at = odd.created_at.replace(microsecond=0)
    odd.steps = [{"name": "Action", "status": "Failure", "detail": "@bad, really"}, "junk"]
    odd.modified_properties = [
        {"name": "members (added)", "old": None, "new": ["a", "b"]},
        {"name": "active", "old": True, "new": False},
        {"name": "count", "old": 1, "new": 2.5},
    ]
    odd.save()
    entries = ProvisioningLogEntry.objects.all()
    python = b"".join(csv_chunks([], _summary_rows(entries, with_details=True)))
    copied = b"".join(entry_csv_lines(entries, ENTRY_FIELDS))
    parse = lambda data: list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))  # noqa: E731
    python_rows, copied_rows = parse(python)[1:], parse(copied)
    assert len(copied_rows) == 30

    def comparable(rows):  # JSON columns compared as data (jsonb orders an object's keys)
        return [[*row[:-2], json.loads(row[-2]), json.loads(row[-1])] for row in rows]

    assert comparable(copied_rows) == comparable(python_rows)


def test_the_detail_shows_members_changed_as_names_not_ids(auditor, client, apps):
    from provisioning.models import ProvisionedObject

    app = apps[0]
    ada = DirectoryUserFactory(user_principal_name="ada@contoso.example")
    ProvisionedObject.objects.create(
        job=app.provisioning_job, object_type=ObjectType.USER, source_id=ada.pk, target_id="tid-ada"
    )
    entry = ProvisioningLogEntry.objects.create(
        created_at=NOW,
        job=app.provisioning_job,
        application_id=app.pk,
        application_name=app.name,
        object_type=ObjectType.GROUP,
        source_display="Team",
        action=LogAction.UPDATE,
        status=LogStatus.SUCCESS,
        modified_properties=[
            {"name": "members (added)", "old": None, "new": ["tid-ada", "tid-unknown"]},
            {"name": "members (removed)", "old": [], "new": None},
        ],
    )
    html = client.get(reverse("provisioning-log-detail", args=[app.pk, entry.pk])).content.decode()
    assert "ada@contoso.example, tid-unknown" in html
    assert "[&#x27;" not in html and "['" not in html
