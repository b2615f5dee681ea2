"""pytest fixtures for the fake GoTo API (register with ``pytest_plugins``).

- ``goto_clock``: a :class:`VirtualClock` shared by the fake and the connectors built here, so
  token expiry, the rate window and retry backoff never wait on wall time.
- ``fake_goto``: a seeded :class:`FakeGoTo` (one account with a GoToMeeting licence and a Team
  Admin) served on a free loopback port for one test.
- ``make_goto_connector``: builds :class:`GoToMeetingConnector` instances pointed at the fake
  (credentials, URLs and OAuth client filled in; any option can be overridden); closed after
  the test.
- ``goto_connector``: one such connector with the defaults.
- ``goto_authorized``: a refresh token obtained by the documented route (consent page, redirect
  with a code, PKCE exchange) for the seeded Team Admin, and the connector that exchanged it.
- :func:`consent` plays the administrator on the fake's consent page over plain HTTP.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from provisioning.connectors.gotomeeting import (
    GoToMeetingConnector,
    build_authorization_url,
    pkce_pair,
)
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
        username: str = FAKE_ADMIN_EMAIL,
        password: str = FAKE_ADMIN_PASSWORD,
        *,
        credentials: dict[str, str] | None = None,
        **options: Any,
    ) -> GoToMeetingConnector:
        for name, value in fake_goto.connector_options().items():
            options.setdefault(name, value)
        options.setdefault("clock", goto_clock)
        options.setdefault("sleep", goto_clock.sleep)
        options.setdefault("rng", random.Random(0))
        options.setdefault("timeout", (2.0, 5.0))
        connector = GoToMeetingConnector(
            {"admin_username": username, "admin_password": password, **(credentials or {})},
            **options,
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


TEST_REDIRECT_URI = "http://127.0.0.1:9/goto/authorize/callback/"


def consent(
    authorization_url: str,
    email: str = FAKE_ADMIN_EMAIL,
    password: str = FAKE_ADMIN_PASSWORD,
    decision: str = "allow",
) -> dict[str, str]:
    """Open the consent page, sign in and allow (or deny); the redirect's query parameters."""
    page = requests.get(authorization_url, timeout=5)
    page.raise_for_status()
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
    form = {**query, "email": email, "password": password, "decision": decision}
    answer = requests.post(
        authorization_url.split("?")[0], data=form, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


@pytest.fixture
def goto_authorized(
    fake_goto: FakeGoTo, make_goto_connector: Callable[..., GoToMeetingConnector]
) -> tuple[str, GoToMeetingConnector]:
    fake_goto.register_redirect_uri(TEST_REDIRECT_URI)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    url = build_authorization_url(
        fake_goto.authorize_url,
        client_id=fake_goto.client_id,
        redirect_uri=TEST_REDIRECT_URI,
        state=state,
        code_challenge=challenge,
    )
    answer = consent(url)
    assert answer["state"] == state
    connector = make_goto_connector("", "")
    tokens = connector.exchange_code(
        answer["code"], redirect_uri=TEST_REDIRECT_URI, code_verifier=verifier
    )
    return tokens["refresh_token"], connector
