"""The production configuration, started as the image starts it but without Docker (issue 12,
item 13): ``DEBUG=false``, ``migrate`` and ``collectstatic``, gunicorn with
``docker/gunicorn.conf.py`` serving static files through WhiteNoise, PostgreSQL (a database of
its own), Redis (a queue of its own), a Celery worker and beat — driven in Chromium.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tests.support.processes import (
    REDIS_URL,
    ManagedProcess,
    _start,
    new_queue_name,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "production-test-" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


@dataclass
class Production:
    url: str
    env: dict[str, str]
    processes: list[ManagedProcess]
    application_id: int

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in self.processes)


def _postgres_admin_dsn() -> dict:
    db = connection.settings_dict
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or None,
        "dbname": "postgres",
    }


@pytest.fixture(scope="module")
def production_database() -> Iterator[str]:
    import psycopg

    if connection.vendor != "postgresql":
        pytest.skip("the production configuration runs on PostgreSQL")
    dsn = _postgres_admin_dsn()
    name = f"pp_production_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(**dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{dsn['password']}" if dsn["password"] else ""
    try:
        yield f"postgres://{dsn['user']}{password}@{dsn['host']}:{dsn['port']}/{name}"
    finally:
        with psycopg.connect(**dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_environment(database_url: str, var_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_", "DEMO_"))
        and k not in ("DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DEBUG")
    }
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=REDIS_URL,
        CELERY_TASK_DEFAULT_QUEUE=new_queue_name(),
        PORTAL_VAR_DIR=str(var_dir),
        STATIC_ROOT=str(var_dir / "staticfiles"),
        # Plain HTTP on loopback here; the image sits behind TLS, where these stay on.
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        PROVISIONING_DISPATCH_SECONDS="2",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        DEMO_ADMIN_PASSWORD=ADMIN_PASSWORD,
        DEMO_AUDITOR_PASSWORD=secrets.token_hex(12),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def production(production_database) -> Iterator[Production]:
    var_dir = Path(tempfile.mkdtemp(prefix="portal-production-"))
    port = free_port()
    env = production_environment(production_database, var_dir, port)
    # What the image and compose do: migrate, collectstatic (at build), then the three processes.
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    manage(env, "seed_demo", "--force")
    found = manage(
        env,
        "shell",
        "-c",
        "from provisioning.models import Application; "
        "print(Application.objects.get(name='Demo SCIM app').pk)",
    )
    application_id = int(found.stdout.strip().splitlines()[-1])
    gunicorn = _start(
        "gunicorn",
        ["-m", "gunicorn", "portal.wsgi:application", "--config", "docker/gunicorn.conf.py"],
        env,
    )
    worker = _start(
        "worker",
        ["-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO", "--concurrency", "1",
         "--queues", env["CELERY_TASK_DEFAULT_QUEUE"], "--hostname", f"prod-{port}@%h",
         "--without-gossip", "--without-mingle"],
        env,
    )  # fmt: skip
    beat = _start(
        "beat",
        ["-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO",
         "--schedule", str(var_dir / "celerybeat-schedule")],
        env,
    )  # fmt: skip
    running = Production(f"http://127.0.0.1:{port}", env, [gunicorn, worker, beat], application_id)
    try:
        wait_until(
            lambda: get(running.url + "/healthz")[0] == 200 or not gunicorn.alive(),
            timeout=60,
            message=running.logs,
        )
        assert gunicorn.alive(), running.logs()
        yield running
    finally:
        for process in (beat, worker, gunicorn):
            process.stop()


def test_readyz_is_ok_with_database_broker_beat_and_keys(production):
    def ready():
        status, body = get(production.url + "/readyz")
        return status == 200 and json.loads(body)

    body = wait_until(ready, timeout=60, message=production.logs)
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "beat": "ok", "encryption_keys": "ok"},
    }


def test_sign_in_and_the_provisioning_tab_loads_with_its_css_and_no_console_error(
    production, browser
):
    context = browser.new_context(base_url=production.url, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    stylesheets: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            stylesheets.append((r.url, r.status, r.headers.get("content-type", "")))
            if r.request.resource_type == "stylesheet"
            else None
        ),
    )
    try:
        page.goto("/")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Home", exact=True).wait_for()

        response = page.goto(f"/apps/{production.application_id}/provisioning/")
        assert response.status == 200
        page.get_by_text("Admin Credentials").first.wait_for()
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        # The stylesheet is WhiteNoise's hashed, compressed copy, and it applies.
        assert stylesheets, "no stylesheet was loaded"
        url, status, content_type = stylesheets[0]
        assert status == 200 and content_type.startswith("text/css")
        assert re.search(r"/static/css/portal\.[0-9a-f]{12}\.css$", url), url
        rules = page.evaluate(
            "Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0)"
        )
        assert rules > 10
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
        assert errors == [], errors
    finally:
        context.close()


def test_production_refuses_to_start_without_a_secret_key(production):
    env = {k: v for k, v in production.env.items() if k != "SECRET_KEY"}
    env["GUNICORN_BIND"] = f"127.0.0.1:{free_port()}"
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--config",
         "docker/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stdout + result.stderr
