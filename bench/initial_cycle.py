"""Benchmark: an initial cycle of N users and M groups into scim2-server, against the floor (DESIGN §8).

    .venv/bin/python bench/initial_cycle.py [--users 10000] [--groups 100]
        [--database sqlite|postgres] [--repeat 2] [--modes single,bulk,bulk2] [--profile]

For each mode, in the same run and each on a fresh scim2-server (it keeps everything in memory):

- the *floor*: a bare ``requests`` loop sending the same creates — the exact payloads the engine's
  mappings produce, computed before the clock starts — then the groups, then the members with one
  PATCH per group: ``single`` one POST per object; ``bulk`` /Bulk requests of up to 1,000
  operations (users, then groups, then the member PATCHes);
- the *engine*: ``run_cycle(job, initial=True)`` in a child process, one-by-one forced with the
  connector option ``capability_overrides={"bulk": False}``, Bulk left to the engine (scim2-server
  announces it). Requests are counted with the connector's ``on_request`` hook, SQL statements with
  ``connection.execute_wrapper``, peak RSS from the child's VmHWM (reset just before the cycle).

The first repetition also checks that the engine's target ends up equal to the floor's (every
user and group resource, ids and meta aside, members by userName).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import requests

APP_NAME = "Bench initial target"
SQLITE_NAME = "initial.sqlite3"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_OPERATIONS = 1000
MEMBERS_PER_PATCH = 500  # what the engine sends (engine.memberships.MEMBERS_PER_REQUEST)
HTTP_TIMEOUT = (5.0, 120.0)
RUN_TIMEOUT = 1800  # seconds, one measured run
# single: one request per object; bulk: Bulk as the engine sends it (one Bulk request in flight);
# bulk2: Bulk with two Bulk requests in flight (issue 16 measured both; the engine sends one).
MODES = ("single", "bulk", "bulk2")


# -- the same creates the engine sends ----------------------------------------------------------


def engine_payloads(application) -> dict[str, Any]:
    """The SCIM bodies the engine's mappings produce for every user and group (not timed)."""
    from provisioning.choices import ObjectType
    from provisioning.connectors import scim_paths
    from provisioning.engine.context import load_mapping_rules
    from provisioning.engine.evaluate import evaluate_object
    from provisioning.engine.importing import chunked, load_groups, load_users
    from provisioning.models import GroupMembership

    job = application.provisioning_job
    rules = load_mapping_rules(job)

    def bodies(object_type, loader, ids):
        result = {}
        for chunk in chunked(sorted(ids), 1000):
            for source_id, obj in loader(application.pk, chunk).items():
                source = dict(obj.attributes)
                source["IsSoftDeleted"] = False
                source["appRoleAssignments"] = list(obj.roles)
                flat = evaluate_object(
                    rules[object_type].rules, source, for_create=True, reference_targets={}
                ).attributes
                result[source_id] = scim_paths.to_resource(object_type, flat)
        return result

    memberships: dict[Any, list] = {}
    for group_id, user_id in GroupMembership.objects.values_list("group_id", "member_user_id"):
        memberships.setdefault(group_id, []).append(user_id)
    users = bodies(ObjectType.USER, load_users, [u for m in memberships.values() for u in m])
    groups = bodies(ObjectType.GROUP, load_groups, list(memberships))
    return {"users": users, "groups": groups, "members": memberships}


# -- the floor -----------------------------------------------------------------------------------


