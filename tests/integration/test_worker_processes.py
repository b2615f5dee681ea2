"""The scheduler with real Celery worker and beat processes, Redis and scim2-server (DESIGN §5).

These share the test database with the processes, so they commit (transaction=True) and run on
PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.choices import CycleKind, CycleState, JobState, ProvisioningMode
from provisioning.models import Application, ProvisioningJob, SyncCycle
from provisioning.services.applications import add_application
from provisioning.services.operations import set_provisioning_status
from tests.factories import DirectoryUserFactory, assign
from tests.support.fault_proxy import Fault, FaultProxy
from tests.support.processes import new_queue_name, start_beat, start_worker, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FAST = {
    "PROVISIONING_DISPATCH_SECONDS": "0.5",
    "PROVISIONING_WATCH_SECONDS": "0.5",
    "PROVISIONING_DEBOUNCE_SECONDS": "0.5",
}


@pytest.fixture
def processes():
    started = []

    def start(kind, queue, **env):
        process = (start_worker if kind == "worker" else start_beat)(queue, **{**FAST, **env})
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def make_job(name: str, tenant_url: str, token: str, *, interval: int = 20) -> ProvisioningJob:
    application = add_application("scim", name)
    job = application.provisioning_job
    job.credentials = {"tenant_url": tenant_url, "secret_token": token}
    job.mode = ProvisioningMode.AUTOMATIC
    job.interval_minutes = interval
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.NOT_RUN)
    job.refresh_from_db()
    return job


def cycles(job, **filters):
    return list(SyncCycle.objects.filter(job=job, **filters).order_by("started_at"))


def user_names(scim):
    return sorted(u["userName"] for u in scim.all_resources("Users"))


def logs(*procs):
    """The processes' logs, read when a wait fails."""
    return lambda: "\n\n".join(f"--- {p.name}\n{p.log()}" for p in procs)


def test_a_job_turned_on_runs_its_initial_cycle_then_incrementals_at_its_interval(scim, processes):
    queue = new_queue_name()
    # One "minute" of interval lasts one second here.
    worker = processes("worker", queue, PROVISIONING_MINUTE_SECONDS="1")
    beat = processes("beat", queue, PROVISIONING_MINUTE_SECONDS="1")
    job = make_job("Scheduled", scim.url, scim.token, interval=2)
    assign(job.application, DirectoryUserFactory(user_principal_name="scheduled@contoso.example"))

    set_provisioning_status(job, True, actor="test")

    wait_until(
        lambda: user_names(scim) == ["scheduled@contoso.example"],
        timeout=30,
        message=logs(worker, beat),
    )
    wait_until(
        lambda: len(cycles(job, state=CycleState.SUCCEEDED)) >= 3,
        timeout=30,
        message=logs(worker, beat),
    )
    done = cycles(job, state=CycleState.SUCCEEDED)
    assert done[0].kind == CycleKind.INITIAL
    assert {c.kind for c in done[1:]} == {CycleKind.INCREMENTAL}
    for before, after in zip(done, done[1:], strict=False):
        # The next cycle is due an interval after the previous one ended.
        assert after.started_at >= before.ended_at + timedelta(seconds=2) - timedelta(
            milliseconds=100
        )
    job.refresh_from_db()
    assert job.state == JobState.ACTIVE


def test_two_workers_and_two_beats_never_run_one_job_twice(scim, processes):
    queue = new_queue_name()
    env = {"PROVISIONING_MINUTE_SECONDS": "0.2"}
    procs = [
        processes("worker", queue, concurrency=2, **env),
        processes("worker", queue, concurrency=2, **env),
        processes("beat", queue, **env),
        processes("beat", queue, **env),
    ]
    jobs = []
    for i in range(3):
        job = make_job(f"Busy {i}", scim.url, scim.token, interval=1)
        assign(
            job.application, DirectoryUserFactory(user_principal_name=f"busy{i}@contoso.example")
        )
        set_provisioning_status(job, True, actor="test")
        jobs.append(job)

    for job in jobs:
        wait_until(
            lambda job=job: len(cycles(job, state=CycleState.SUCCEEDED)) >= 6,
            timeout=90,
            message=logs(*procs),
        )
    # Off lets the running cycles finish; then nothing runs any more.
    for job in jobs:
        set_provisioning_status(job, False, actor="test")
    wait_until(
        lambda: not SyncCycle.objects.filter(state=CycleState.RUNNING).exists(),
        timeout=30,
        message=logs(*procs),
    )
    for process in procs:
        process.stop()

    for job in jobs:
        runs = cycles(job)
        assert all(c.state == CycleState.SUCCEEDED for c in runs), [
            (c.state, c.error, c.started_at, c.ended_at) for c in runs
        ]
        for before, after in zip(runs, runs[1:], strict=False):
            assert before.ended_at <= after.started_at, "two cycles of one job overlapped"
    assert user_names(scim) == [
        "busy0@contoso.example",
        "busy1@contoso.example",
        "busy2@contoso.example",
    ]


