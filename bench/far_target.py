"""Benchmark: a far target (issue 16) — requests in flight against the 16-connection floor.

    .venv/bin/python bench/far_target.py [--users 2000] [--groups 100] [--latency 50,150]
        [--in-flight 16] [--one-by-one-latency 0] [--bulk] [--database sqlite|postgres]

``scim2-server`` is started with a service provider configuration that switches Bulk off, behind
a loopback proxy (``tests/support/fault_proxy.FaultProxy(latency=…)``, run in its own process so
that it never competes with the measured client for the GIL) that adds a fixed latency to every
request. For each latency, in one run and each on a fresh target:

- the *floor*: a bare ``requests`` pool of 16 connections (one session per thread) sending the
  same creates — the exact payloads the engine's mappings produce, computed before the clock
  starts — then the groups, then one member PATCH per group (groups concurrently);
- the *engine*: ``run_cycle(job, initial=True)`` in a child process with the job's
  ``max_requests_in_flight`` set to ``--in-flight`` (the engine's AIMD limit starts at 2 and
  adapts); it reports its wall time, requests, the concurrency it reached and its peak RSS.

With ``--one-by-one-latency L``: also the engine with *Maximum requests in flight* = 1 against
a bare ``requests`` loop of one connection, at L ms. With ``--bulk``: also 0 ms with Bulk —
``scim2-server`` as it is (Bulk on, no proxy), the Bulk floor of ``bench/initial_cycle.py``
against the engine's initial cycle. The load average (1 min) is read before and after each
figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common
import initial_cycle
import requests

FLOOR_CONNECTIONS = 16
# The benchmark's target is on loopback, which the outbound policy (issue 12) refuses by default.
os.environ.setdefault("PROVISIONING_ALLOWED_TARGET_NETWORKS", "127.0.0.0/8")
HTTP_TIMEOUT = (5.0, 120.0)


def load() -> float:
    return os.getloadavg()[0]


# -- the far target ---------------------------------------------------------------------------


def no_bulk_config() -> str:
    """A ServiceProviderConfig file for scim2-server with Bulk switched off."""
    config = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": 1000},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [],
    }
    handle, path = tempfile.mkstemp(prefix="spc-no-bulk-", suffix=".json")
    with os.fdopen(handle, "w") as file:
        json.dump(config, file)
    return path


class FarTarget:
    """scim2-server without Bulk, behind a latency proxy in another process."""

    def __init__(self, latency_ms: float, *, direct: bool = False) -> None:
        from tests.support.scim_server import start_scim_server

        self.config = no_bulk_config()
        self.server = start_scim_server(extra_args=["--service-provider-config", self.config])
        self.token = self.server.token
        self.proxy = None
        if direct and not latency_ms:
            # One at a time with nothing added: straight to scim2-server (through the proxy, a
            # request sent on one connection costs ~45 ms; many in flight hide it, and
            # scim2-server's short listen backlog needs the proxy's bounded queue then).
            self.url = self.server.url
            return
        self.proxy = subprocess.Popen(
            [sys.executable, __file__, "--proxy", self.server.url, str(latency_ms / 1000)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.proxy.stdout.readline().strip()
        if not line.startswith("http://"):
            self.close()
            raise RuntimeError(f"latency proxy did not start: {line!r}")
        self.url = line

    def close(self) -> None:
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.terminate()
            self.proxy.wait(timeout=10)
        self.server.stop()
        Path(self.config).unlink(missing_ok=True)

    def __enter__(self) -> FarTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_proxy(upstream: str, latency: float) -> None:
    from tests.support.fault_proxy import FaultProxy

    with FaultProxy(upstream, latency=latency) as proxy:
        print(proxy.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


# -- the floor: a bare pool of 16 connections ----------------------------------------------------


class PoolFloor:
    def __init__(self, target: FarTarget, connections: int = FLOOR_CONNECTIONS) -> None:
        self.connections = connections
        self.url = target.url
        self.token = target.token
        self.local = threading.local()
        self.sessions: list[requests.Session] = []
        self.requests = 0
        self.lock = threading.Lock()

    def session(self) -> requests.Session:
        session = getattr(self.local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(
                {
                    "Authorization": f"Bearer {self.token}",
                    "Accept": "application/scim+json",
                    "Content-Type": "application/scim+json",
                }
            )
            self.local.session = session
            with self.lock:
                self.sessions.append(session)
        return session

    def send(self, method: str, path: str, body: Any, expected: int) -> dict:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        response = self.session().request(method, self.url + path, data=data, timeout=HTTP_TIMEOUT)
        with self.lock:
            self.requests += 1
        if response.status_code != expected:
            raise RuntimeError(f"floor: {method} {path} -> {response.status_code} {response.text}")
        return response.json() if response.content else {}

    def run(self, payloads: dict[str, Any]) -> dict[str, Any]:
        users, groups, members = payloads["users"], payloads["groups"], payloads["members"]
        phases = {}
        started = time.perf_counter()
        with ThreadPoolExecutor(self.connections) as pool:
            created = pool.map(
                lambda item: (item[0], self.send("POST", "/Users", item[1], 201)), users.items()
            )
            user_targets = {source_id: body["id"] for source_id, body in created}
            phases["users"] = time.perf_counter() - started
            created = pool.map(
                lambda item: (item[0], self.send("POST", "/Groups", item[1], 201)), groups.items()
            )
            group_targets = {source_id: body["id"] for source_id, body in created}
            phases["groups"] = time.perf_counter() - started - phases["users"]
            patches = []
            for group_id, user_ids in members.items():
                targets = sorted(user_targets[u] for u in user_ids)
                for start in range(0, len(targets), initial_cycle.MEMBERS_PER_PATCH):
                    patches.append(
                        (
                            group_targets[group_id],
                            targets[start : start + initial_cycle.MEMBERS_PER_PATCH],
                        )
                    )
            list(
                pool.map(
                    lambda p: self.send(
                        "PATCH", f"/Groups/{p[0]}", initial_cycle.member_patch(p[1]), 204
                    ),
                    patches,
                )
            )
        wall = time.perf_counter() - started
        phases["members"] = wall - phases["users"] - phases["groups"]
        for session in self.sessions:
            session.close()
        return {"wall": wall, "requests": self.requests, "phases": phases}


# -- orchestration ---------------------------------------------------------------------------


def set_in_flight(in_flight: int) -> None:
    from provisioning.models import Application

    job = Application.objects.get(name=initial_cycle.APP_NAME).provisioning_job
    type(job).objects.filter(pk=job.pk).update(max_requests_in_flight=in_flight)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    common.configure_environment(args.database, initial_cycle.SQLITE_NAME)
    common.recreate_database(args.database, initial_cycle.SQLITE_NAME)
    common.setup_django(migrate=True)
    facts = common.machine_facts()
    facts["database"] = common.database_version()
    common.log(f"building the directory: {args.users} users, {args.groups} groups")
    _users, group_ids = common.build_directory(args.users, args.groups)
    application = common.add_bench_application(
        initial_cycle.APP_NAME,
        group_ids,
        {"tenant_url": "http://127.0.0.1:9/v2", "secret_token": "unset"},
    )
    payloads = initial_cycle.engine_payloads(application)
    rows = []
    if args.bulk:
        rows.append(measure_bulk(args, payloads))
    plan = [(latency, args.in_flight, FLOOR_CONNECTIONS) for latency in args.latency]
    if args.one_by_one_latency is not None:
        # One at a time: the engine with Maximum requests in flight = 1 against a bare
        # requests loop of one connection (what the engine did before this issue).
        plan.append((args.one_by_one_latency, 1, 1))
    for latency, in_flight, connections in plan:
        set_in_flight(in_flight)
        row: dict[str, Any] = {
            "latency_ms": latency,
            "in_flight": in_flight,
            "floor_connections": connections,
        }
        states = {}
        for which in ("floor", "engine"):
            with FarTarget(latency, direct=connections == 1) as target:
                load_before = load()
                if which == "floor":
                    result = PoolFloor(target, connections).run(payloads)
                else:
                    result = initial_cycle.run_engine(
                        args, target, "bulk"
                    )  # Bulk: the target says no
                result["load_before"], result["load_after"] = load_before, load()
                row[which] = result
                if not args.no_verify:
                    states[which] = initial_cycle.target_state(target.server)
            if which == "floor":
                common.log(
                    f"{latency:>4} ms floor ({connections} connections) {result['wall']:7.2f} s ({result['requests']} requests, "
                    f"{result['requests'] / result['wall']:.0f}/s, load {load_before:.2f}→{result['load_after']:.2f})"
                )
            else:
                counters = result["counters"]
                common.log(
                    f"{latency:>4} ms engine (≤ {in_flight} in flight) {result['wall']:7.2f} s ({result['request_total']} requests, "
                    f"{result['request_total'] / result['wall']:.0f}/s, concurrency reached "
                    f"{counters.get('requests_concurrency_highest')} of {counters.get('requests_max_in_flight')}, "
                    f"peak in flight {counters.get('requests_peak_in_flight')}, peak RSS "
                    f"{result['peak_rss_mb'] or 0:.0f} MB, {result['cycle_state']}, "
                    f"load {load_before:.2f}→{result['load_after']:.2f})"
                )
        row["ratio"] = row["engine"]["wall"] / row["floor"]["wall"]
        if states:
            row["target_comparison"] = initial_cycle.compare_states(
                states["floor"], states["engine"]
            )
            common.log(f"target comparison: {row['target_comparison']}")
        rows.append(row)
    return {
        "benchmark": "far_target",
        "users": args.users,
        "groups": args.groups,
        "in_flight": args.in_flight,
        "database": args.database,
        "machine": facts,
        "rows": rows,
    }


def measure_bulk(args: argparse.Namespace, payloads: dict[str, Any]) -> dict[str, Any]:
    """0 ms, with Bulk: scim2-server as it is (Bulk on, no proxy), the Bulk floor of
    ``bench/initial_cycle.py`` (Bulk requests of the target's maxOperations, then the groups,
    then the member PATCHes in Bulk) against the engine's initial cycle."""
    from tests.support.scim_server import start_scim_server

    row: dict[str, Any] = {"latency_ms": 0, "bulk": True}
    for which in ("floor", "engine"):
        with start_scim_server() as server:
            load_before = load()
            server_cpu = common.process_cpu_seconds(server.process.pid)
            if which == "floor":
                result = initial_cycle.Floor(server).run("bulk", payloads)
            else:
                result = initial_cycle.run_engine(args, server, "bulk")
            result["server_cpu"] = common.process_cpu_seconds(server.process.pid) - server_cpu
            result["load_before"], result["load_after"] = load_before, load()
            row[which] = result
        requests_sent = result.get("requests") if which == "floor" else result["request_total"]
        common.log(
            f"   0 ms Bulk {which:6} {result['wall']:7.2f} s ({requests_sent} requests, client "
            f"CPU {result['client_cpu']:.1f} s, server CPU {result['server_cpu']:.1f} s"
            + (f", peak RSS {result['peak_rss_mb'] or 0:.0f} MB" if which == "engine" else "")
            + f", load {load_before:.2f}→{result['load_after']:.2f})"
        )
    row["ratio"] = row["engine"]["wall"] / row["floor"]["wall"]
    return row


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"Far target: {result['users']} users + {result['groups']} groups, Bulk off, "
        f"engine ≤ {result['in_flight']} in flight, floor {FLOOR_CONNECTIONS} connections "
        f"({result['machine']['database']})",
        "| added latency | floor s (load) | engine s (load) | engine/floor | engine requests/s "
        "| concurrency reached | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        floor, engine = row["floor"], row["engine"]
        counters = engine["counters"]
        what = f"{row['latency_ms']:g} ms"
        if row.get("bulk"):
            what += ", Bulk (floor: Bulk)"
        elif row.get("in_flight") == 1:
            what += ", one at a time (floor: 1 connection)"
        lines.append(
            f"| {what} | {floor['wall']:.1f} ({floor['load_before']:.1f}) "
            f"| {engine['wall']:.1f} ({engine['load_before']:.1f}) | {row['ratio']:.2f} "
            f"| {engine['request_total'] / engine['wall']:.0f} "
            f"| {counters.get('requests_concurrency_highest')} "
            f"| {engine['peak_rss_mb'] or 0:.0f} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument(
        "--latency", type=lambda s: [float(x) for x in s.split(",")], default=[50.0, 150.0]
    )
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument(
        "--one-by-one-latency",
        type=float,
        default=None,
        help="also the engine with 1 in flight against a 1-connection floor, at this latency",
    )
    parser.add_argument(
        "--bulk", action="store_true", help="also 0 ms with Bulk against the Bulk floor"
    )
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--no-verify", action="store_true")
    parser.add_argument("--json", help="write the results there (default var/bench/…)")
    parser.add_argument("--proxy", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--proxy":
        serve_proxy(sys.argv[2], float(sys.argv[3]))
        return
    if "--child" in sys.argv:
        initial_cycle.main()
        return
    args = parse_args()
    result = measure(args)
    text = summary(result)
    print(text)
    path = Path(args.json or common.BENCH_DIR / f"far-target-{int(time.time())}.json")
    path.write_text(json.dumps(result, default=str, indent=1))
    common.log(f"results written to {path}")
    common.drop_database(args.database)


if __name__ == "__main__":
    main()
