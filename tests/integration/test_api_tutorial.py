"""The tutorial by API, end to end: a script with an API token and nothing else (plain HTTP
against the live portal) adds the app, fills the directory, assigns, sets the credentials, tests
the connection, starts provisioning and watches the cycle, then reads the logs; the users arrive
in the real scim2-server through real Celery worker and beat processes.

The worker shares the test database, so this commits (transaction=True) and runs on PostgreSQL.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from provisioning.models import ApiToken
from tests.api.conftest import make_login
from tests.conftest import TEST_ENCRYPTION_KEY
from tests.support.processes import (
    new_queue_name,
    route_this_process_to,
    start_beat,
    start_worker,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FAST = {
    "PROVISIONING_DISPATCH_SECONDS": "0.5",
    "PROVISIONING_WATCH_SECONDS": "0.5",
    "PROVISIONING_DEBOUNCE_SECONDS": "0.5",
    "FIELD_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
}
ENDED = {"Succeeded", "CompletedWithFailures", "Failed", "Abandoned"}


@pytest.fixture
def engine() -> Iterator[str]:
    """A worker and beat on a queue of their own; this process (the live server's thread)
    publishes its tasks there too."""

    queue = new_queue_name()
    worker = start_worker(queue, **FAST)
    beat = start_beat(queue, **FAST)
    restore = route_this_process_to(queue)
    try:
        wait_until(lambda: "ready" in worker.log() or not worker.alive(), timeout=30)
        assert worker.alive(), worker.log()
        yield lambda: f"--- worker\n{worker.log()}\n--- beat\n{beat.log()}"
    finally:
        restore()
        beat.stop()
        worker.stop()


class Api:
    """What a script does: HTTP with ``Authorization: Bearer``."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expected: int, **kwargs):
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        assert response.status_code == expected, (method, path, response.text[:500])
        return (
            response.json()
            if response.content and response.headers.get("Content-Type") == "application/json"
            else response
        )


def test_the_tutorial_by_api_provisions_users_into_scim2_server(live_server, scim, engine):
    admin = make_login("script.owner", "admin")
    _token, plain = ApiToken.issue(admin, "tutorial", timezone.now() + timedelta(days=1))
    api = Api(live_server.url, plain)

    # Add the application from the gallery.
    app = api.call("POST", "/applications/", 201, json={"template": "scim", "name": "Tutorial"})
    base = f"/applications/{app['id']}"

    # The directory: two people in a group, and one who is not assigned.
    users = [
        api.call(
            "POST",
            "/directory/users/",
            201,
            json={
                "user_principal_name": f"{name}@contoso.example",
                "display_name": name.title(),
                "given_name": name.title(),
                "surname": "Example",
                "mail": f"{name}@contoso.example",
            },
        )
        for name in ("britta", "abed", "pierce")
    ]
    group = api.call("POST", "/directory/groups/", 201, json={"display_name": "Study group"})
    for user in users[:2]:
        api.call(
            "POST", f"/directory/groups/{group['id']}/members/", 201, json={"user": user["id"]}
        )

    # Assign the group with the User role; Default Access would be flagged invalid.
    assignment = api.call(
        "POST", f"{base}/assignments/", 201, json={"group": group["id"], "role": "User"}
    )
    assert assignment["valid_for_provisioning"] is True

    # Credentials (write-only), then Test Connection with the stored ones.
    job = api.call(
        "PUT",
        f"{base}/provisioning/credentials/",
        200,
        json={"credentials": {"tenant_url": scim.url, "secret_token": scim.token}},
    )
    assert {c["name"]: c["stored"] for c in job["credentials"]} == {
        "tenant_url": True,
        "secret_token": True,
    }
    assert scim.token not in str(job)
    tested = api.call("POST", f"{base}/provisioning/test-connection/", 200, json={})
    assert tested["success"] is True, tested

    # Automatic mode, then start.
    api.call("PATCH", f"{base}/provisioning/", 200, json={"mode": "Automatic"})
    started = api.call("POST", f"{base}/provisioning/start/", 200)
    assert started["status"] == "On"

    # Watch the cycle until it has ended.
    def ended_cycle():
        cycles = api.call("GET", f"{base}/provisioning/cycles/", 200)["results"]
        done = [c for c in cycles if c["state"] in ENDED]
        return done[0] if done else None

    cycle = wait_until(ended_cycle, timeout=60, interval=0.5, message=engine)
    assert cycle["state"] == "Succeeded", cycle
    detail = api.call("GET", f"{base}/provisioning/cycles/{cycle['id']}/", 200)
    assert detail["percent_complete"] == 100

    # The users arrived in the target; the unassigned one did not.
    arrived = sorted(u["userName"] for u in scim.all_resources("Users"))
    assert arrived == ["abed@contoso.example", "britta@contoso.example"]

    # The logs, by page and as NDJSON.
    logs = api.call(
        "GET",
        f"{base}/provisioning-logs/",
        200,
        params={"cycle_id": cycle["id"], "action": "Create"},
    )["results"]
    assert {e["identity"] for e in logs if e["object_type"] == "User"} >= {
        "britta@contoso.example",
        "abed@contoso.example",
    }
    assert all(e["status"] == "Success" for e in logs)
    stream = api.call("GET", "/provisioning-logs/stream/", 200, params={"cycle_id": cycle["id"]})
    assert len(stream.text.splitlines()) >= len(logs)

    # Provision on demand: a newcomer in the group, provisioned now; the answer has the steps.
    newcomer = api.call(
        "POST",
        "/directory/users/",
        201,
        json={"user_principal_name": "annie@contoso.example", "display_name": "Annie"},
    )
    api.call(
        "POST", f"/directory/groups/{group['id']}/members/", 201, json={"user": newcomer["id"]}
    )
    on_demand = api.call(
        "POST",
        f"{base}/provisioning/provision-on-demand/",
        200,
        json={"user": newcomer["id"], "wait": 45},
    )
    assert on_demand["cycle"]["kind"] == "on_demand"
    [entry] = [e for e in on_demand["steps"] if e["object_type"] == "User"]
    assert entry["identity"] == "annie@contoso.example" and entry["status"] == "Success"
    assert [step["name"] for step in entry["steps"]][:1] == ["Import"]
    assert "annie@contoso.example" in {u["userName"] for u in scim.all_resources("Users")}

    # Every change the script made is in the audit log with the token as its channel.
    events = api.call("GET", "/audit-events/", 200, params={"application_id": app["id"]})["results"]
    assert {e["channel"] for e in events} == {"api:tutorial"}
    assert {e["activity"] for e in events} >= {
        "Add application",
        "Add app role assignment",
        "Update provisioning setting or credentials",
        "Enable/start provisioning configuration",
    }
    assert scim.token not in str(events)
