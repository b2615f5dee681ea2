"""Shared test configuration.

The database is whatever ``DATABASE_URL`` names (PostgreSQL in CI, with Django's own fresh test
database; SQLite otherwise). Tests marked ``postgres`` are skipped on SQLite.
"""

import pytest
from cryptography.fernet import Fernet
from django.db import connection

pytest_plugins = ["tests.fakes.fixtures"]

TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _test_encryption_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_ENCRYPTION_KEY]


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL is not PostgreSQL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
