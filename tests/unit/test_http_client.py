"""HttpClient, RetryPolicy and RateLimiter over real loopback sockets (no HTTP mocks).

The FaultProxy without an upstream answers 200 with an echo of the request, and
injects the faults each test scripts.
"""

import email.utils
import logging
import random
import socket
import threading

import pytest

from provisioning.connectors.base import RecordedRequest
from provisioning.connectors.errors import (
    ConfigurationError,
    CredentialsError,
    TransientError,
)
from provisioning.connectors.http import (
    RATE_MARGIN,
    RATE_WINDOW,
    HttpClient,
    RateLimiter,
    RetryPolicy,
    build_session,
    parse_retry_after,
)
from tests.support.fault_proxy import Fault, FaultProxy

TOKEN = "s3cr3t-token-value"
FAST = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=30.0, jitter=False)


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


@pytest.fixture
def echo():
    with FaultProxy(None) as proxy:
        yield proxy


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    http = HttpClient(
        timeout=(1.0, 2.0),
        retry=FAST,
        sleep=sleeps.append,
        default_headers={"Authorization": f"Bearer {TOKEN}"},
        user_agent="ProvisioningPortal/test",
    )
    yield http
    http.close()


def test_sends_user_agent_headers_and_json_body(client, echo):
    response = client.request("POST", f"{echo.url}/Users", json_body={"userName": "例"})
    sent = response.json()
    assert response.status == 200
    assert sent["method"] == "POST"
    assert sent["headers"]["User-Agent"] == "ProvisioningPortal/test"
    assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["body"] == '{"userName": "例"}'


def test_build_session_has_pooled_adapter_without_hidden_retries():
    session = build_session("UA/1")
    adapter = session.get_adapter("https://example.invalid")
    assert adapter.max_retries.total == 0
    assert session.headers["User-Agent"] == "UA/1"
    session.close()


def test_429_waits_for_retry_after_seconds_then_succeeds(client, echo, sleeps):
    echo.inject(Fault.retry_after(3))
    response = client.request("GET", f"{echo.url}/Users")
    assert response.status == 200
    assert sleeps == [3.0]
    assert echo.count("GET") == 2


def test_retry_after_http_date_is_converted_to_seconds(echo, sleeps):
    now = 1_800_000_000.0
    http = HttpClient(retry=FAST, sleep=sleeps.append, now=lambda: now)
    echo.inject(Fault.retry_after(email.utils.formatdate(now + 7, usegmt=True)))
    assert http.request("GET", echo.url).status == 200
    assert sleeps == [7.0]
    http.close()


def test_retry_after_is_capped(echo, sleeps):
    policy = RetryPolicy(max_attempts=2, jitter=False, max_retry_after=10)
    http = HttpClient(retry=policy, sleep=sleeps.append)
    echo.inject(Fault.retry_after(3600))
    assert http.request("GET", echo.url).status == 200
    assert sleeps == [10]
    http.close()


def test_5xx_is_retried_with_exponential_backoff(client, echo, sleeps):
    echo.inject(Fault.status(500))
    echo.inject(Fault.status(503))
    echo.inject(Fault.status(502))
    assert client.request("GET", echo.url).status == 200
    assert sleeps == [0.5, 1.0, 2.0]
    assert echo.count() == 4


def test_retries_exhausted_raise_transient_error(client, echo, sleeps):
    echo.inject(Fault.status(503), times=None)
    with pytest.raises(TransientError) as caught:
        client.request("GET", echo.url)
    assert caught.value.http_status == 503
    assert caught.value.code == "SCIM_503"
    assert "4 attempts" in caught.value.message
    assert echo.count() == 4
    assert len(sleeps) == 3


def test_not_implemented_is_not_retried(client, echo):
    echo.inject(Fault.status(501))
    assert client.request("GET", echo.url).status == 501
    assert echo.count() == 1


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_raise_credentials_error_without_retry(client, echo, status):
    echo.inject(Fault.status(status, detail=f"bad token Bearer {TOKEN}"))
    with pytest.raises(CredentialsError) as caught:
        client.request("GET", echo.url)
    assert caught.value.http_status == status
    assert caught.value.stops_job
    assert TOKEN not in caught.value.detail
    assert TOKEN not in caught.value.message
    assert echo.count() == 1


