"""What both benchmarks share: Django set-up on a scratch database, the directory, measurements.

Scripts in ``bench/`` are run as ``.venv/bin/python bench/<name>.py``; they configure Django
themselves (``portal.settings``, DEBUG off so Django does not keep every query in memory), on a
scratch SQLite file under ``var/bench/`` or on the PostgreSQL database ``bench_portal`` that they
drop and create. Measured engine cycles run in a child process (the same script with ``--child``)
so that its peak RSS is the cycle's and not the set-up's.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = ROOT / "var" / "bench"
# A fixed Fernet key and secret: the bench's databases are scratch, and DEBUG is off.
BENCH_FERNET_KEY = "YmVuY2gtb25seS1rZXktZG8tbm90LXVzZS0zMmJ5dGU="
BENCH_SECRET_KEY = "bench-only-secret-key-not-for-production-use-0123456789"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Scratch database (dropped and created); engineers running benchmarks side by side each set their own.
POSTGRES_DB = os.environ.get("BENCH_POSTGRES_DB", "bench_portal")

GROUP_ROLE = "User"
JOB_TITLES = ["Engineer", "Analyst", "Designer", "Manager", "Consultant", "Technician"]
DEPARTMENTS = ["Research", "Sales", "Support", "Finance", "Operations", "Legal", "Marketing"]
COUNTRIES = ["TW", "US", "FR", "DE", "JP"]
GIVEN = ["Alice", "Bruno", "Chen", "Dana", "Émile", "Farah", "Goro", "Hana", "Ivan", "June"]
FAMILY = ["Liddell", "Lin", "Martin", "Müller", "Sato", "Okafor", "Nguyen", "Rossi"]


def database_url(database: str, sqlite_name: str) -> str:
    if database == "postgres":
        return f"postgres://postgres@127.0.0.1:5432/{POSTGRES_DB}"
    return f"sqlite:///{BENCH_DIR / sqlite_name}"


def configure_environment(database: str, sqlite_name: str) -> None:
    """Environment for portal.settings; must run before Django is imported."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = database_url(database, sqlite_name)
    os.environ["FIELD_ENCRYPTION_KEYS"] = BENCH_FERNET_KEY
    os.environ["SECRET_KEY"] = BENCH_SECRET_KEY
    os.environ["DEBUG"] = "false"
    os.environ["PORTAL_VAR_DIR"] = str(BENCH_DIR)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The benchmarks' targets (scim2-server, the fault proxy) listen on loopback only.
    os.environ.setdefault("PROVISIONING_ALLOWED_TARGET_NETWORKS", "127.0.0.0/8")


def recreate_database(database: str, sqlite_name: str) -> None:
    """Drop and create the scratch database (closing Django's connections first)."""
    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    if database == "postgres":
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {POSTGRES_DB}")
    else:
        path = BENCH_DIR / sqlite_name
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def drop_database(database: str) -> None:
    if database != "postgres":
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")


def setup_django(migrate: bool) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


# -- measurements -------------------------------------------------------------------------


class QueryCounter:
    """Counts SQL statements through ``connection.execute_wrapper`` (no SQL text is kept)."""

    def __init__(self) -> None:
        self.count = 0
        self.by_verb: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        self.by_verb[sql.lstrip().split(None, 1)[0].upper()] += 1
        return execute(sql, params, many, context)


@contextmanager
def counting_queries() -> Iterator[QueryCounter]:
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def proc_status_mb() -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS of this process's address space) in MiB, from /proc."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
    return values


def process_cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default), from /proc/PID/stat."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_backend_pid() -> int | None:
    """The PostgreSQL backend serving this connection (same machine), else None."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if Path(f"/proc/{pid}/stat").exists() else None


def all_resources(server, endpoint: str, page: int = 500) -> list[dict[str, Any]]:
    """Every resource of an endpoint (bounded pages, generous timeout: the box is shared)."""
    found: list[dict[str, Any]] = []
    for _round in range(10_000):
        response = server.request(
            "GET", f"/{endpoint}", params={"startIndex": len(found) + 1, "count": page}, timeout=300
        )
        response.raise_for_status()
        body = response.json()
        found.extend(body.get("Resources") or [])
        if not body.get("Resources") or len(found) >= body.get("totalResults", 0):
            break
    return found


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class RequestLog:
    """The connector's ``on_request`` hook: counts requests by method and endpoint."""

    def __init__(self, keep_bodies: bool = False) -> None:
        self.counts: Counter = Counter()
        self.statuses: Counter = Counter()
        self.bodies: list[tuple[str, str, Any]] = []
        self.keep_bodies = keep_bodies

    def __call__(self, recorded, status) -> None:
        path = urlsplit(recorded.url).path
        endpoint = path.split("/v2/", 1)[-1].split("/", 1)[0]
        self.counts[f"{recorded.method} /{endpoint}"] += 1
        self.statuses[str(status)] += 1
        if self.keep_bodies and recorded.method == "POST":
            self.bodies.append((recorded.method, endpoint, recorded.json_body))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# -- the directory --------------------------------------------------------------------------


