"""Requests in flight (issue 16): the job's setting, the AIMD limit, and what the pages show."""

import threading

import pytest
from django.urls import reverse

from provisioning.choices import AuditActivity, CycleKind, CycleState
from provisioning.connectors.flow import AdaptiveConcurrency
from provisioning.connectors.http import RateLimiter
from provisioning.models import AuditEvent, ProvisioningJob, SyncCycle
from tests.unit.test_views_provisioning import admin, app, form_data, url  # noqa: F401

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


# -- the setting -------------------------------------------------------------------------------


def test_the_provisioning_tab_shows_and_saves_the_requests_in_flight(admin, client, app):  # noqa: F811
    html = client.get(url(app)).content.decode()
    assert "Maximum requests in flight" in html
    assert 'name="max_requests_in_flight"' in html and 'value="8"' in html
    response = client.post(
        url(app), form_data(credential_secret_token="a-token", max_requests_in_flight="32")
    )
    assert response.status_code == 302
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).max_requests_in_flight == 32
    # Audited as every setting of the tab: before and after.
    event = AuditEvent.objects.filter(activity=AuditActivity.UPDATE_SETTINGS).latest("created_at")
    assert (event.before["max_requests_in_flight"], event.after["max_requests_in_flight"]) == (
        8,
        32,
    )
    # Left out (an older client), the job keeps its value.
    client.post(url(app), form_data(interval_minutes="30"))
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).max_requests_in_flight == 32


@pytest.mark.parametrize("bad", ["0", "65", "many"])
def test_requests_in_flight_out_of_bounds_is_a_form_error(admin, client, app, bad):  # noqa: F811
    response = client.post(url(app), form_data(max_requests_in_flight=bad))
    assert response.status_code == 200
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).max_requests_in_flight == 8


def test_synchronization_details_show_the_concurrency_and_rate_of_a_cycle(admin, client, app):  # noqa: F811
    SyncCycle.objects.create(
        job=app.provisioning_job,
        kind=CycleKind.INITIAL,
        state=CycleState.RUNNING,
        counters={
            "users": 10,
            "requests_concurrency": 12,
            "requests_max_in_flight": 16,
            "requests_peak_in_flight": 14,
            "requests_per_second": 171.5,
            "requests_per_second_mean": 150.2,
            "requests_sent": 1010,
            "requests_concurrency_decreases": 2,
        },
    )
    html = client.get(reverse("sync-details", args=[app.pk])).content.decode()
    assert 'data-testid="requests-in-flight"' in html
    assert "12 now (at most 16; 14 at the peak)" in html
    assert "lowered 2 times" in html
    assert "171.5 requests per second lately, 150.2 on average (1010 sent)" in html


# -- AIMD --------------------------------------------------------------------------------------


def answer(flow, clock, status, elapsed=0.05, **kwargs):
    started = flow.acquire()
    clock.now += elapsed
    flow.release(started, status=status, **kwargs)


def test_the_limit_starts_low_and_grows_while_answers_are_fast_and_clean():
    clock = Clock()
    flow = AdaptiveConcurrency(16, clock=clock)
    assert flow.limit == 2
    for _ in range(40):
        answer(flow, clock, 201)
    assert flow.limit == 16  # never above the job's setting


def test_slow_answers_do_not_grow_the_limit():
    clock = Clock()
    flow = AdaptiveConcurrency(16, clock=clock)
    answer(flow, clock, 200, elapsed=0.05)
    for _ in range(20):
        answer(flow, clock, 200, elapsed=1.0)  # the target queues: more would not help
    assert flow.limit == 3


@pytest.mark.parametrize("kind", ["429", "503", "timeout"])
def test_the_limit_halves_once_per_window_on_429_503_and_timeouts(kind):
    clock = Clock()
    flow = AdaptiveConcurrency(16, clock=clock)
    for _ in range(40):
        answer(flow, clock, 201)
    assert flow.limit == 16
    # Sixteen requests sent at once all meet the congestion: one halving, not sixteen.
    starts = [flow.acquire() for _ in range(16)]
    clock.now += 0.05
    for started in starts:
        if kind == "timeout":
            flow.release(started, status=None, timed_out=True)
        else:
            flow.release(started, status=int(kind))
    assert flow.limit == 8 and flow.decreases == 1
    # A request sent after the halving that meets it again halves again.
    answer(flow, clock, 503 if kind == "503" else 429)
    assert flow.limit == 4
    # Then it grows back, one by one per window of answers.
    for _ in range(60):
        answer(flow, clock, 201)
    assert flow.limit > 4 and flow.regrown > 0
    assert flow.snapshot()["decreases"] == 2


def test_a_retry_after_pauses_every_thread_of_the_job():
    clock = Clock()
    flow = AdaptiveConcurrency(8, clock=clock)
    answer(flow, clock, 429, retry_after=30)
    assert flow.paused_until == pytest.approx(clock.now + 30)
    got = threading.Event()

    def other_thread():
        flow.acquire()
        got.set()

    worker = threading.Thread(target=other_thread, daemon=True)
    worker.start()
    assert not got.wait(0.3)  # paused: the other thread waits too
    clock.now += 31
    with flow._cond:
        flow._cond.notify_all()
    assert got.wait(5)
    worker.join(5)


def test_server_errors_other_than_503_neither_grow_nor_halve_the_limit():
    clock = Clock()
    flow = AdaptiveConcurrency(8, clock=clock)
    for _ in range(10):
        answer(flow, clock, 500)
    assert flow.limit == 2 and flow.decreases == 0


def test_the_rate_limiter_holds_over_any_one_second_window_from_many_threads():
    """Sixteen threads, 40 per second (real time, about a second): the grants never put more
    than 40 in any one-second window, even when a sleep overshoots."""
    import time

    limiter = RateLimiter(40)
    lock = threading.Lock()
    granted = []

    def worker():
        for _ in range(3):
            limiter.acquire()
            with lock:
                granted.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    granted.sort()
    assert len(granted) == 48
    # Measured after acquire() returned: allow 50 ms for a thread descheduled meanwhile.
    most = max(sum(1 for t in granted[i:] if t < start + 0.95) for i, start in enumerate(granted))
    assert most <= 40, most
