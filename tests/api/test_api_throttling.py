"""Rate limiting per token: the request over the rate answers 429 with Retry-After, in the API's
error shape; another token is not affected."""

import pytest

from tests.api.conftest import assert_error, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/minute", "api_anonymous": "2/minute"},
    }


def test_the_request_over_the_rate_is_429_with_retry_after(admin_user, three_per_minute):
    client = token_client(admin_user, "busy")
    for _n in range(3):
        assert client.get("/api/v1/applications/").status_code == 200
    refused = client.get("/api/v1/applications/")
    error = assert_error(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in error["message"].lower() or "request" in error["message"].lower()
    other = token_client(admin_user, "other")
    assert other.get("/api/v1/applications/").status_code == 200


def test_anonymous_readers_of_the_document_are_limited_by_address(three_per_minute):
    from rest_framework.test import APIClient

    client = APIClient()
    for _n in range(2):
        assert client.get("/api/v1/schema/").status_code == 200
    refused = client.get("/api/v1/schema/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
