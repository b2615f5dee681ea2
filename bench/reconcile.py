"""Benchmark: a reconcile (DESIGN B4) of N linked users with 1 % drifted, against scim2-server.

    .venv/bin/python bench/reconcile.py [--users 100000] [--group-size 1000]
        [--database sqlite|postgres] [--page-size 500] [--port N] [--tracemalloc]

(``BENCH_POSTGRES_DB`` names the scratch PostgreSQL database, ``bench_portal`` by default.)

On a fresh database and a fresh scim2-server:

1. the directory is written with ``bulk_create`` (N users in groups of ``--group-size``, every
   group assigned), then one initial cycle (Bulk) provisions it: the honest linked state;
2. 1 % of the users are changed directly in the target (``displayName`` PATCHed through /Bulk
   with ``requests``) — drift made by hand;
3. the floor: a bare ``requests`` loop lists the target as the reconcile does (``/Users`` in pages
   of ``--page-size``, ``/Groups`` with ``excludedAttributes=members`` and one GET per group);
4. ``run_reconcile(job)`` (report only) in a child process that measures its wall time, SQL
   statements (``execute_wrapper``) and peak RSS (VmHWM of the child, reset just before), and
   the peak RSS so far after every 10,000 target objects compared (flat = memory does not grow
   with the users); ``--tracemalloc`` also keeps the largest Python allocation sites then;
5. the floor again (the server's speed drifts on a shared machine; the mean of both is used).

The reconcile must find exactly the drifted users; the goals are ≤ 250 MB peak RSS and a wall time
within 1.5× of the floor.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

APP_NAME = "Bench reconcile target"
SQLITE_NAME = "reconcile.sqlite3"
RUN_TIMEOUT = 3600
CHECKPOINT_EVERY = 10_000  # target objects compared between two RSS readings


def child(args: argparse.Namespace) -> None:
    common.configure_environment(args.database, SQLITE_NAME)
    common.setup_django(migrate=False)
    from provisioning.models import Application
    from provisioning.reconcile.run import run_reconcile

    job = Application.objects.get(name=APP_NAME).provisioning_job
    credentials = {"tenant_url": args.url, "secret_token": args.token}
    request_log = common.RequestLog()
    connector = common.bench_connector(credentials, request_log, bulk=None)
    gc.collect()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    before = common.proc_status_mb()
    peak_reset = common.reset_peak_rss()
    checkpoints: list[dict[str, Any]] = []
    started = time.perf_counter()

    def on_progress(compared: int) -> None:
        if compared // CHECKPOINT_EVERY <= len(checkpoints):
            return
        status = common.proc_status_mb()
        point = {
            "compared": compared,
            "seconds": round(time.perf_counter() - started, 1),
            "rss_mb": round(status["VmRSS"], 1),
            "peak_rss_mb": round(status["VmHWM"], 1),
        }
        if args.tracemalloc:
            current, peak = tracemalloc.get_traced_memory()
            point["traced_mb"] = round(current / 2**20, 1)
            point["traced_peak_mb"] = round(peak / 2**20, 1)
            top = tracemalloc.take_snapshot().statistics("lineno")[:5]
            point["top"] = [f"{stat.traceback} {stat.size / 2**20:.1f} MB" for stat in top]
        checkpoints.append(point)

    with common.counting_queries() as queries:
        started = time.perf_counter()
        report = run_reconcile(
            job, connector=connector, page_size=args.page_size, on_progress=on_progress
        )
        wall = time.perf_counter() - started
    after = common.proc_status_mb()
    connector.close()
    common.write_json(
        args.child_output,
        {
            "wall": wall,
            "state": report.cycle.state,
            "error": report.cycle.error,
            "counts": report.counts,
            "requests": dict(request_log.counts),
            "request_total": request_log.total,
            "queries": queries.count,
            "queries_by_verb": dict(queries.by_verb),
            "rss_before_mb": before["VmRSS"],
            "peak_rss_mb": after["VmHWM"] if peak_reset else None,
            "checkpoints": checkpoints,
            "requests_in_flight": job.max_requests_in_flight,
        },
    )


def bare_listing(server, page_size: int) -> dict[str, Any]:
    """The floor: what listing the target costs with nothing but requests."""
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Bearer {server.token}", "Accept": "application/scim+json"}
    started = time.perf_counter()
    counted = {"Users": 0, "Groups": 0, "group reads": 0}
    for endpoint, params in (("Users", {}), ("Groups", {"excludedAttributes": "members"})):
        start = 1
        for _page in range(100_000):
            response = session.get(
                f"{server.url}/{endpoint}",
                params={**params, "startIndex": start, "count": page_size},
                headers=headers,
                timeout=600,
            )
            response.raise_for_status()
            body = response.json()
            resources = body.get("Resources") or []
            counted[endpoint] += len(resources)
            if endpoint == "Groups":
                for group in resources:
                    session.get(
                        f"{server.url}/Groups/{group['id']}", headers=headers, timeout=600
                    ).raise_for_status()
                    counted["group reads"] += 1
            start += len(resources)
            if not resources or start > body.get("totalResults", 0):
                break
    session.close()
    return {"wall": time.perf_counter() - started, **counted}


def drift(server, users: list[dict[str, Any]]) -> list[str]:
    """PATCH displayName of every 100th user directly in the target, through /Bulk."""
    chosen = users[::100]
    for start in range(0, len(chosen), 1000):
        operations = [
            {
                "method": "PATCH",
                "path": f"/Users/{u['id']}",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "replace", "path": "displayName", "value": "Changed by hand"}
                    ],
                },
            }
            for u in chosen[start : start + 1000]
        ]
        server.request(
            "POST",
            "/Bulk",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": operations,
            },
            headers={"Content-Type": "application/scim+json"},
            timeout=600,
        ).raise_for_status()
    return [u["id"] for u in chosen]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.scim_server import start_scim_server

    common.configure_environment(args.database, SQLITE_NAME)
    common.recreate_database(args.database, SQLITE_NAME)
    common.setup_django(migrate=True)
    from django.db import connections

    from provisioning.engine.cycle import run_cycle

    users = args.users
    groups = max(1, users // args.group_size)
    common.log(f"[{users}] building the directory: {users} users in {groups} groups")
    user_ids, group_ids = common.build_directory(users, groups)
    result: dict[str, Any] = {"users": users, "groups": groups, "page_size": args.page_size}
    with start_scim_server(port=args.port) as server:
        application = common.add_bench_application(APP_NAME, group_ids, server.credentials)
        job = application.provisioning_job
        common.log(f"[{users}] initial cycle (Bulk)…")
        connector = common.bench_connector(server.credentials, common.RequestLog(), bulk=None)
        started = time.perf_counter()
        report = run_cycle(job, initial=True, connector=connector)
        connector.close()
        result["initial_cycle_seconds"] = time.perf_counter() - started
        if report.cycle.state != "Succeeded":
            raise RuntimeError(f"initial cycle did not succeed: {report.cycle.error}")
        common.log(f"[{users}] initial cycle in {result['initial_cycle_seconds']:.0f} s; drift…")
        drifted = drift(server, common.all_resources(server, "Users"))
        result["drifted"] = len(drifted)
        with open("/proc/loadavg") as loadavg:
            result["load_before"] = loadavg.read().split()[:3]
        result["floor_before"] = bare_listing(server, args.page_size)
        common.log(f"[{users}] floor: {result['floor_before']}")
        connections.close_all()
        arguments = [
            "--database",
            args.database,
            "--url",
            server.url,
            "--token",
            server.token,
            "--page-size",
            str(args.page_size),
            *(["--tracemalloc"] if args.tracemalloc else []),
        ]
        result["reconcile"] = common.run_child(Path(__file__), arguments, timeout=RUN_TIMEOUT)
        common.log(f"[{users}] reconcile: {result['reconcile']}")
        if args.single_floor:  # very large runs: the listing alone takes many minutes
            result["floor_after"] = result["floor_before"]
        else:
            result["floor_after"] = bare_listing(server, args.page_size)
        with open("/proc/loadavg") as loadavg:
            result["load_after"] = loadavg.read().split()[:3]
        common.log(f"[{users}] floor again: {result['floor_after']}")
    facts = common.machine_facts()
    facts["database"] = common.database_version()
    result["machine"] = facts
    if not args.keep_db:
        common.drop_database(args.database)
    return result


def summary(result: dict[str, Any]) -> str:
    run = result["reconcile"]
    floor = (result["floor_before"]["wall"] + result["floor_after"]["wall"]) / 2
    ratio = run["wall"] / floor if floor else float("nan")
    peak = run["peak_rss_mb"] or 0
    return "\n".join(
        [
            f"Reconcile of {result['users']} linked users ({result['groups']} groups), "
            f"{result['drifted']} drifted by hand, {result['machine']['database']}, "
            f"load {' '.join(result['load_before'])} → {' '.join(result['load_after'])}",
            "| users | reconcile s | bare listing s (before / after) | ratio | SQL statements | "
            "requests | peak RSS MB (before) | found |",
            "|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {result['users']} | {run['wall']:.1f} | {result['floor_before']['wall']:.1f} / "
            f"{result['floor_after']['wall']:.1f} | {ratio:.2f} | {run['queries']} | "
            f"{run['request_total']} | {peak:.0f} ({run['rss_before_mb']:.0f}) | {run['counts']} |",
            f"Goals: peak RSS ≤ 250 MB {'met' if peak <= 250 else 'MISSED'}; "
            f"time ≤ 1.5× the bare listing {'met' if ratio <= 1.5 else 'MISSED'}; "
            f"drift found {run['counts'].get('Drifted', 0)} of {result['drifted']}.",
            "Peak RSS so far (MB) after N objects compared: "
            + ", ".join(
                f"{p['compared']}: {p['peak_rss_mb']:.0f}" for p in run.get("checkpoints", [])
            ),
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--group-size", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--single-floor", action="store_true", help="list bare only once")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--port", type=int, help="scim2-server's port (default: a free one)")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="trace Python allocations (slower)"
    )
    parser.add_argument("--json", help="write the results there (default var/bench/…)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    result = measure(args)
    print(summary(result))
    path = Path(
        args.json or common.BENCH_DIR / f"reconcile-{args.database}-{int(time.time())}.json"
    )
    path.write_text(json.dumps(result, default=str, indent=1))


if __name__ == "__main__":
    main()
