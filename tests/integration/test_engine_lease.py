"""The job's lease after a crash (issue 9, item 8), with real (dead and live) processes.

A lease names its holder ``host:pid:…``. When that process is gone from this host, a re-run takes
the lease over at once; otherwise it is refused and says when the lease expires.
"""

import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.choices import CycleState
from provisioning.engine.cycle import CycleBusy, run_cycle
from provisioning.engine.lease import holder_is_dead
from provisioning.models import ProvisioningJob
from tests.factories import DirectoryUserFactory, assign
from tests.integration import test_engine_scim as engine

pytestmark = pytest.mark.django_db

app = engine.app
connector = engine.connector
requests_seen = engine.requests_seen


def dead_pid() -> int:
    """The pid of a process that ran and exited (reaped) on this host."""
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


def hold_lease(job, owner, seconds=300):
    ProvisioningJob.objects.filter(pk=job.pk).update(
        lease_owner=owner, lease_expires_at=timezone.now() + timedelta(seconds=seconds)
    )


def test_a_lease_held_by_a_dead_process_of_this_host_is_taken_over_at_once(app, scim, connector):
    assign(app, DirectoryUserFactory(user_principal_name="after-crash@contoso.example"))
    job = app.provisioning_job
    owner = f"{socket.gethostname()}:{dead_pid()}:deadbeef"
    assert holder_is_dead(owner)
    hold_lease(job, owner)
    result = run_cycle(job, connector=connector(), initial=True).cycle
    assert result.state == CycleState.SUCCEEDED, result.error
    job.refresh_from_db()
    assert job.lease_owner == "" and job.lease_expires_at is None


@pytest.mark.parametrize(
    "owner",
    [
        f"{socket.gethostname()}:{os.getpid()}:other-thread",  # alive: this very process
        "another-host.example:1:abcd",  # cannot be checked from here
        "dispatch:0123abcd",  # a dispatcher's claim, not started yet
    ],
    ids=["alive-here", "other-host", "unnamed"],
)
def test_a_lease_held_by_a_live_or_unknown_process_is_refused_saying_when_it_expires(
    app, scim, connector, owner
):
    job = app.provisioning_job
    hold_lease(job, owner, seconds=120)
    with pytest.raises(CycleBusy) as refused:
        run_cycle(job, connector=connector(), initial=True)
    assert "expires at" in str(refused.value)
    job.refresh_from_db()
    assert job.lease_owner == owner


def test_a_running_cycle_names_its_process_in_the_lease(app, scim, connector):
    job = app.provisioning_job
    seen = []

    def during(recorded, status):
        # Reads happen in the cycle's own thread (writes go out from a sender thread, which
        # has a database connection of its own outside this test's transaction).
        if threading.current_thread() is threading.main_thread():
            seen.append(ProvisioningJob.objects.get(pk=job.pk).lease_owner)

    assign(app, DirectoryUserFactory(user_principal_name="named@contoso.example"))
    run_cycle(job, connector=connector(on_request=during), owner="dispatch:feed", initial=True)
    prefix = f"{socket.gethostname()}:{os.getpid()}:"
    assert seen and all(owner == f"{prefix}dispatch:feed" for owner in seen)