def test_a_worker_killed_mid_cycle_loses_nothing_and_duplicates_nothing(scim, processes):
    queue = new_queue_name()
    env = {"PROVISIONING_LEASE_SECONDS": "3"}
    with FaultProxy(scim.url) as proxy:
        job = make_job("Crashy", proxy.url, scim.token)
        for i in range(20):
            assign(
                job.application,
                DirectoryUserFactory(user_principal_name=f"crashy{i:02}@contoso.example"),
            )
        # The first write waits, long enough to kill the worker while it is in flight; the
        # target still applies it afterwards (the proxy forwards it), so the next cycle must
        # match those accounts instead of creating them again.
        proxy.inject(Fault.delay(4), method="POST", times=1)
        doomed = processes("worker", queue, **env)
        beat = processes("beat", queue, **env)
        set_provisioning_status(job, True, actor="test")

        wait_until(lambda: proxy.count("POST") >= 1, timeout=30, message=logs(doomed, beat))
        wait_until(lambda: cycles(job, state=CycleState.RUNNING), timeout=10)
        doomed.kill()

        survivor = processes("worker", queue, **env)
        expected = [f"crashy{i:02}@contoso.example" for i in range(20)]
        wait_until(lambda: user_names(scim) == expected, timeout=40, message=logs(survivor, beat))
        wait_until(
            lambda: cycles(job, state=CycleState.SUCCEEDED),
            timeout=30,
            message=logs(survivor, beat),
        )

    states = [c.state for c in cycles(job)]
    assert states[0] == CycleState.ABANDONED and CycleState.SUCCEEDED in states
    assert len(scim.all_resources("Users")) == 20


def test_a_directory_change_reaches_the_target_within_seconds(scim, processes):
    queue = new_queue_name()
    worker = processes("worker", queue)
    beat = processes("beat", queue)
    job = make_job("Fast", scim.url, scim.token, interval=20)
    user = DirectoryUserFactory(user_principal_name="fast@contoso.example", job_title="Before")
    assign(job.application, user)
    set_provisioning_status(job, True, actor="test")
    wait_until(
        lambda: cycles(job, state=CycleState.SUCCEEDED), timeout=30, message=logs(worker, beat)
    )

    def settled_on_the_interval() -> bool:
        # Under load the directory watcher may bring one follow-up incremental cycle forward
        # while the initial one runs (it cannot tell which changes that cycle already read);
        # once the job is idle its next run is the 20-minute interval.
        job.refresh_from_db()
        return job.lease_owner == "" and job.next_run_at > timezone.now() + timedelta(minutes=15)

    wait_until(settled_on_the_interval, timeout=60, message=logs(worker, beat))

    user.job_title = "After"
    user.save()

    def title():
        users = scim.all_resources("Users")
        return users and users[0].get("title") == "After"

    wait_until(title, timeout=20, message=logs(worker, beat))
    assert Application.objects.count() == 1


def test_without_redis_the_filesystem_broker_runs_cycles(scim, processes, tmp_path):
    """What `make run` falls back to on a bare machine: kombu's filesystem transport."""
    queue = new_queue_name()
    bare = {"CELERY_BROKER_URL": "filesystem://", "PORTAL_VAR_DIR": str(tmp_path)}
    worker = processes("worker", queue, **bare)
    beat = processes("beat", queue, **bare)
    job = make_job("Bare machine", scim.url, scim.token)
    assign(job.application, DirectoryUserFactory(user_principal_name="bare@contoso.example"))
    set_provisioning_status(job, True, actor="test")
    wait_until(
        lambda: user_names(scim) == ["bare@contoso.example"], timeout=40, message=logs(worker, beat)
    )
    wait_until(lambda: "filesystem://" in worker.log(100_000), timeout=5, message=logs(worker))
    assert (tmp_path / "broker" / "queue").is_dir()


def test_kill_9_of_a_running_provision_command_then_an_immediate_rerun_runs(scim, tmp_path):
    """Issue 9: the lease of a process killed with -9 on this host is taken over at once."""
    import os
    import signal
    import subprocess
    import sys

    from provisioning.engine.cycle import run_cycle
    from tests.support.processes import ROOT, process_environment

    with FaultProxy(scim.url) as proxy:
        job = make_job("Killed", proxy.url, scim.token)
        for i in range(5):
            assign(
                job.application,
                DirectoryUserFactory(user_principal_name=f"killed{i}@contoso.example"),
            )
        # The first write hangs, so the command is mid-cycle, holding the lease, when killed.
        proxy.inject(Fault.delay(20), method="POST", times=1)
        log = (tmp_path / "provision.log").open("w")
        command = subprocess.Popen(
            [sys.executable, "manage.py", "provision", job.application.name, "--initial"],
            cwd=ROOT,
            env=process_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_until(
                lambda: proxy.count("POST") >= 1,
                timeout=60,
                message=lambda: (tmp_path / "provision.log").read_text(),
            )
            job.refresh_from_db()
            assert f":{command.pid}:" in job.lease_owner
            os.killpg(command.pid, signal.SIGKILL)
            command.wait(timeout=10)
            # At once, with the 300 s lease still running: it runs.
            report = run_cycle(job, initial=True)
        finally:
            if command.poll() is None:
                os.killpg(command.pid, signal.SIGKILL)
                command.wait(timeout=10)
    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert user_names(scim) == [f"killed{i}@contoso.example" for i in range(5)]
    assert [c.state for c in cycles(job)] == [CycleState.ABANDONED, CycleState.SUCCEEDED]
