"""Start and stop the real ``scim2-server`` (in-memory SCIM 2.0 target) on loopback.

Used by the integration fixture and reusable by run scripts and benchmarks::

    with start_scim_server(token="t") as server:
        print(server.url)        # http://127.0.0.1:PORT/v2
        server.wipe()            # delete every User and Group

The server speaks HTTP/1.0 (no keep-alive), keeps everything in memory and
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

HOST = "127.0.0.1"
READY_TIMEOUT = 15.0
WIPE_MAX_ROUNDS = 50


def free_port() -> int:
    """A port that was free a moment ago (the server retries on the rare race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def scim_server_executable() -> str:
    """The ``scim2-server`` console script beside this interpreter, else on PATH."""
    beside = Path(sys.executable).with_name("scim2-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("scim2-server")
    if not found:
        raise RuntimeError("scim2-server is not installed (pip install scim2-server)")
    return found


@dataclass
class ScimServer:
    """A running scim2-server process."""

    process: subprocess.Popen[bytes]
    port: int
    token: str
    log_path: Path
    host: str = HOST
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The SCIM base URL (what the gallery calls the tenant URL)."""
        return f"{self.base_url}/v2"

    @property
    def credentials(self) -> dict[str, str]:
        return {"tenant_url": self.url, "secret_token": self.token}

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/scim+json"}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Talk to the server directly (for assertions), bypassing any connector."""
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 10)
        return self._session.request(method, f"{self.url}{path}", headers=headers, **kwargs)

    def get_resource(self, endpoint: str, resource_id: str) -> dict[str, Any] | None:
        response = self.request("GET", f"/{endpoint}/{resource_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def all_resources(self, endpoint: str) -> list[dict[str, Any]]:
        """Every resource of an endpoint, paging 1000 at a time (bounded)."""
        found: list[dict[str, Any]] = []
        for _round in range(1000):
            response = self.request(
                "GET", f"/{endpoint}", params={"startIndex": len(found) + 1, "count": 1000}
            )
            response.raise_for_status()
            page = response.json().get("Resources") or []
            found.extend(page)
            if not page or len(found) >= response.json().get("totalResults", 0):
                break
        return found

    def wipe(self) -> None:
        """Delete every Group and User, with Bulk DELETEs of up to 1000 operations."""
        for endpoint in ("Groups", "Users"):
            for _round in range(WIPE_MAX_ROUNDS):
                ids = [r["id"] for r in self.all_resources(endpoint)]
                if not ids:
                    break
                for start in range(0, len(ids), 1000):
                    operations = [
                        {"method": "DELETE", "path": f"/{endpoint}/{i}"}
                        for i in ids[start : start + 1000]
                    ]
                    self.request(
                        "POST",
                        "/Bulk",
                        json={
                            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                            "Operations": operations,
                        },
                        headers={"Content-Type": "application/scim+json"},
                    ).raise_for_status()
            else:
                raise RuntimeError(f"could not empty /{endpoint}")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        self._session.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        with contextlib.suppress(OSError):
            self.log_path.unlink()

    def __enter__(self) -> ScimServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _wait_until_ready(server: ScimServer, deadline: float) -> bool:
    """Poll /ServiceProviderConfig until it answers 200; False if the process died."""
    probe = requests.Session()
    try:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                response = probe.get(
                    f"{server.url}/ServiceProviderConfig",
                    headers=server._headers(),
                    timeout=0.5,
                )
                if response.status_code == 200:
                    return True
            except requests.RequestException:
                pass
            # Wait a little for the process, which also notices an early exit.
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=0.05)
    finally:
        probe.close()
    raise TimeoutError(f"scim2-server not ready on {server.url}:\n{server.log_tail()}")


def start_scim_server(
    *,
    port: int | None = None,
    token: str | None = None,
    extra_args: tuple[str, ...] | list[str] = (),
    ready_timeout: float = READY_TIMEOUT,
) -> ScimServer:
    """Start scim2-server on 127.0.0.1 and return once it answers requests.

    ``extra_args`` are passed on (e.g. ``["--service-provider-config", path]``).
    """
    token = token or secrets.token_urlsafe(16)
    attempts = 1 if port is not None else 3
    last_log = ""
    for _attempt in range(attempts):
        chosen = port or free_port()
        log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - handed to the process
            prefix="scim2-server-", suffix=".log", delete=False
        )
        command = [
            scim_server_executable(),
            "--hostname",
            HOST,
            "--port",
            str(chosen),
            f"--bearer-token={token}",  # one argument: a token may start with "-"
            *extra_args,
        ]
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log_file.close()
        server = ScimServer(process, chosen, token, Path(log_file.name))
        deadline = time.monotonic() + ready_timeout
        try:
            if _wait_until_ready(server, deadline):
                return server
        except BaseException:
            server.stop()
            raise
        last_log = server.log_tail()
        server.stop()  # died early, most likely the port was taken meanwhile
    raise RuntimeError(f"scim2-server failed to start:\n{last_log}")
