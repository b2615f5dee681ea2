"""A cycle killed with -9 while 16 requests are in flight, then run again (issue 16).

Some of the creates in flight were applied by the target and their answers never came back;
the others never reached it. The re-run must leave the target with every user exactly once.
The killed process is a real ``manage.py provision``; the database is shared with it.
"""

import os
import signal
import subprocess
import sys

import pytest

from provisioning.choices import CycleState, LinkState, ObjectType, ProvisioningMode
from provisioning.engine.cycle import run_cycle
from provisioning.models import ProvisionedObject, SyncCycle
from provisioning.services.applications import add_application
from tests.factories import DirectoryUserFactory, assign
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.processes import ROOT, process_environment, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

USERS = 120
FAST = 50  # two chunks of 25 creates answered at once: the adaptive limit grows to 16
APPLIED = 8  # of the creates in flight at the kill, these reached the target


def without_bulk(scim, proxy):
    config = scim.request("GET", "/ServiceProviderConfig").json()
    config["bulk"] = {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    proxy.inject(Fault.json(200, config), path="/ServiceProviderConfig", times=None)


def outstanding(proxy):
    return sum(1 for s in list(proxy.requests) if s.method == "POST" and s.finished is None)


def test_a_cycle_killed_with_16_requests_in_flight_then_run_again_duplicates_and_loses_nothing(
    scim, tmp_path
):
    application = add_application("scim", "Killed in flight")
    job = application.provisioning_job
    job.mode = ProvisioningMode.AUTOMATIC
    job.max_requests_in_flight = 16
    names = [f"inflight{i:03d}@contoso.example" for i in range(USERS)]
    for name in names:
        assign(application, DirectoryUserFactory(user_principal_name=name))
    proxy = FaultProxy(scim.url, upstream_slots=16).start()
    try:
        job.credentials = {"tenant_url": proxy.url, "secret_token": scim.token}
        job.save()
        without_bulk(scim, proxy)
        proxy.inject(Fault.passthrough(), method="POST", path="/Users", times=FAST)
        # Then: applied by the target, answer held back; and held before reaching it.
        proxy.inject(
            Fault.delay(60, after_upstream=True), method="POST", path="/Users", times=APPLIED
        )
        proxy.inject(Fault.delay(60), method="POST", path="/Users", times=None)
        log = (tmp_path / "provision.log").open("w")
        command = subprocess.Popen(
            [sys.executable, "manage.py", "provision", application.name, "--initial"],
            cwd=ROOT,
            env=process_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_until(
                lambda: outstanding(proxy) >= 16,
                timeout=60,
                message=lambda: (
                    f"{outstanding(proxy)} in flight\n" + (tmp_path / "provision.log").read_text()
                ),
            )
            assert outstanding(proxy) == 16  # never more than the job's setting
            os.killpg(command.pid, signal.SIGKILL)
            command.wait(timeout=10)
        finally:
            if command.poll() is None:
                os.killpg(command.pid, signal.SIGKILL)
                command.wait(timeout=10)
    finally:
        proxy.stop()  # the creates still held are dropped: they never reach the target
    applied_before_rerun = len(scim.all_resources("Users"))
    # Some creates in flight were applied without an answer (the proxy may have been stopped
    # while the last of them was on its way): the re-run must match them, not create them.
    assert FAST < applied_before_rerun <= FAST + APPLIED

    # Run again at once, through a fresh proxy (16 in flight, no Bulk).
    with FaultProxy(scim.url, upstream_slots=16) as again:
        without_bulk(scim, again)
        job.refresh_from_db()
        job.credentials = {"tenant_url": again.url, "secret_token": scim.token}
        job.save()
        report = run_cycle(job, initial=True)
    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    users = [u["userName"] for u in scim.all_resources("Users")]
    assert sorted(users) == sorted(names)  # nothing missing, nothing twice
    links = ProvisionedObject.objects.filter(job=job, object_type=ObjectType.USER)
    assert links.filter(state=LinkState.PROVISIONED).count() == USERS
    assert set(links.values_list("target_id", flat=True)) == {
        u["id"] for u in scim.all_resources("Users")
    }
    states = list(
        SyncCycle.objects.filter(job=job).order_by("started_at").values_list("state", flat=True)
    )
    assert states == [CycleState.ABANDONED, CycleState.SUCCEEDED]