def build_directory(users: int, groups: int, *, prefix: str = "user") -> tuple[list, list]:
    """``users`` directory users spread round-robin over ``groups`` groups (bulk_create).

    Returns (user ids, group ids), in creation order. Every attribute the default SCIM mapping
    reads has a realistic value, so the payloads have the size of real ones (~0.8 KB).
    """
    from provisioning.models import DirectoryGroup, DirectoryUser, GroupMembership

    group_objects = [
        DirectoryGroup(
            display_name=f"Bench group {g:04d}",
            mail=f"group{g}@contoso.example",
            mail_nickname=f"group{g}",
            description=f"Benchmark group {g}",
        )
        for g in range(groups)
    ]
    DirectoryGroup.objects.bulk_create(group_objects, batch_size=1000)
    user_ids = []
    for start in range(0, users, 5000):
        batch = []
        for i in range(start, min(users, start + 5000)):
            given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // 7) % len(FAMILY)]
            upn = f"{prefix}{i:06d}@contoso.example"
            batch.append(
                DirectoryUser(
                    user_principal_name=upn,
                    mail=upn,
                    given_name=given,
                    surname=family,
                    display_name=f"{given} {family} {i}",
                    job_title=JOB_TITLES[i % len(JOB_TITLES)],
                    department=DEPARTMENTS[i % len(DEPARTMENTS)],
                    employee_id=str(100000 + i),
                    mobile=f"+886 2 {i:07d}",
                    country=COUNTRIES[i % len(COUNTRIES)],
                    preferred_language="en-US",
                )
            )
        DirectoryUser.objects.bulk_create(batch, batch_size=1000)
        GroupMembership.objects.bulk_create(
            [
                GroupMembership(group_id=group_objects[n % groups].pk, member_user_id=u.pk)
                for n, u in enumerate(batch, start=start)
            ],
            batch_size=1000,
        )
        user_ids.extend(u.pk for u in batch)
    return user_ids, [g.pk for g in group_objects]


def add_bench_application(name: str, group_ids: list, credentials: dict[str, str]):
    """An application from the SCIM gallery entry, the groups assigned with the role "User"."""
    from provisioning.choices import ProvisioningMode
    from provisioning.models import Assignment
    from provisioning.services.applications import add_application

    application = add_application("scim", name)
    role = application.roles.get(name=GROUP_ROLE)
    Assignment.objects.bulk_create(
        [Assignment(application=application, group_id=g, role=role) for g in group_ids]
    )
    job = application.provisioning_job
    job.credentials = credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    return application


def bench_connector(credentials: dict[str, str], request_log: RequestLog, bulk: bool | None):
    """The SCIM connector as the engine builds it, with the counting hook.

    ``bulk=False`` forces one request per object (capability override); ``None`` leaves the
    choice to what the target announces.
    """
    from provisioning.connectors import ScimConnector

    overrides = {"bulk": False} if bulk is False else None
    return ScimConnector(credentials, on_request=request_log, capability_overrides=overrides)


# -- child processes --------------------------------------------------------------------------


def run_child(script: Path, arguments: list[str], timeout: float) -> dict[str, Any]:
    """Run ``script --child …`` in a fresh interpreter and return the JSON it wrote."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    out = BENCH_DIR / f"child-{os.getpid()}-{time.monotonic_ns()}.json"
    command = [sys.executable, str(script), "--child", "--child-output", str(out), *arguments]
    completed = subprocess.run(command, timeout=timeout, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise RuntimeError(f"child {' '.join(command)} exited with {completed.returncode}")
    try:
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def write_json(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, default=str, indent=1))


def machine_facts() -> dict[str, str]:
    def run(*command: str) -> str:
        try:
            return subprocess.run(
                command, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    cpu = "?"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    return {
        "nproc": run("nproc"),
        "memory": run("free", "-h").splitlines()[1] if run("free", "-h") else "?",
        "cpu": cpu,
        "python": platform.python_version(),
        "scim2-server": version("scim2-server"),
        "django": version("django"),
        "requests": version("requests"),
    }


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
        cursor.execute("select sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)
