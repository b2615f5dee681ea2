"""Reports at a million entries (issue 11), on PostgreSQL.

Generates 1,000,000 provisioning log entries across 20 applications and 30 days with SQL
(``generate_series``: 100 s here with every index and the rollup triggers), plus the cycles,
then measures through Django's test client (the view, its queries and its template: server time):

- the provisioning logs list, tenant-wide and for one application, with no filter and with each
  filter alone, on the first page and on a deep page (the 20,000th, or the last the filter has);
- the Insights page for 30 days, tenant-wide and for one application;
- a CSV download of all 1,000,000 entries in a child process: time to the first bytes, rows per
  second, and the peak RSS over the process's idle size.

    .venv/bin/python bench/provisioning_logs.py [--entries 1000000] [--repeat 5] [--keep-db]

Results: a Markdown table on stdout and ``var/bench/provisioning_logs.json``; figures in
``docs/benchmarks.md``. The scratch database is ``bench_reports`` (dropped and created).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

DATABASE = "bench_reports"
APPLICATIONS = 20
DAYS = 30
PAGE = 50
DEEP_PAGE = 20_000


def configure() -> None:
    common.POSTGRES_DB = DATABASE
    common.configure_environment("postgres", "unused.sqlite3")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"


def generate(entries: int) -> dict:
    """Applications through the service, entries and cycles with one SQL statement each."""
    from django.db import connection

    from provisioning.services.applications import add_application

    apps = [add_application("scim", f"Bench app {n:02d}") for n in range(APPLICATIONS)]
    app_ids = [a.pk for a in apps]
    job_ids = [a.provisioning_job.pk for a in apps]
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO provisioning_provisioninglogentry (
                change_id, created_at, job_id, application_id, application_name, cycle_id,
                object_type, source_id, source_display, target_id, action, status, steps,
                modified_properties, error_code, reason, recommendation, duration_ms)
            SELECT
                gen_random_uuid(),
                now() - (i * (%(days)s * interval '1 day') / %(n)s),
                (%(jobs)s::bigint[])[1 + i %% %(apps)s],
                (%(ids)s::bigint[])[1 + i %% %(apps)s],
                'Bench app ' || lpad((i %% %(apps)s)::text, 2, '0'),
                md5('cycle' || (i %% %(apps)s)::text || '-' || (i / 2000)::text)::uuid,
                CASE WHEN (i / 140) %% 10 = 0 THEN 'Group' ELSE 'User' END,
                md5('user' || (i %% 50000)::text)::uuid,
                'user' || lpad((i %% 50000)::text, 6, '0') || '@contoso.example',
                'target-' || (i %% 50000)::text,
                (ARRAY['Create','Update','Update','Update','Disable','Delete','Other'])
                    [1 + (i / 20) %% 7],
                CASE WHEN (i / 20) %% 100 < 85 THEN 'Success'
                     WHEN (i / 20) %% 100 < 93 THEN 'Failure'
                     WHEN (i / 20) %% 100 < 98 THEN 'Skipped' ELSE 'Warning' END,
                '[{"name": "Import", "status": "Success", "detail": "Retrieved"},
                  {"name": "Scope", "status": "Success", "detail": "In scope"},
                  {"name": "Match", "status": "Success", "detail": "Linked"},
                  {"name": "Action", "status": "Success", "detail": "Updated 1 attribute(s)"}]'::jsonb,
                '[{"name": "displayName", "old": "Old name", "new": "New name"}]'::jsonb,
                CASE WHEN (i / 20) %% 100 BETWEEN 85 AND 92
                     THEN (ARRAY['SCIM_400','SCIM_409','Timeout','SCIM_500'])[1 + (i / 2000) %% 4]
                     ELSE '' END,
                CASE WHEN (i / 20) %% 100 BETWEEN 85 AND 92
                     THEN 'The target refused the request (HTTP 400).' ELSE '' END,
                '',
                (i::bigint * 7919) %% 5000
            FROM generate_series(0, %(n)s - 1) AS i
            """,
            {"n": entries, "days": DAYS, "apps": APPLICATIONS, "ids": app_ids, "jobs": job_ids},
        )
        cursor.execute(
            """
            INSERT INTO provisioning_synccycle (id, job_id, kind, state, started_at, ended_at,
                watermark_from, watermark_to, progress_total, progress_done, counters, error,
                worker)
            SELECT gen_random_uuid(), (%(jobs)s::bigint[])[1 + i %% %(apps)s], 'incremental',
                'Succeeded', now() - i * interval '2 minutes',
                now() - i * interval '2 minutes' + ((i %% 90) + 5) * interval '1 second',
                0, 0, 100, 100, '{}'::jsonb, '', 'bench'
            FROM generate_series(0, %(cycles)s - 1) AS i
            """,
            {"jobs": job_ids, "apps": APPLICATIONS, "cycles": DAYS * 24 * 30},
        )
        cursor.execute("ANALYZE")
    return {"apps": app_ids, "seconds": time.monotonic() - started}