class Floor:
    """A bare requests loop against one server: no retries, no logging, no database."""

    def __init__(self, server) -> None:
        self.url = server.url
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {server.token}",
                "Accept": "application/scim+json",
                "Content-Type": "application/scim+json",
            }
        )
        self.requests = 0

    def send(self, method: str, path: str, body: Any, expected: int) -> requests.Response:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = self.session.request(method, self.url + path, data=data, timeout=HTTP_TIMEOUT)
        self.requests += 1
        if response.status_code != expected:
            raise RuntimeError(f"floor: {method} {path} -> {response.status_code} {response.text}")
        return response

    def bulk(self, operations: list[dict]) -> dict[str, str]:
        """POST /Bulk; returns bulkId -> created id (from the location)."""
        answer = self.send(
            "POST", "/Bulk", {"schemas": [BULK_SCHEMA], "Operations": operations}, 200
        )
        ids = {}
        for item in answer.json()["Operations"]:
            if not str(item.get("status", "")).startswith("2"):
                raise RuntimeError(f"floor: bulk operation failed: {item}")
            ids[item["bulkId"]] = item.get("location", "").rstrip("/").rsplit("/", 1)[-1]
        return ids

    def run(self, mode: str, payloads: dict[str, Any]) -> dict[str, Any]:
        users, groups, members = payloads["users"], payloads["groups"], payloads["members"]
        phases = {}
        cpu_started = common.process_cpu_seconds()
        started = time.perf_counter()
        user_targets: dict[Any, str] = {}
        group_targets: dict[Any, str] = {}
        if mode == "single":
            for source_id, body in users.items():
                user_targets[source_id] = self.send("POST", "/Users", body, 201).json()["id"]
            phases["users"] = time.perf_counter() - started
            for source_id, body in groups.items():
                group_targets[source_id] = self.send("POST", "/Groups", body, 201).json()["id"]
            phases["groups"] = time.perf_counter() - started - phases["users"]
            for group_id, user_ids in members.items():
                targets = sorted(user_targets[u] for u in user_ids)
                for start in range(0, len(targets), MEMBERS_PER_PATCH):
                    self.send(
                        "PATCH",
                        f"/Groups/{group_targets[group_id]}",
                        member_patch(targets[start : start + MEMBERS_PER_PATCH]),
                        204,
                    )
        else:
            for chunk in chunks(list(users.items()), BULK_OPERATIONS):
                operations = [
                    {"method": "POST", "path": "/Users", "bulkId": f"b{n}", "data": body}
                    for n, (_source_id, body) in enumerate(chunk)
                ]
                created = self.bulk(operations)
                for n, (source_id, _body) in enumerate(chunk):
                    user_targets[source_id] = created[f"b{n}"]
            phases["users"] = time.perf_counter() - started
            for chunk in chunks(list(groups.items()), BULK_OPERATIONS):
                operations = [
                    {"method": "POST", "path": "/Groups", "bulkId": f"b{n}", "data": body}
                    for n, (_source_id, body) in enumerate(chunk)
                ]
                created = self.bulk(operations)
                for n, (source_id, _body) in enumerate(chunk):
                    group_targets[source_id] = created[f"b{n}"]
            phases["groups"] = time.perf_counter() - started - phases["users"]
            patches = []
            for group_id, user_ids in members.items():
                targets = sorted(user_targets[u] for u in user_ids)
                for start in range(0, len(targets), MEMBERS_PER_PATCH):
                    patches.append((group_id, targets[start : start + MEMBERS_PER_PATCH]))
            for chunk in chunks(patches, BULK_OPERATIONS):
                self.bulk(
                    [
                        {
                            "method": "PATCH",
                            "path": f"/Groups/{group_targets[group_id]}",
                            "bulkId": f"m{n}",
                            "data": member_patch(targets),
                        }
                        for n, (group_id, targets) in enumerate(chunk)
                    ]
                )
        wall = time.perf_counter() - started
        cpu = common.process_cpu_seconds() - cpu_started
        phases["members"] = wall - phases["users"] - phases["groups"]
        self.session.close()
        return {"wall": wall, "client_cpu": cpu, "requests": self.requests, "phases": phases}


def member_patch(target_ids: list[str]) -> dict[str, Any]:
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": i} for i in target_ids]}
        ],
    }


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- comparing the targets -----------------------------------------------------------------------


def target_state(server) -> dict[str, Any]:
    """Every user and group of a server, ids and meta dropped, members by userName."""
    users = common.all_resources(server, "Users")
    names = {u["id"]: u["userName"] for u in users}

    def strip(resource: dict) -> dict:
        return {k: v for k, v in resource.items() if k not in ("id", "meta")}

    state = {f"user:{u['userName']}": strip(u) for u in users}
    for group in common.all_resources(server, "Groups"):
        body = strip(group)
        body["members"] = sorted(names.get(m.get("value"), "?") for m in group.get("members", []))
        state[f"group:{group['displayName']}"] = body
    return state


def compare_states(floor: dict, engine: dict) -> dict[str, Any]:
    differing = [key for key in floor if key in engine and floor[key] != engine[key]]
    return {
        "floor_objects": len(floor),
        "engine_objects": len(engine),
        "missing_in_engine": len(set(floor) - set(engine)),
        "extra_in_engine": len(set(engine) - set(floor)),
        "differing": len(differing),
        "example": {
            "key": differing[0],
            "floor": floor[differing[0]],
            "engine": engine[differing[0]],
        }
        if differing
        else None,
    }


# -- the engine (child process) -------------------------------------------------------------------


