"""A real OpenID Provider for the sign-in tests: ``oidc_provider/server.mjs`` (panva's certified
``oidc-provider`` from npm) in a Node process on loopback. ``npm ci`` installs it from the
committed lock file the first time (the npm registry is reachable from CI)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import _STARTED, ManagedProcess, wait_until

HERE = Path(__file__).resolve().parent / "oidc_provider"


@dataclass
class OpenIDProvider:
    issuer: str
    client_id: str
    client_secret: str
    process: ManagedProcess

    @property
    def settings(self) -> dict[str, str]:
        return {
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/auth",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/me",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks",
        }

    def stop(self) -> None:
        self.process.stop()


def install() -> None:
    if (HERE / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed for the OpenID Connect tests (Node 20+).")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300)


def start_openid_provider(redirect_uri: str, accounts: dict[str, dict]) -> OpenIDProvider:
    install()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client_id, client_secret = "provisioning-portal", os.urandom(16).hex()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "REDIRECT_URI": redirect_uri,
        "ACCOUNTS": json.dumps(accounts),
    }
    log = Path(tempfile.mkstemp(prefix="oidc-provider-", suffix=".log")[1])
    with log.open("w") as handle:
        popen = subprocess.Popen(
            [shutil.which("node") or "node", "server.mjs"],
            cwd=HERE,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = ManagedProcess("oidc-provider", popen, log)
    _STARTED.append(process)  # killed at exit like the other helpers' processes
    issuer = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if not process.alive():
            raise AssertionError(f"the OpenID provider exited:\n{process.log()}")
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2):
                return True
        except OSError:
            return False

    wait_until(answers, timeout=30, message=process.log)
    return OpenIDProvider(issuer, client_id, client_secret, process)


__all__ = ["OpenIDProvider", "start_openid_provider"]
