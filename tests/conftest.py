"""Shared test configuration.

The database is whatever ``DATABASE_URL`` names (PostgreSQL in CI, with Django's own fresh test
database; SQLite otherwise). Tests marked ``postgres`` are skipped on SQLite.
"""

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.utils import translation

from tests.support.scim_server import ScimServer, start_scim_server

pytest_plugins = ["tests.fakes.fixtures"]

TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _test_encryption_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_ENCRYPTION_KEY]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Logins the tests create and sign in with are hashed with a fast hasher: the production
    PBKDF2 (a million iterations) costs about 0.6 s per hash on our machines, once to create a
    login and once per sign-in. ``portal/settings.py`` keeps PBKDF2 for everything else."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_language_leak() -> Iterator[None]:
    """A request in another language (LocaleMiddleware activates it and never deactivates it)
    must not leave the following tests running in that language."""
    yield
    translation.deactivate()


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL is not PostgreSQL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def scim_server() -> Iterator[ScimServer]:
    """One real scim2-server for the session, on a free loopback port (``.url``, ``.token``)."""
    server = start_scim_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def scim(scim_server: ScimServer) -> ScimServer:
    """The session's SCIM server, emptied of Users and Groups for this test."""
    scim_server.wipe()
    return scim_server