def child(args: argparse.Namespace) -> None:
    common.configure_environment(args.database, SQLITE_NAME)
    common.setup_django(migrate=False)
    from provisioning.engine.cycle import run_cycle
    from provisioning.models import Application, ProvisionedObject, ProvisioningLogEntry, SyncCycle

    credentials = {"tenant_url": args.url, "secret_token": args.token}
    if os.environ.get("BENCH_SWITCH_INTERVAL"):  # to compare: the engine's Bulk GIL interval
        from provisioning.engine import cycle as bulk_cycle

        bulk_cycle.BULK_SWITCH_INTERVAL = float(os.environ["BENCH_SWITCH_INTERVAL"])
    if args.mode == "bulk2":
        from provisioning.engine import cycle as engine_cycle

        engine_cycle.BULK_REQUESTS_IN_FLIGHT = 2
    job = Application.objects.get(name=APP_NAME).provisioning_job
    # A fresh start for this target: no links, logs or cycles from an earlier run.
    ProvisionedObject.objects.filter(job=job).delete()
    ProvisioningLogEntry.objects.filter(job_id=job.pk).delete()
    SyncCycle.objects.filter(job=job).delete()
    job.credentials = credentials
    job.watermark = None
    job.full_sync_required = True
    job.save()

    request_log = common.RequestLog()
    connector = common.bench_connector(
        credentials, request_log, bulk=False if args.mode == "single" else None
    )
    profiler = None
    if args.profile_path:
        import cProfile

        profiler = cProfile.Profile()
    database_pid = common.database_backend_pid()
    database_cpu = common.process_cpu_seconds(database_pid) if database_pid else 0.0
    gc.collect()
    before = common.proc_status_mb()
    peak_reset = common.reset_peak_rss()
    with common.counting_queries() as queries:
        cpu_started = common.process_cpu_seconds()
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = run_cycle(job, initial=True, connector=connector)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
        cpu = common.process_cpu_seconds() - cpu_started
    if database_pid:
        database_cpu = common.process_cpu_seconds(database_pid) - database_cpu
    after = common.proc_status_mb()
    capabilities = connector.capabilities()
    connector.close()
    if profiler:
        profiler.dump_stats(args.profile_path)
    common.write_json(
        args.child_output,
        {
            "wall": wall,
            "client_cpu": cpu,
            "database_server_cpu": database_cpu if database_pid else None,
            "cycle_state": report.cycle.state,
            "cycle_error": report.cycle.error,
            "counters": report.counters,
            "requests": dict(request_log.counts),
            "request_total": request_log.total,
            "statuses": dict(request_log.statuses),
            "bulk_capability": capabilities.bulk,
            "bulk_max_operations": capabilities.bulk_max_operations,
            "queries": queries.count,
            "queries_by_verb": dict(queries.by_verb),
            "rss_before_mb": before["VmRSS"],
            "peak_rss_mb": after["VmHWM"] if peak_reset else None,
        },
    )


def run_engine(args, server, mode: str, profile: str | None = None) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()
    arguments = ["--database", args.database, "--mode", mode, "--url", server.url]
    arguments += ["--token", server.token]
    if profile:
        arguments += ["--profile-path", profile]
    return common.run_child(Path(__file__), arguments, timeout=RUN_TIMEOUT)


