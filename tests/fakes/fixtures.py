"""pytest fixtures for the fake GoTo API (register with ``pytest_plugins``).

- ``goto_clock``: a :class:`VirtualClock` shared by the fake and the connectors built here, so
  token expiry, the rate window and retry backoff never wait on wall time.
- ``fake_goto``: a seeded :class:`FakeGoTo` (one account with a GoToMeeting licence and a Team
  Admin) served on a free loopback port for one test.
- ``make_goto_connector``: builds :class:`GoToMeetingConnector` instances pointed at the fake
  (credentials, URLs and OAuth client filled in; any option can be overridden); closed after
  the test.
- ``goto_connector``: one such connector with the defaults.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from provisioning.connectors.gotomeeting import GoToMeetingConnector
from tests.fakes.goto_api import (
    FAKE_ADMIN_EMAIL,
    FAKE_ADMIN_PASSWORD,
    FakeGoTo,
    VirtualClock,
    start_fake_goto,
)


@pytest.fixture
def goto_clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake_goto(goto_clock: VirtualClock) -> Iterator[FakeGoTo]:
    with start_fake_goto(clock=goto_clock) as fake:
        yield fake


@pytest.fixture
def make_goto_connector(
    fake_goto: FakeGoTo, goto_clock: VirtualClock
) -> Iterator[Callable[..., GoToMeetingConnector]]:
    built: list[GoToMeetingConnector] = []

    def build(
        username: str = FAKE_ADMIN_EMAIL, password: str = FAKE_ADMIN_PASSWORD, **options: Any
    ) -> GoToMeetingConnector:
        for name, value in fake_goto.connector_options().items():
            options.setdefault(name, value)
        options.setdefault("clock", goto_clock)
        options.setdefault("sleep", goto_clock.sleep)
        options.setdefault("rng", random.Random(0))
        options.setdefault("timeout", (2.0, 5.0))
        connector = GoToMeetingConnector(
            {"admin_username": username, "admin_password": password}, **options
        )
        built.append(connector)
        return connector

    yield build
    for connector in built:
        connector.close()


@pytest.fixture
def goto_connector(
    make_goto_connector: Callable[..., GoToMeetingConnector],
) -> GoToMeetingConnector:
    return make_goto_connector()
