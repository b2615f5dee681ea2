"""Requests in flight against GoTo (issue 16): GoTo allows 10 requests per second and sends no
``Retry-After``; a far-away GoTo (the fake answers each request after a delay) must still be
driven at its limit, never above it, with many requests in flight."""

import time

import pytest

from provisioning.choices import CycleState
from provisioning.engine.cycle import run_cycle
from provisioning.models import ProvisionedObject, ProvisioningJob
from provisioning.services.applications import add_application
from tests.factories import DirectoryUserFactory, assign
from tests.fakes.goto_api import FAKE_ADMIN_EMAIL, FAKE_ADMIN_PASSWORD, start_fake_goto

pytestmark = pytest.mark.django_db

USERS = 25  # one chunk: one list of users, one read-back, one licence PUT each
LATENCY = 1.0  # seconds before every answer: 10 per second needs ~10 requests in flight


@pytest.fixture
def far_goto():
    # Real time: the rate window is the wall clock's, as GoTo's is.
    with start_fake_goto(seed=False, latency=LATENCY) as fake:
        account = fake.add_account(licences=(("GoToMeeting Business", ["G2M"], 100),))
        fake.add_admin(account=account)
        yield fake


def goto_job(users, in_flight):
    application = add_application("gotomeeting", "GTM")
    job = application.provisioning_job
    job.credentials = {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD}
    job.save()
    ProvisioningJob.objects.filter(pk=job.pk).update(max_requests_in_flight=in_flight)
    job.refresh_from_db()
    people = [
        DirectoryUserFactory(user_principal_name=f"far{i:03d}@contoso.example")
        for i in range(users)
    ]
    for person in people:
        assign(application, person, "User")
    return job, people


def connector(fake):
    from provisioning.connectors.gotomeeting import GoToMeetingConnector

    return GoToMeetingConnector(
        {"admin_username": FAKE_ADMIN_EMAIL, "admin_password": FAKE_ADMIN_PASSWORD},
        **fake.connector_options(),
        requests_per_second=10,
        timeout=(5.0, 10.0),
    )


def test_16_in_flight_keep_a_far_goto_at_10_per_second_never_above(far_goto):
    job, people = goto_job(USERS, 16)
    with connector(far_goto) as built:
        started = time.monotonic()
        result = run_cycle(job, connector=built, initial=True).cycle
        elapsed = time.monotonic() - started
    assert result.state == CycleState.SUCCEEDED, result.error
    # Every user once, with its licence.
    users = {u["email"]: u for u in far_goto.users() if u["email"] != FAKE_ADMIN_EMAIL}
    assert len(users) == len(far_goto.users()) - 1 == USERS
    assert sorted(users) == sorted(p.user_principal_name for p in people)
    licence = far_goto.g2m_licence_key()
    assert all(u["licenseKeys"] == [licence] for u in users.values())
    assert ProvisionedObject.objects.filter(job=job).count() == USERS
    # GoTo counted no more than 10 requests in any one-second window, and refused none.
    assert far_goto.peak_requests_per_second() <= 10
    assert far_goto.throttled == 0
    # About one request per user: the users go to GoTo in one list, are read back with one
    # filtered GET, then each gets its licence with one PUT (issue 16).
    sent = len(far_goto.requests)
    assert far_goto.count("PUT") == USERS
    assert USERS <= sent <= USERS + 10
    # Many were in flight at once: one at a time, each request would take at least the
    # latency (1 s), so the cycle's requests would take that many seconds.
    assert result.counters["requests_peak_in_flight"] > 4
    assert elapsed < sent * LATENCY / 2
    # ... and the licences went at the limit: 20 PUTs within 3 s (10 per second takes 2 s
    # plus the latency; one at a time would take 20 s).
    puts = sorted(r.at for r in far_goto.requests if r.method == "PUT")
    assert puts[19] - puts[0] <= 3.0, puts[:20]


def test_one_in_flight_sends_goto_one_request_at_a_time(far_goto):
    far_goto.latency = 0.2
    job, _people = goto_job(3, 1)
    with connector(far_goto) as built:
        result = run_cycle(job, connector=built, initial=True).cycle
    assert result.state == CycleState.SUCCEEDED, result.error
    assert result.counters["requests_peak_in_flight"] == 1
    assert len(far_goto.users()) == 4