def test_connection_reset_is_retried(client, echo):
    echo.inject(Fault.reset())
    assert client.request("GET", echo.url).status == 200
    assert echo.count() == 2


def test_persistent_reset_raises_transient_error(client, echo):
    echo.inject(Fault.reset(), times=None)
    with pytest.raises(TransientError) as caught:
        client.request("PUT", echo.url, json_body={})
    assert caught.value.code == "ConnectionReset"
    assert not caught.value.outcome_unknown
    assert echo.count() == 4


@pytest.mark.parametrize("fault", [Fault.reset(), Fault.status(502), Fault.status(500)])
def test_a_post_whose_answer_is_lost_is_not_resent(echo, sleeps, fault):
    http = HttpClient(retry=FAST, sleep=sleeps.append, retry_non_idempotent=False)
    echo.inject(fault, times=None)
    with pytest.raises(TransientError) as caught:
        http.request("POST", echo.url, json_body={})
    assert caught.value.outcome_unknown
    assert "not repeated" in caught.value.message
    assert echo.count() == 1 and sleeps == []
    http.close()


def test_a_post_marked_idempotent_and_a_429_are_retried(echo, sleeps):
    http = HttpClient(retry=FAST, sleep=sleeps.append, retry_non_idempotent=False)
    echo.inject(Fault.status(502))
    assert http.request("POST", echo.url, json_body={}, idempotent=True).status == 200
    echo.inject(Fault.retry_after(0))
    assert http.request("POST", echo.url, json_body={}).status == 200
    assert echo.count() == 4
    http.close()


