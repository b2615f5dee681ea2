"""Connectors: one class per target protocol behind the :class:`Connector` interface.

``build_connector(kind, credentials, **options)`` is the one way the engine gets a
connector. Each kind registers itself in :data:`CONNECTORS`; a new target adds
one entry (``register_connector("gotomeeting", GoToMeetingConnector)``).
"""

from __future__ import annotations

from typing import Any

from .base import (
    BulkOperation,
    BulkResult,
    Capabilities,
    ConnectionTestResult,
    Connector,
    RecordedRequest,
)
from .errors import (
    AlreadyExistsError,
    BadRequestError,
    ConfigurationError,
    ConnectorError,
    CredentialsError,
    NotFoundError,
    TransientError,
)
from .http import HttpClient, RateLimiter, RetryPolicy, build_session
from .scim import ScimConnector

CONNECTORS: dict[str, type[Connector]] = {
    "scim": ScimConnector,
}


def register_connector(kind: str, connector_class: type[Connector]) -> None:
    """Make ``build_connector(kind, …)`` build ``connector_class``."""
    CONNECTORS[kind] = connector_class


def build_connector(kind: str, credentials: dict[str, Any], **options: Any) -> Connector:
    """Build the connector of ``kind`` from decrypted credentials and plain options.

    Raises :class:`ConfigurationError` for an unknown kind or unusable credentials.
    """
    try:
        connector_class = CONNECTORS[kind]
    except KeyError:
        raise ConfigurationError(
            f"Unknown connector kind {kind!r}.", code="UnknownConnector"
        ) from None
    return connector_class(credentials, **options)


__all__ = [
    "CONNECTORS",
    "AlreadyExistsError",
    "BadRequestError",
    "BulkOperation",
    "BulkResult",
    "Capabilities",
    "ConfigurationError",
    "ConnectionTestResult",
    "Connector",
    "ConnectorError",
    "CredentialsError",
    "HttpClient",
    "NotFoundError",
    "RateLimiter",
    "RecordedRequest",
    "RetryPolicy",
    "ScimConnector",
    "TransientError",
    "build_connector",
    "build_session",
    "register_connector",
]

# Connectors that register themselves (they import register_connector from here).
from . import gotomeeting as _gotomeeting  # noqa: E402, F401
