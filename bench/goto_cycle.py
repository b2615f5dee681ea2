"""Benchmark: the engine's initial cycle against the fake GoTo API at 10 requests per second.

    .venv/bin/python bench/goto_cycle.py [--users 10000] [--latency 100] [--in-flight 16]

GoTo allows 10 requests per second and sends no ``Retry-After`` (issue 16). The fake GoTo API
(:mod:`provisioning.demo.goto_api`, its rate limit on, 10 per second) runs **in its own process**
(it never competes with the measured engine for the GIL) and answers every request after
``--latency`` ms (GoTo is far away). The engine runs ``run_cycle(job, initial=True)`` in this
process for a GoToMeeting application with ``--users`` users assigned (role *User*: a licence),
the job's *Maximum requests in flight* = ``--in-flight``.

The floor is the rate limit itself: *requests sent / 10* seconds. GoTo's Admin API adds a list
of users with one ``POST`` (the engine sends up to 100 at once), the connector reads them back
with one filtered ``GET`` per ~60 addresses (the answer names only key and e-mail, and other
products' licences must be kept), then grants each user its licence with one ``PUT`` — about
1.03 requests per new user, plus the sign-in, ``/me``, the licences and the listing. The goal
(issue 16) is the *users / 10* seconds of one request per user, within 10 %: ``goal_ratio``.
The fake reports the most requests it received in any one-second
window (throttled ones included) and how many it refused with 429.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common

SQLITE_NAME = "goto-cycle.sqlite3"
APP_NAME = "Bench GoTo"
RATE = 10
os.environ.setdefault("PROVISIONING_ALLOWED_TARGET_NETWORKS", "127.0.0.0/8")


def load() -> float:
    return os.getloadavg()[0]


# -- the fake, in its own process ------------------------------------------------------------


def serve_fake(seats: int, latency: float) -> None:
    """Child: serve the fake; print its URL; answer "stats" on stdin with one JSON line."""
    from provisioning.demo.goto_api import FakeGoTo

    fake = FakeGoTo(rate_limit=RATE, latency=latency)
    account = fake.add_account(licences=(("GoToMeeting Business", ["G2M"], seats),))
    fake.add_admin(account=account)
    fake.start()
    print(fake.url, flush=True)
    for line in sys.stdin:
        if line.strip() == "stats":
            users = fake.users()
            licence = fake.g2m_licence_key()
            emails = [u["email"].lower() for u in users]
            stats = {
                "requests": len(fake.requests),
                "peak_per_second": fake.peak_requests_per_second(),
                "throttled": fake.throttled,
                "users": len(users),
                "distinct_emails": len(set(emails)),
                "licensed": sum(1 for u in users if licence in u["licenseKeys"]),
                # How many whole seconds of the run saw 0, 1, … 10+ requests arrive: where the
                # rate was left unused.
                "seconds_by_requests": seconds_by_requests([r.at for r in fake.requests]),
                "by_method": {
                    method: fake.count(method) for method in ("GET", "POST", "PUT", "DELETE")
                },
            }
            print(json.dumps(stats), flush=True)
        elif line.strip().startswith("dump "):
            # Every request the fake received (arrival, method, path, status), for analysis.
            path = line.strip()[len("dump ") :]
            rows = [[r.at, r.method, r.path.rsplit("/", 1)[-1], r.status] for r in fake.requests]
            Path(path).write_text(json.dumps(rows))
            print(json.dumps({"dumped": len(rows)}), flush=True)
        elif line.strip() == "stop":
            break
    fake.stop()


def seconds_by_requests(times: list[float]) -> dict[int, int]:
    if not times:
        return {}
    start = min(times)
    counts = [0] * (int(max(times) - start) + 1)
    for at in times:
        counts[int(at - start)] += 1
    histogram: dict[int, int] = {}
    for count in counts[:-1]:  # the last second is partial
        histogram[min(count, 10)] = histogram.get(min(count, 10), 0) + 1
    return dict(sorted(histogram.items()))


class FakeProcess:
    def __init__(self, seats: int, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--fake", str(seats), str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.close()
            raise RuntimeError(f"the fake GoTo did not start: {self.url!r}")

    def stats(self) -> dict[str, Any]:
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def dump(self, path: Path) -> None:
        self.process.stdin.write(f"dump {path}\n")
        self.process.stdin.flush()
        self.process.stdout.readline()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write("stop\n")
                self.process.stdin.flush()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                self.process.wait(timeout=10)


# -- the engine -------------------------------------------------------------------------------


def build_application(users: int, in_flight: int):
    from provisioning.choices import ProvisioningMode
    from provisioning.models import Assignment
    from provisioning.services.applications import add_application
    from tests.fakes.goto_api import FAKE_ADMIN_EMAIL, FAKE_ADMIN_PASSWORD

    _users, group_ids = common.build_directory(users, max(1, users // 100), prefix="goto")
    application = add_application("gotomeeting", APP_NAME)
    role = application.roles.get(name="User")
    Assignment.objects.bulk_create(
        [Assignment(application=application, group_id=g, role=role) for g in group_ids]
    )
    job = application.provisioning_job
    job.credentials = {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD}
    job.mode = ProvisioningMode.AUTOMATIC
    job.max_requests_in_flight = in_flight
    job.save()
    return job


def run_engine(job, url: str) -> dict[str, Any]:
    from provisioning.connectors.gotomeeting import GoToMeetingConnector
    from provisioning.demo.goto_api import API_PREFIX, TOKEN_PATH
    from provisioning.engine.cycle import run_cycle
    from tests.fakes.goto_api import (
        FAKE_ADMIN_EMAIL,
        FAKE_ADMIN_PASSWORD,
        FAKE_CLIENT_ID,
        FAKE_CLIENT_SECRET,
    )

    log = common.RequestLog()
    connector = GoToMeetingConnector(
        {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD},
        token_url=url + TOKEN_PATH,
        api_url=url + API_PREFIX,
        client_id=FAKE_CLIENT_ID,
        client_secret=FAKE_CLIENT_SECRET,
        requests_per_second=RATE,
        on_request=log,
    )
    common.reset_peak_rss()
    cpu = common.process_cpu_seconds()
    started = time.perf_counter()
    with connector:
        report = run_cycle(job, connector=connector, initial=True)
    wall = time.perf_counter() - started
    cycle = report.cycle
    return {
        "wall": wall,
        "client_cpu": common.process_cpu_seconds() - cpu,
        "cycle_state": cycle.state,
        "error": cycle.error,
        "counters": dict(cycle.counters),
        "request_total": log.total,
        "peak_rss_mb": common.proc_status_mb().get("VmHWM"),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    common.configure_environment("sqlite", SQLITE_NAME)
    common.recreate_database("sqlite", SQLITE_NAME)
    common.setup_django(migrate=True)
    facts = common.machine_facts()
    common.log(f"building the directory: {args.users} users")
    job = build_application(args.users, args.in_flight)
    fake = FakeProcess(args.users + 10, args.latency / 1000)
    try:
        load_before = load()
        common.log(f"engine cycle starts (load {load_before:.2f})")
        engine = run_engine(job, fake.url)
        load_after = load()
        stats = fake.stats()
        if args.dump_requests:
            fake.dump(Path(args.dump_requests).resolve())
    finally:
        fake.close()
    floor = stats["requests"] / RATE
    result = {
        "benchmark": "goto_cycle",
        "users": args.users,
        "latency_ms": args.latency,
        "in_flight": args.in_flight,
        "machine": facts,
        "engine": engine,
        "fake": stats,
        "floor": floor,
        "ratio": engine["wall"] / floor,
        "goal_seconds": args.users / RATE,
        "goal_ratio": engine["wall"] / (args.users / RATE),
        "load_before": load_before,
        "load_after": load_after,
    }
    common.log(
        f"engine {engine['wall']:.1f} s for {stats['requests']} requests "
        f"({stats['by_method']}); floor {floor:.1f} s at {RATE}/s; ratio {result['ratio']:.3f}; "
        f"{engine['wall'] / (args.users / RATE):.3f}× the {args.users / RATE:.0f} s of one "
        "request per user; "
        f"peak {stats['peak_per_second']} requests in one second, {stats['throttled']} throttled; "
        f"seconds by requests arrived {stats['seconds_by_requests']}; "
        f"users {stats['users']} ({stats['distinct_emails']} distinct, {stats['licensed']} "
        f"licensed); concurrency reached {engine['counters'].get('requests_concurrency_highest')}"
        f", peak in flight {engine['counters'].get('requests_peak_in_flight')}; client CPU "
        f"{engine['client_cpu']:.1f} s; peak RSS {engine['peak_rss_mb'] or 0:.0f} MB; "
        f"{engine['cycle_state']}; load {load_before:.2f}→{load_after:.2f}"
    )
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--fake":
        serve_fake(int(sys.argv[2]), float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=100.0, help="ms before every answer")
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--dump-requests", help="write every request the fake received there")
    parser.add_argument("--json", help="write the results there (default var/bench/…)")
    args = parser.parse_args()
    result = measure(args)
    path = Path(args.json or common.BENCH_DIR / f"goto-cycle-{int(time.time())}.json")
    path.write_text(json.dumps(result, default=str, indent=1))
    common.log(f"results written to {path}")


if __name__ == "__main__":
    main()
