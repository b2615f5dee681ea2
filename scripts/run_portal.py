#!/usr/bin/env python3
"""Run the whole portal in the foreground: web server, Celery worker, Celery beat, demo target.

Started by `make run` after migrations and `seed_demo`. The broker is the one configured in
CELERY_BROKER_URL or REDIS_URL; with neither set, Redis on 127.0.0.1:6379 when it answers, else
kombu's filesystem transport under var/. Ctrl-C (or any child dying) stops every process.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def main() -> int:
    env = dict(os.environ)
    if not env.get("CELERY_BROKER_URL") and not env.get("REDIS_URL"):
        env["CELERY_BROKER_URL"] = (
            "redis://127.0.0.1:6379/0" if redis_answers() else "filesystem://"
        )
    bind = env.get("PORTAL_BIND", "127.0.0.1:8000")
    demo_url = env.get("DEMO_SCIM_URL", "http://127.0.0.1:8081/v2")
    demo_token = env.get("DEMO_SCIM_TOKEN", "demo-scim-token")
    demo = urlsplit(demo_url)
    env.setdefault("PORTAL_BASE_URL", f"http://{bind}")
    # GoTo's real API cannot be reached from a development machine: unless GOTO_* settings are
    # given, the demo points the Citrix GoToMeeting connector at a local fake of GoTo's API.
    goto_port = env.get("DEMO_GOTO_PORT", "8082")
    fake_goto = "GOTO_ADMIN_API_URL" not in env
    if fake_goto:
        from provisioning.demo.goto_api import (
            FAKE_ADMIN_EMAIL,
            FAKE_ADMIN_PASSWORD,
            FAKE_CLIENT_ID,
            FAKE_CLIENT_SECRET,
        )

        env.update(
            GOTO_OAUTH_TOKEN_URL=f"http://127.0.0.1:{goto_port}/oauth/token",
            GOTO_OAUTH_AUTHORIZE_URL=f"http://127.0.0.1:{goto_port}/oauth/authorize",
            GOTO_ADMIN_API_URL=f"http://127.0.0.1:{goto_port}/admin/rest/v1",
            GOTO_CLIENT_ID=FAKE_CLIENT_ID,
            GOTO_CLIENT_SECRET=FAKE_CLIENT_SECRET,
        )

    commands = {
        "demo-target": [
            str(BIN / "scim2-server"),
            "--hostname", demo.hostname or "127.0.0.1",
            "--port", str(demo.port or 8081),
            "--bearer-token", demo_token,
        ],
        **(
            {
                "demo-goto": [
                    sys.executable, "-m", "provisioning.demo.goto_api", "--port", goto_port,
                    # The portal's Authorize callback, as registered on GoTo's OAuth client.
                    "--redirect-uri", f"{env['PORTAL_BASE_URL']}/goto/authorize/callback/",
                ]
            }
            if fake_goto
            else {}
        ),
        "web": [sys.executable, "manage.py", "runserver", bind, "--noreload"],
        "worker": [
            sys.executable, "-m", "celery", "-A", "portal", "worker",
            "--loglevel", "INFO", "--concurrency", "2", "--hostname", "worker@%h",
        ],
        "beat": [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO"],
    }  # fmt: skip
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    broker = env["CELERY_BROKER_URL"].split("://")[0]
    print(
        "\nProvisioning Portal is starting:\n"
        f"  portal:       http://{bind}/  (Django admin at http://{bind}/admin/)\n"
        f"  demo target:  {demo_url}  (scim2-server, bearer token {demo_token})\n"
        f"  worker, beat: Celery on the {broker} broker\n"
        + (
            f"  GoTo:         a local fake of GoTo's API at http://127.0.0.1:{goto_port} (not GoTo); "
            f"Admin User Name {FAKE_ADMIN_EMAIL}, Admin Password {FAKE_ADMIN_PASSWORD} "
            "(also the sign-in of its Authorize page)\n"
            if fake_goto
            else ""
        )
        + f"  logins:       admin / {env.get('DEMO_ADMIN_PASSWORD', 'admin-demo-password')}, "
        f"auditor / {env.get('DEMO_AUDITOR_PASSWORD', 'auditor-demo-password')} "
        "(as first seeded; a password changed since is kept)\n"
        "Press Ctrl-C to stop everything.\n",
        flush=True,
    )

    exit_code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with code {process.returncode}; stopping.", flush=True)
                exit_code = process.returncode or 1
                stopping = True
                break
        time.sleep(0.5)

    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