# -- orchestration ---------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from tests.support.scim_server import start_scim_server

    common.configure_environment(args.database, SQLITE_NAME)
    common.recreate_database(args.database, SQLITE_NAME)
    common.setup_django(migrate=True)
    facts = common.machine_facts()
    facts["database"] = common.database_version()
    common.log(f"building the directory: {args.users} users, {args.groups} groups")
    _users, group_ids = common.build_directory(args.users, args.groups)
    application = common.add_bench_application(
        APP_NAME, group_ids, {"tenant_url": "http://127.0.0.1:9/v2", "secret_token": "unset"}
    )
    payloads = engine_payloads(application)
    if args.in_flight:
        job = application.provisioning_job
        type(job).objects.filter(pk=job.pk).update(max_requests_in_flight=args.in_flight)
    common.log(
        f"payloads: {len(payloads['users'])} users, {len(payloads['groups'])} groups, "
        f"{sum(len(m) for m in payloads['members'].values())} memberships"
    )

    runs = []
    verify = {}
    for repetition in range(args.repeat):
        for mode in args.modes:
            order = ("floor", "engine") if repetition % 2 == 0 else ("engine", "floor")
            row: dict[str, Any] = {"repetition": repetition + 1, "mode": mode}
            states = {}
            for which in order:
                with start_scim_server() as server:
                    server_cpu = common.process_cpu_seconds(server.process.pid)
                    if which == "floor":
                        row["floor"] = Floor(server).run(mode, payloads)
                    else:
                        row["engine"] = run_engine(args, server, mode)
                    row[which]["server_cpu"] = (
                        common.process_cpu_seconds(server.process.pid) - server_cpu
                    )
                    if which == "floor":
                        floor = row["floor"]
                        common.log(
                            f"rep {repetition + 1} {mode:6} floor  {floor['wall']:7.2f} s "
                            f"({floor['requests']} requests, client CPU {floor['client_cpu']:.1f} s,"
                            f" server CPU {floor['server_cpu']:.1f} s, phases "
                            + ", ".join(f"{k} {v:.1f}" for k, v in floor["phases"].items())
                            + ")"
                        )
                    else:
                        engine = row["engine"]
                        common.log(
                            f"rep {repetition + 1} {mode:6} engine {engine['wall']:7.2f} s "
                            f"({engine['request_total']} requests, {engine['queries']} queries, "
                            f"client CPU {engine['client_cpu']:.1f} s, "
                            f"PostgreSQL backend CPU {engine['database_server_cpu'] or 0:.1f} s, "
                            f"server CPU {engine['server_cpu']:.1f} s, "
                            f"peak RSS {engine['peak_rss_mb']:.0f} MB, {engine['cycle_state']})"
                        )
                    if repetition == 0 and not args.no_verify:
                        states[which] = target_state(server)
            row["ratio"] = row["engine"]["wall"] / row["floor"]["wall"]
            if states:
                verify[mode] = compare_states(states["floor"], states["engine"])
                common.log(f"target comparison ({mode}): {verify[mode]}")
            runs.append(row)

    profiles = {}
    if args.profile:
        for mode in args.modes:
            path = str(common.BENCH_DIR / f"initial-{args.database}-{mode}.prof")
            with start_scim_server() as server:
                profiled = run_engine(args, server, mode, profile=path)
            profiles[mode] = {"path": path, "wall_under_profiler": profiled["wall"]}
            common.log(f"profile ({mode}) written to {path}")
            print_profile(path)
    return {
        "benchmark": "initial_cycle",
        "users": args.users,
        "groups": args.groups,
        "database": args.database,
        "machine": facts,
        "runs": runs,
        "target_comparison": verify,
        "profiles": profiles,
    }


def print_profile(path: str, limit: int = 25) -> None:
    import pstats

    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"Initial cycle, {result['users']} users + {result['groups']} groups, {result['database']} "
        f"({result['machine']['database']})",
        "| run | mode | floor s | engine s | engine/floor | engine requests | SQL queries "
        "| peak RSS MB |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in result["runs"]:
        engine = row["engine"]
        requests_text = ", ".join(f"{k} ×{v}" for k, v in sorted(engine["requests"].items()))
        lines.append(
            f"| {row['repetition']} | {row['mode']} | {row['floor']['wall']:.2f} "
            f"| {engine['wall']:.2f} | {row['ratio']:.2f} | {requests_text} "
            f"| {engine['queries']} | {engine['peak_rss_mb']:.0f} |"
        )
    for mode in sorted({row["mode"] for row in result["runs"]}):
        ratios = [row["ratio"] for row in result["runs"] if row["mode"] == mode]
        goal = 1.3 if mode == "single" else 1.2  # Bulk: ≤ 1.2× (issue 16)
        lines.append(
            f"{mode}: median engine/floor {statistics.median(ratios):.2f} "
            f"(goal ≤ {goal}: {'met' if statistics.median(ratios) <= goal else 'MISSED'})"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions of each mode")
    parser.add_argument(
        "--modes",
        type=lambda s: s.split(","),
        default=["single", "bulk"],
        help="single,bulk,bulk2 (bulk2: Bulk with two Bulk requests in flight instead of one)",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        default=None,
        help="the job's Maximum requests in flight (default: the job's default, 8); "
        "--modes single --in-flight 1 is the engine one request at a time",
    )
    parser.add_argument("--profile", action="store_true", help="also one cProfiled engine run")
    parser.add_argument("--no-verify", action="store_true", help="skip the target comparison")
    parser.add_argument("--keep-db", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--json", help="write the results there (default var/bench/…)")
    # Child mode (internal).
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-output", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--profile-path", dest="profile_path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if any(mode not in MODES for mode in args.modes):
        parser.error("--modes takes single, bulk, bulk2 (comma-separated)")
    return args


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    result = measure(args)
    text = summary(result)
    print(text)
    path = Path(args.json or common.BENCH_DIR / f"initial-{args.database}-{int(time.time())}.json")
    path.write_text(json.dumps(result, default=str, indent=1))
    common.log(f"results written to {path}")
    if not args.keep_db:
        common.drop_database(args.database)


if __name__ == "__main__":
    main()