def auditor_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from provisioning.roles import ensure_roles

    _admins, auditors = ensure_roles()
    user, _ = get_user_model().objects.get_or_create(username="bench-auditor")
    user.groups.add(auditors)
    client = Client()
    client.force_login(user)
    return client


def deep_key(query_filters: dict, application_id: int | None) -> str:
    """The key after which the deep page starts (found once with OFFSET; not measured)."""
    from provisioning.reports.filters import ProvisioningLogFilterForm, select_entries
    from provisioning.reports.paging import encode_key

    tenant_wide = application_id is None
    form = (
        ProvisioningLogFilterForm(query_filters, tenant_wide=tenant_wide)
        if query_filters
        else ProvisioningLogFilterForm(tenant_wide=tenant_wide)
    )
    entries = select_entries(form, application_id=application_id)
    ordered = entries.order_by("-created_at", "-id").values_list("created_at", "id")
    row = ordered[(DEEP_PAGE - 1) * PAGE - 1 : (DEEP_PAGE - 1) * PAGE].first()
    if row is None:  # fewer pages: the last page
        total = entries.count()
        row = ordered[max(0, total - PAGE - 1) : max(1, total - PAGE)].first()
    return encode_key(*row) if row else ""


def timed_get(client, url: str, repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        rows = response.content.count(b"<tr>\n      <td><a href=")  # entry rows only
    return statistics.median(times), rows


def measure_lists(apps: list[int], repeat: int) -> list[dict]:
    from urllib.parse import urlencode

    from provisioning.models import ProvisioningLogEntry

    def filters_for(application_id):
        """Each filter alone; identities and ids taken from the scope's own entries."""
        entries = ProvisioningLogEntry.objects.order_by("-created_at")
        if application_id is not None:
            entries = entries.filter(application_id=application_id)
        sample = entries.values(
            "cycle_id", "change_id", "source_id", "source_display", "target_id"
        )[5000]
        return {
            "none": {},
            "range=24h": {"range": "24h"},
            "range=custom (days 10–11)": {
                "range": "custom",
                "start": _ago(11),
                "end": _ago(10),
            },
            "status=Failure": {"status": "Failure"},
            "status=Warning": {"status": "Warning"},
            "action=Delete": {"action": "Delete"},
            "object_type=Group": {"object_type": "Group"},
            "identity (UPN part)": {"identity": sample["source_display"][:10]},
            "identity (source id)": {"identity": str(sample["source_id"])},
            "identity (target id)": {"identity": sample["target_id"]},
            "cycle_id": {"cycle_id": str(sample["cycle_id"])},
            "change_id": {"change_id": str(sample["change_id"])},
            "application": {"application": str(apps[7])},
        }

    client = auditor_client()
    client.get("/monitoring/provisioning-logs/")  # warm: imports, templates, connection
    results = []
    for scope, application_id in (("tenant-wide", None), ("one application", apps[3])):
        base = (
            "/monitoring/provisioning-logs/"
            if application_id is None
            else (f"/apps/{application_id}/provisioning-logs/")
        )
        for name, params in filters_for(application_id).items():
            if application_id is not None and name == "application":
                continue
            first_ms, first_rows = timed_get(client, base + "?" + urlencode(params), repeat)
            key = deep_key(params, application_id)
            deep_params = {**params, "after": key} if key else params
            deep_ms, deep_rows = timed_get(client, base + "?" + urlencode(deep_params), repeat)
            results.append(
                {
                    "scope": scope,
                    "filter": name,
                    "first_ms": round(first_ms, 1),
                    "first_rows": first_rows,
                    "deep_ms": round(deep_ms, 1),
                    "deep_rows": deep_rows,
                }
            )
            common.log(f"{scope:16} {name:28} first {first_ms:7.1f} ms  deep {deep_ms:7.1f} ms")
    return results


def _ago(days: int) -> str:
    from django.utils import timezone

    return (timezone.now() - timezone.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def measure_insights(apps: list[int], repeat: int) -> list[dict]:
    client = auditor_client()
    results = []
    for scope, url in (
        ("tenant-wide", "/monitoring/insights/?range=30d"),
        ("one application", f"/apps/{apps[3]}/insights/?range=30d"),
        ("tenant-wide, 7 days", "/monitoring/insights/?range=7d"),
    ):
        ms, _rows = timed_get(client, url, repeat)
        results.append({"scope": scope, "ms": round(ms, 1)})
        common.log(f"insights {scope:20} {ms:7.1f} ms")
    return results


def child_download(output: str) -> None:
    """In a fresh process: idle RSS, then stream the whole CSV and keep the peak."""
    configure()
    common.setup_django(migrate=False)
    client = auditor_client()
    client.get("/monitoring/provisioning-logs/?status=Failure")  # warm: templates, imports
    idle = common.proc_status_mb()["VmRSS"]
    common.reset_peak_rss()
    started = time.perf_counter()
    response = client.get("/monitoring/provisioning-logs/download/?format=csv")
    first_bytes = None
    size = lines = 0
    for chunk in response.streaming_content:
        if first_bytes is None:
            first_bytes = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    peak = common.proc_status_mb()["VmHWM"]
    rows = lines - 1  # the header; no cell of these rows holds a newline
    common.write_json(
        output,
        {
            "rows": rows,
            "bytes": size,
            "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds),
            "first_bytes_ms": round((first_bytes or 0) * 1000, 1),
            "idle_rss_mb": round(idle, 1),
            "peak_rss_mb": round(peak, 1),
            "peak_over_idle_mb": round(peak - idle, 1),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--reuse-db", action="store_true", help="skip the generation")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_download(args.child_output)
        return
    configure()
    if not args.reuse_db:
        common.recreate_database("postgres", "unused.sqlite3")
    common.setup_django(migrate=True)
    load = os.getloadavg()
    if args.reuse_db:
        from provisioning.models import Application

        apps = list(Application.objects.order_by("pk").values_list("pk", flat=True))
        generated = {"apps": apps, "seconds": 0}
    else:
        common.log(f"generating {args.entries:,} entries with generate_series …")
        generated = generate(args.entries)
        common.log(f"generated in {generated['seconds']:.1f} s")
    lists = measure_lists(generated["apps"], args.repeat)
    insights = measure_insights(generated["apps"], args.repeat)
    common.log("CSV download of every entry, in a child process …")
    download = common.run_child(Path(__file__), [], timeout=1800)
    common.log(f"download: {download}")
    result = {
        "machine": common.machine_facts(),
        "database": common.database_version(),
        "load_average_before": load,
        "load_average_after": os.getloadavg(),
        "entries": args.entries,
        "generation_seconds": round(generated["seconds"], 1),
        "lists": lists,
        "insights": insights,
        "download": download,
    }
    common.write_json(str(common.BENCH_DIR / "provisioning_logs.json"), result)
    print(render(result))
    if not args.keep_db:
        common.drop_database("postgres")


def render(result: dict) -> str:
    lines = [
        f"{result['entries']:,} entries, {result['database']}, load average "
        f"{result['load_average_before'][0]:.2f} → {result['load_average_after'][0]:.2f}",
        "",
        "| scope | filter | first page (ms) | rows | deep page (ms) | rows |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in result["lists"]:
        lines.append(
            f"| {row['scope']} | {row['filter']} | {row['first_ms']} | {row['first_rows']} | "
            f"{row['deep_ms']} | {row['deep_rows']} |"
        )
    lines += ["", "| Insights | ms |", "|---|---:|"]
    lines += [f"| {row['scope']} | {row['ms']} |" for row in result["insights"]]
    d = result["download"]
    lines += [
        "",
        f"CSV download: {d['rows']:,} rows, {d['bytes'] / 1e6:.0f} MB in {d['seconds']} s = "
        f"{d['rows_per_second']:,} rows/s; first bytes after {d['first_bytes_ms']} ms; "
        f"RSS idle {d['idle_rss_mb']} MiB, peak {d['peak_rss_mb']} MiB "
        f"(+{d['peak_over_idle_mb']} MiB).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
