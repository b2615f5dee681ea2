"""The portal's CSV import with a real Celery worker: progress moves while it runs (issue 15).

The check and the import run on the worker; their progress (phase, rows or objects done of the
total) is written through a connection of its own, so the page — and its JSON — show it while
the import's transaction is still open. Observed by polling with a deadline, no sleeps.
"""

import time

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from provisioning.models import DirectoryImport, DirectoryUser
from provisioning.roles import ensure_roles
from tests.support.processes import new_queue_name, route_this_process_to, start_worker

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 30_000


@pytest.fixture
def worker():
    queue = new_queue_name()
    restore = route_this_process_to(queue)
    process = start_worker(queue)
    yield process
    process.stop()
    restore()


def big_users_csv(rows: int) -> bytes:
    lines = ["userPrincipalName,displayName,department,employeeId"]
    lines += [f"user{n:06d}@contoso.example,User {n},Sales,E{n:06d}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def follow(client, upload_id, until_state, *, timeout, seen, process):
    """Poll the progress JSON (and now and then the page) until ``until_state``."""
    url = reverse("directory-import-progress", args=[upload_id])
    page_url = reverse("directory-import", args=[upload_id])
    deadline = time.monotonic() + timeout
    polls = 0
    while time.monotonic() < deadline:
        answer = client.get(url).json()
        polls += 1
        if answer["running"] and answer["phase"]:
            seen.append((answer["state"], answer["phase"], answer["done"], answer["total"]))
            if polls % 10 == 0:
                page = client.get(page_url, HTTP_HX_REQUEST="true").content.decode()
                if "<progress" in page and 'data-testid="import-progress"' in page:
                    seen.append(("page", answer["phase"], answer["done"], answer["total"]))
        if answer["state"] == until_state:
            return answer
        assert answer["state"] not in ("Rejected", "Failed"), (answer, process.log())
    raise AssertionError(f"no {until_state} within {timeout} s: {seen[-5:]}\n{process.log()}")


def rising(seen, state):
    """Two observations of one phase, while running, where ``done`` went up below the total."""
    by_phase: dict[str, list[int]] = {}
    for observed_state, phase, done, total in seen:
        if observed_state == state and done < total:
            by_phase.setdefault(phase, []).append(done)
    return {phase: values for phase, values in by_phase.items() if len(set(values)) >= 2}


def test_a_large_import_shows_progress_rising_then_the_result(client, worker):
    administrators, _auditors = ensure_roles()
    admin = get_user_model().objects.create_user(username="importer")
    admin.groups.add(administrators)
    client.force_login(admin)

    response = client.post(
        reverse("directory-import-upload"),
        {"files": [SimpleUploadedFile("users.csv", big_users_csv(ROWS))]},
    )
    assert response.status_code == 302
    upload = DirectoryImport.objects.get()
    assert upload.rows == ROWS

    checked: list = []
    ready = follow(client, upload.pk, "Ready", timeout=180, seen=checked, process=worker)
    assert f"Users: {ROWS:,} created".replace(",", "") in "".join(ready["summary"]).replace(",", "")
    assert rising(checked, "Checking"), checked
    assert not DirectoryUser.objects.exists()

    assert client.post(reverse("directory-import-confirm", args=[upload.pk])).status_code == 302
    imported: list = []
    done = follow(client, upload.pk, "Completed", timeout=300, seen=imported, process=worker)
    assert rising(imported, "Importing"), imported
    # The import reported its writing phase too, objects out of the total to write.
    assert any(phase == "writing" and total == ROWS for _s, phase, _d, total in imported), imported
    assert any(kind == "page" for kind, *_rest in checked + imported)
    assert DirectoryUser.objects.count() == ROWS
    assert done["percent"] in (0, 100) and not done["running"]
