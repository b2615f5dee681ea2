"""Real Celery worker and beat processes for integration and end-to-end tests.

They share the test database (PostgreSQL: Django's test database; SQLite: the file named in
settings' TEST NAME) and get a queue of their own on the machine's Redis, so parallel test runs
never take each other's tasks. Every process is stopped at the end, killed if it must be.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_database_url() -> str:
    """The URL of the database the current test uses, for another process."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db.get("USER") or "postgres"
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def process_environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        CELERY_BROKER_URL=REDIS_URL,
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        SECRET_KEY="test-secret-key-for-subprocesses",
        DEBUG="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen
    log_path: Path
    extra: dict = field(default_factory=dict)

    def log(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, not a shutdown."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


_STARTED: list[ManagedProcess] = []


@atexit.register
def _kill_leftovers() -> None:
    """Never leave a worker or beat behind, even when a test run ends abruptly."""
    for process in _STARTED:
        try:
            process.kill()
        except (OSError, subprocess.SubprocessError):
            pass


def _start(name: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
    log = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
    handle = log.open("w")
    popen = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    process = ManagedProcess(name, popen, log)
    _STARTED.append(process)
    return process


def new_queue_name() -> str:
    return f"pp-test-{uuid.uuid4().hex[:10]}"


def start_worker(
    queue: str, *, name: str = "worker", concurrency: int = 1, **env: str
) -> ManagedProcess:
    environment = process_environment(CELERY_TASK_DEFAULT_QUEUE=queue, **env)
    hostname = f"{name}-{uuid.uuid4().hex[:6]}@%h"
    return _start(
        name,
        ["-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO", "--pool", "prefork",
         "--concurrency", str(concurrency), "--hostname", hostname, "--queues", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        environment,
    )  # fmt: skip


def start_beat(queue: str, *, name: str = "beat", **env: str) -> ManagedProcess:
    environment = process_environment(CELERY_TASK_DEFAULT_QUEUE=queue, **env)
    schedule = Path(tempfile.mkdtemp(prefix="beat-")) / "schedule"
    return _start(
        name,
        ["-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO", "--schedule", str(schedule)],
        environment,
    )


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1, message=""):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes.

    ``message`` may be a callable, called only on failure (e.g. to read process logs then).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(text or f"condition not met within {timeout} s")
        time.sleep(interval)


def route_this_process_to(queue: str):
    """Make ``.delay()`` in this process (e.g. the live server's thread) reach a test worker: the
    Redis broker and the run's queue. Returns a function that restores the previous state.

    kombu keeps its connection and producer pools in process-wide registries keyed by the broker
    URL: closing one pool (``force_close_all``) would leave a closed pool registered for every
    later test that publishes to the same Redis ("Acquire on closed pool"). ``kombu.pools.reset``
    closes them and empties the registries."""
    from kombu import pools

    from portal.celery import app

    saved = {
        key: app.conf.get(key)
        for key in ("broker_url", "task_default_queue", "broker_transport_options")
    }

    def reset_connections() -> None:
        pools.reset()
        app._pool = None
        app.__dict__.pop("amqp", None)

    app.conf.update(broker_url=REDIS_URL, task_default_queue=queue, broker_transport_options={})
    reset_connections()

    def restore() -> None:
        reset_connections()
        app.conf.update(saved)

    return restore
