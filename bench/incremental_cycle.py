"""Benchmark: an incremental cycle with 10 changes among N users (DESIGN §8).

    .venv/bin/python bench/incremental_cycle.py [--users 100000] [--compare-users 10000]
        [--group-size 1000] [--rounds 3] [--database sqlite|postgres] [--profile]

For each directory size (``--users``, then ``--compare-users`` to show that the number of SQL
queries does not grow with the directory), on a fresh database and a fresh scim2-server:

1. the directory is written with ``bulk_create``: N users with realistic attributes, in groups of
   ``--group-size`` members, every group assigned to the application with the role "User";
2. the initial state is made by the engine itself: one initial cycle (Bulk) in this process. It is
   the honest state (links, last exported attributes, members) and costs about what seeding the
   target by hand would, since the server's time dominates; its time is reported too;
3. the server's ``userName eq`` index is warmed with one filtered GET (scim2-server builds it on the
   first such filter; a long-running target has it);
4. ``--rounds`` times: 10 changes are made (7 attribute updates, 1 user removed from its group,
   1 account disabled, 1 new user added to a group), then ``run_cycle(job)`` (incremental) runs in
   a child process that measures its wall time, SQL statements (``execute_wrapper``), peak RSS
   (VmHWM of the child, reset just before the cycle) and, in the last round only, the Python heap
   peak of the cycle (tracemalloc, which slows the cycle down, so that round's time is not used).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

APP_NAME = "Bench incremental target"
SQLITE_NAME = "incremental.sqlite3"
RUN_TIMEOUT = 600  # seconds, one measured incremental cycle
CHANGES_PER_ROUND = 10


# -- the changes ---------------------------------------------------------------------------------


def make_changes(round_number: int, user_ids: list, group_ids: list) -> dict[str, list]:
    """Ten directory changes, on users spread over the directory, different in every round."""
    from provisioning.models import DirectoryUser, GroupMembership

    size = len(user_ids)
    picked = [
        user_ids[((round_number * CHANGES_PER_ROUND + j) * 997 + 13) % size] for j in range(9)
    ]
    changes: dict[str, list] = {"updated": [], "removed_from_group": [], "disabled": [], "new": []}
    for j, user_id in enumerate(picked[:7]):
        user = DirectoryUser.objects.get(pk=user_id)
        if j % 3 == 0:
            user.job_title = f"Title r{round_number}-{j}"
        elif j % 3 == 1:
            user.department = f"Dept r{round_number}-{j}"
        else:
            user.mobile = f"+886 3 {round_number:03d}{j:04d}"
            user.display_name = f"Renamed r{round_number}-{j}"
        user.save()
        changes["updated"].append(str(user_id))
    GroupMembership.objects.filter(member_user_id=picked[7]).delete()
    changes["removed_from_group"].append(str(picked[7]))
    DirectoryUser.objects.filter(pk=picked[8]).update(account_enabled=False)
    changes["disabled"].append(str(picked[8]))
    upn = f"newcomer-r{round_number}@contoso.example"
    newcomer = DirectoryUser.objects.create(
        user_principal_name=upn,
        mail=upn,
        given_name="New",
        surname=f"Comer {round_number}",
        display_name=f"New Comer {round_number}",
        job_title="Engineer",
        department="Research",
    )
    GroupMembership.objects.create(
        group_id=group_ids[round_number % len(group_ids)], member_user=newcomer
    )
    changes["new"].append(str(newcomer.pk))
    return changes


def check_target(server, job, changes: dict[str, list]) -> list[str]:
    """What the target says about the changed users; returns the problems found."""
    from provisioning.models import ProvisionedObject

    links = {
        str(link.source_id): link.target_id
        for link in ProvisionedObject.objects.filter(
            job=job, source_id__in=[u for ids in changes.values() for u in ids]
        )
    }
    problems = []
    for kind, ids in changes.items():
        for user_id in ids:
            target_id = links.get(user_id)
            resource = server.get_resource("Users", target_id) if target_id else None
            if resource is None:
                problems.append(f"{kind} {user_id}: no target account")
            elif kind in ("removed_from_group", "disabled") and resource.get("active") is not False:
                problems.append(f"{kind} {user_id}: still active")
            elif kind in ("updated", "new") and resource.get("active") is not True:
                problems.append(f"{kind} {user_id}: not active")
    return problems


# -- the measured cycle (child process) ---------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    common.configure_environment(args.database, SQLITE_NAME)
    common.setup_django(migrate=False)
    from provisioning.engine.cycle import run_cycle
    from provisioning.models import Application

    job = Application.objects.get(name=APP_NAME).provisioning_job
    credentials = {"tenant_url": args.url, "secret_token": args.token}
    request_log = common.RequestLog()
    connector = common.bench_connector(credentials, request_log, bulk=None)
    profiler = None
    if args.profile_path:
        import cProfile

        profiler = cProfile.Profile()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    gc.collect()
    before = common.proc_status_mb()
    peak_reset = common.reset_peak_rss()
    with common.counting_queries() as queries:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = run_cycle(job, connector=connector)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
    after = common.proc_status_mb()
    heap_peak = None
    if args.tracemalloc:
        heap_peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    connector.close()
    if profiler:
        profiler.dump_stats(args.profile_path)
    common.write_json(
        args.child_output,
        {
            "wall": wall,
            "kind": report.cycle.kind,
            "cycle_state": report.cycle.state,
            "cycle_error": report.cycle.error,
            "counters": report.counters,
            "requests": dict(request_log.counts),
            "request_total": request_log.total,
            "queries": queries.count,
            "queries_by_verb": dict(queries.by_verb),
            "rss_before_mb": before["VmRSS"],
            "peak_rss_mb": after["VmHWM"] if peak_reset else None,
            "tracemalloc_peak_mb": heap_peak,
        },
    )


def run_measured(args, server, *, tracemalloc: bool = False, profile: str | None = None) -> dict:
    from django.db import connections

    connections.close_all()
    arguments = ["--database", args.database, "--url", server.url, "--token", server.token]
    if tracemalloc:
        arguments.append("--tracemalloc")
    if profile:
        arguments += ["--profile-path", profile]
    return common.run_child(Path(__file__), arguments, timeout=RUN_TIMEOUT)


# -- orchestration -------------------------------------------------------------------------------


def measure_size(args, users: int, rounds: int, first: bool) -> dict[str, Any]:
    from tests.support.scim_server import start_scim_server

    common.recreate_database(args.database, SQLITE_NAME)
    common.setup_django(migrate=True) if first else _migrate()
    from provisioning.engine.cycle import run_cycle

    groups = max(1, users // args.group_size)
    common.log(f"[{users}] building the directory: {users} users in {groups} groups")
    started = time.perf_counter()
    user_ids, group_ids = common.build_directory(users, groups)
    directory_seconds = time.perf_counter() - started
    result: dict[str, Any] = {"users": users, "groups": groups, "rounds": []}
    result["directory_seconds"] = directory_seconds
    with start_scim_server() as server:
        application = common.add_bench_application(APP_NAME, group_ids, server.credentials)
        job = application.provisioning_job
        common.log(f"[{users}] directory in {directory_seconds:.1f} s; initial cycle (Bulk)…")
        request_log = common.RequestLog()
        connector = common.bench_connector(server.credentials, request_log, bulk=None)
        started = time.perf_counter()
        report = run_cycle(job, initial=True, connector=connector)
        connector.close()
        result["initial_cycle"] = {
            "wall": time.perf_counter() - started,
            "state": report.cycle.state,
            "counters": report.counters,
            "requests": dict(request_log.counts),
        }
        common.log(f"[{users}] initial cycle: {result['initial_cycle']}")
        if report.cycle.state != "Succeeded":
            raise RuntimeError(f"initial cycle did not succeed: {report.cycle.error}")
        # Warm scim2-server's userName index (built on the first `userName eq` filter).
        warm = time.perf_counter()
        server.request(
            "GET", "/Users", params={"filter": 'userName eq "nobody"'}, timeout=600
        ).raise_for_status()
        result["index_warmup_seconds"] = time.perf_counter() - warm

        for round_number in range(rounds):
            last = round_number == rounds - 1 and rounds > 1
            changes = make_changes(round_number, user_ids, group_ids)
            measured = run_measured(args, server, tracemalloc=last and not args.no_tracemalloc)
            measured["round"] = round_number + 1
            measured["tracemalloc_round"] = last and not args.no_tracemalloc
            measured["target_problems"] = check_target(server, job, changes)
            result["rounds"].append(measured)
            common.log(
                f"[{users}] round {round_number + 1}: {measured['kind']} {measured['wall']:.3f} s, "
                f"{measured['queries']} queries, {measured['request_total']} requests "
                f"{measured['requests']}, peak RSS {measured['peak_rss_mb']:.0f} MB "
                f"(before {measured['rss_before_mb']:.0f}), heap peak "
                f"{measured['tracemalloc_peak_mb']}, counters {measured['counters']}, "
                f"problems {measured['target_problems']}"
            )
        if args.profile and first:
            make_changes(rounds, user_ids, group_ids)
            path = str(common.BENCH_DIR / f"incremental-{args.database}.prof")
            profiled = run_measured(args, server, profile=path)
            result["profile"] = {"path": path, "wall_under_profiler": profiled["wall"]}
            import pstats

            pstats.Stats(path).sort_stats("cumulative").print_stats(30)
    return result


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    common.configure_environment(args.database, SQLITE_NAME)
    sizes = [args.users] + ([args.compare_users] if args.compare_users else [])
    results = []
    for n, users in enumerate(sizes):
        rounds = args.rounds if n == 0 else args.compare_rounds
        results.append(measure_size(args, users, rounds, first=n == 0))
    facts = common.machine_facts()
    facts["database"] = common.database_version()
    return {
        "benchmark": "incremental_cycle",
        "database": args.database,
        "group_size": args.group_size,
        "machine": facts,
        "sizes": results,
    }


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"Incremental cycle, {CHANGES_PER_ROUND} changes, {result['database']} "
        f"({result['machine']['database']})",
        "| users | round | wall s | SQL queries | requests | peak RSS MB (before) | heap peak MB |",
        "|---:|---:|---:|---:|---|---:|---:|",
    ]
    for size in result["sizes"]:
        for row in size["rounds"]:
            heap = f"{row['tracemalloc_peak_mb']:.1f}" if row["tracemalloc_peak_mb"] else "–"
            wall = f"{row['wall']:.3f}" + (" (tracemalloc)" if row["tracemalloc_round"] else "")
            requests_text = ", ".join(f"{k} ×{v}" for k, v in sorted(row["requests"].items()))
            lines.append(
                f"| {size['users']} | {row['round']} | {wall} | {row['queries']} | {requests_text} "
                f"| {row['peak_rss_mb']:.0f} ({row['rss_before_mb']:.0f}) | {heap} |"
            )
    big = result["sizes"][0]
    timed = [r["wall"] for r in big["rounds"] if not r["tracemalloc_round"]]
    peaks = [r["peak_rss_mb"] for r in big["rounds"]]
    lines.append(
        f"{big['users']} users: median wall {statistics.median(timed):.3f} s "
        f"(goal ≤ 2 s: {'met' if statistics.median(timed) <= 2 else 'MISSED'}); "
        f"max peak RSS {max(peaks):.0f} MB (goal ≤ 200 MB: "
        f"{'met' if max(peaks) <= 200 else 'MISSED'})"
    )
    if len(result["sizes"]) > 1:
        counts = {s["users"]: sorted({r["queries"] for r in s["rounds"]}) for s in result["sizes"]}
        lines.append(f"SQL queries per cycle by directory size: {counts}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--compare-users", type=int, default=10_000, help="0 to skip")
    parser.add_argument("--group-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="measured cycles (last: tracemalloc)")
    parser.add_argument("--compare-rounds", type=int, default=2)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also one cProfiled cycle")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--json", help="write the results there (default var/bench/…)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-path", dest="profile_path", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    result = measure(args)
    text = summary(result)
    print(text)
    path = Path(
        args.json or common.BENCH_DIR / f"incremental-{args.database}-{int(time.time())}.json"
    )
    path.write_text(json.dumps(result, default=str, indent=1))
    common.log(f"results written to {path}")
    if not args.keep_db:
        common.drop_database(args.database)


if __name__ == "__main__":
    main()
