"""Fixtures for tests against real processes (``scim_server`` and ``scim``, the real
scim2-server, are in tests/conftest.py):

- ``fault_proxy``: a :class:`FaultProxy` in front of the emptied server.
- ``make_connector``: builds a :class:`ScimConnector` for a URL with test-friendly
  defaults (short timeouts, no real sleeping, recorded sleeps).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from provisioning.connectors import ScimConnector
from provisioning.connectors.http import RetryPolicy
from tests.support.fault_proxy import FaultProxy
from tests.support.scim_server import ScimServer

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration as ``integration``."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def fault_proxy(scim: ScimServer) -> Iterator[FaultProxy]:
    with FaultProxy(scim.url, seed=1234) as proxy:
        yield proxy


class SleepRecorder:
    """An injected ``sleep`` that records delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_connector(
    scim_server: ScimServer, sleeps: SleepRecorder
) -> Iterator[Callable[..., ScimConnector]]:
    """Build connectors (closed after the test); ``url``/``token`` default to the server."""
    built: list[ScimConnector] = []

    def build(url: str | None = None, token: str | None = None, **options: Any) -> ScimConnector:
        options.setdefault("timeout", (2.0, 5.0))
        options.setdefault("sleep", sleeps)
        options.setdefault("rng", random.Random(0))
        options.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05))
        connector = ScimConnector(
            {
                "tenant_url": url or scim_server.url,
                "secret_token": scim_server.token if token is None else token,
            },
            **options,
        )
        built.append(connector)
        return connector

    yield build
    for connector in built:
        connector.close()
