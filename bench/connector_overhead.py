"""Diagnostic: the SCIM connector's own cost per request, against a bare requests loop.

    .venv/bin/python bench/connector_overhead.py [--requests 500] [--blocks 3]

One scim2-server; blocks of ``--requests`` user creates alternate between a bare ``requests``
session and ``ScimConnector.create`` (same payload shape, no database, no engine). Wall time,
client CPU and server CPU per request show how much of the engine's one-by-one overhead is in
the connector/HTTP layer rather than in the engine's stages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import requests

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def flat_user(n: int) -> dict:
    upn = f"probe{n:07d}@contoso.example"
    return {
        "userName": upn,
        "active": True,
        "displayName": f"Probe {n}",
        "title": "Engineer",
        'emails[type eq "work"].value': upn,
        "preferredLanguage": "en-US",
        "name.givenName": "Probe",
        "name.familyName": f"User {n}",
        "name.formatted": f"Probe User {n}",
        'addresses[type eq "work"].country': "TW",
        'phoneNumbers[type eq "mobile"].value': f"+886 2 {n:07d}",
        "externalId": f"ext-{n}",
        f"{ENTERPRISE}:employeeNumber": str(n),
        f"{ENTERPRISE}:department": "Research",
        'roles[primary eq "True"].value': "User",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()
    from provisioning.connectors import ScimConnector, scim_paths
    from tests.support.scim_server import start_scim_server

    results: dict[str, list[dict]] = {"floor": [], "connector": []}
    counter = 0
    with start_scim_server() as server:
        session = requests.Session()
        session.headers.update(
            {
                "Authorization": f"Bearer {server.token}",
                "Accept": "application/scim+json",
                "Content-Type": "application/scim+json",
            }
        )
        connector = ScimConnector(server.credentials)
        connector.capabilities()
        for _block in range(args.blocks):
            for which in ("floor", "connector"):
                flats = [flat_user(counter + i) for i in range(args.requests)]
                counter += args.requests
                bodies = [scim_paths.to_resource("User", f) for f in flats]
                server_cpu = common.process_cpu_seconds(server.process.pid)
                cpu = common.process_cpu_seconds()
                started = time.perf_counter()
                if which == "floor":
                    for body in bodies:
                        data = json.dumps(body, ensure_ascii=False).encode()
                        response = session.post(f"{server.url}/Users", data=data, timeout=60)
                        assert response.status_code == 201, response.text
                        response.json()["id"]
                else:
                    for flat in flats:  # the connector builds the body itself (to_resource)
                        connector.create("User", flat)["id"]
                wall = time.perf_counter() - started
                row = {
                    "wall_ms": 1000 * wall / args.requests,
                    "client_cpu_ms": 1000 * (common.process_cpu_seconds() - cpu) / args.requests,
                    "server_cpu_ms": 1000
                    * (common.process_cpu_seconds(server.process.pid) - server_cpu)
                    / args.requests,
                }
                results[which].append(row)
                common.log(f"{which:9} " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
        connector.close()
        session.close()
    for which, rows in results.items():
        print(
            f"{which:9} median per request: "
            + ", ".join(f"{key} {statistics.median(r[key] for r in rows):.2f}" for key in rows[0])
        )


if __name__ == "__main__":
    main()