def test_a_post_to_a_refused_connection_is_retried(sleeps):
    http = HttpClient(retry=FAST, sleep=sleeps.append, retry_non_idempotent=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: refused
        with pytest.raises(TransientError) as caught:
            http.request("POST", f"http://127.0.0.1:{port}/v2/Users", json_body={})
    assert caught.value.code == "ConnectionRefused" and not caught.value.outcome_unknown
    assert len(sleeps) == FAST.max_attempts - 1
    http.close()


def test_read_timeout_is_retried(echo, sleeps):
    http = HttpClient(timeout=(1.0, 0.2), retry=FAST, sleep=sleeps.append)
    echo.inject(Fault.delay(2.0))
    assert http.request("GET", echo.url).status == 200
    # At least one retry; a loaded machine may need more than one answer within 0.2 s.
    assert 2 <= echo.count() <= FAST.max_attempts
    http.close()


def test_read_timeout_every_time_raises_timeout(echo, sleeps):
    policy = RetryPolicy(max_attempts=2, jitter=False)
    http = HttpClient(timeout=(1.0, 0.2), retry=policy, sleep=sleeps.append)
    echo.inject(Fault.delay(2.0), times=None)
    with pytest.raises(TransientError) as caught:
        http.request("GET", echo.url)
    assert caught.value.code == "Timeout"
    http.close()


def test_connection_refused_raises_transient_error(client):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: refused
        with pytest.raises(TransientError) as caught:
            client.request("GET", f"http://127.0.0.1:{port}/v2/Users")
    assert caught.value.code == "ConnectionRefused"
    assert "refused" in caught.value.message


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/x", "http://"])
def test_unusable_url_raises_configuration_error(client, url):
    with pytest.raises(ConfigurationError):
        client.request("GET", url)


def test_dry_run_withholds_unsafe_requests_and_records_them(echo):
    recorded: list[RecordedRequest] = []
    http = HttpClient(dry_run=True, recorder=recorded.append)
    created = http.request("POST", f"{echo.url}/Users", json_body={"userName": "u"})
    http.request("PATCH", f"{echo.url}/Users/1", json_body={"Operations": []})
    http.request("DELETE", f"{echo.url}/Users/1")
    read = http.request("GET", f"{echo.url}/Users", params={"filter": 'userName eq "u"'})
    assert created.dry_run and created.status == 201
    assert created.json()["id"].startswith("dry-run-")
    assert created.json()["userName"] == "u"
    assert [r.method for r in recorded] == ["POST", "PATCH", "DELETE"]
    assert recorded[0].json_body == {"userName": "u"}
    assert echo.count() == 1 and echo.count("GET") == 1
    assert not read.dry_run
    http.close()


def test_on_request_sees_every_attempt(echo):
    seen: list[tuple[str, int | None]] = []
    http = HttpClient(
        retry=FAST, sleep=lambda s: None, on_request=lambda r, s: seen.append((r.method, s))
    )
    echo.inject(Fault.status(500))
    echo.inject(Fault.reset())
    http.request("GET", echo.url)
    assert seen == [("GET", 500), ("GET", None), ("GET", 200)]
    http.close()


def test_logs_never_contain_the_token(client, echo, caplog):
    caplog.set_level(logging.DEBUG)
    echo.inject(Fault.status(503, detail=TOKEN), times=2)
    client.request("GET", f"{echo.url}/Users", params={"filter": 'userName eq "x"'})
    assert caplog.records
    assert TOKEN not in caplog.text


def test_rate_limiter_spaces_requests_with_an_injected_clock():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert clock.sleeps == pytest.approx([0.2, 0.4, 0.6])


def test_rate_limiter_refills_as_time_passes():
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    assert limiter.acquire() == 0.0
    clock.now += 0.5
    assert limiter.acquire() == pytest.approx(0.0)
    clock.now += 0.25
    # The bucket refills at 1.0; two were granted since 0.0, and the window keeps grants
    # RATE_MARGIN longer than a second (the way to the target varies): 1.05.
    assert limiter.acquire() == pytest.approx(0.25 + RATE_MARGIN)


def test_rate_limiter_is_thread_safe():
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(clock.sleeps) == pytest.approx([0.1 * n for n in range(1, 8)])


def _most_in_one_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


def test_a_late_send_keeps_its_place_so_no_window_holds_rate_plus_one_arrivals():
    """A thread granted first but scheduled late sends after later grants: the window is counted
    from when each request went out, so the target never counts rate + 1 in a second (issue 16:
    on a loaded machine the grant-based window let 13 of 10 through)."""
    import time

    limiter = RateLimiter(4)
    arrivals: list[float] = []
    lock = threading.Lock()
    first_granted = threading.Event()

    def send(delay: float) -> None:
        with limiter.slot() as sent:
            first_granted.set()
            if delay:
                time.sleep(delay)  # the thread is not scheduled for a while (simulated)
            sent()
            with lock:
                arrivals.append(time.monotonic())

    late = threading.Thread(target=send, args=(0.6,))
    late.start()
    assert first_granted.wait(5)
    others = [threading.Thread(target=send, args=(0.0,)) for _ in range(7)]
    for thread in others:
        thread.start()
    for thread in [late, *others]:
        thread.join(timeout=20)
    assert len(arrivals) == 8
    assert _most_in_one_window(arrivals, 1.0 - 0.02) <= 4


def test_a_place_never_reported_sent_is_held_until_the_answer_and_a_window_more():
    import time

    limiter = RateLimiter(1)
    with limiter.slot():
        time.sleep(0.3)  # out with its request, never reported as written
        answered = time.monotonic()
    with limiter.slot() as sent:
        sent()
        second = time.monotonic()
    assert second - answered >= RATE_WINDOW


def test_unlimited_rate_limiter_never_waits():
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(100)] == [0.0] * 100
    assert clock.sleeps == []


def test_client_waits_for_the_rate_limiter_before_each_request(echo):
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    http = HttpClient(rate_limiter=limiter)
    for _ in range(3):
        http.request("GET", echo.url)
    assert clock.sleeps == pytest.approx([0.25, 0.5])
    assert echo.count() == 3
    http.close()


def test_backoff_grows_and_is_capped():
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_stays_between_half_and_full_delay():
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0, jitter=True)
    rng = random.Random(1)
    for retry in range(1, 6):
        full = min(30.0, 2 ** (retry - 1))
        for _ in range(20):
            assert full / 2 <= policy.backoff(retry, rng) <= full


def test_parse_retry_after():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    past = email.utils.formatdate(1000, usegmt=True)
    assert parse_retry_after(past, now=lambda: 2000.0) == 0.0
