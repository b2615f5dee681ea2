"""/api/v1/schema/ is a valid OpenAPI 3 document that lists every endpoint; /api/v1/docs/ is a
browsable page whose assets are served by the portal itself (no CDN)."""

import re

import pytest
import yaml
from django.urls import get_resolver
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from provisioning.api.urls import urlpatterns

pytestmark = pytest.mark.django_db

ANONYMOUS_ROUTES = {"schema/", "docs/", "^.*$"}


def openapi_path(route: str) -> str:
    return "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def fetch_document() -> dict:
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_openapi_document_is_valid_and_lists_every_endpoint_and_method():
    document = fetch_document()
    validate(document)
    assert document["openapi"].startswith("3.")
    routes = {str(p.pattern): p for p in urlpatterns if str(p.pattern) not in ANONYMOUS_ROUTES}
    assert set(document["paths"]) == {openapi_path(r) for r in routes}
    for route, pattern in routes.items():
        view = pattern.callback.view_class
        methods = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
        assert set(document["paths"][openapi_path(route)]) - {"parameters"} == methods, route
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_the_document_never_describes_a_credential_value():
    job = fetch_document()["components"]["schemas"]["ProvisioningJob"]
    credential = fetch_document()["components"]["schemas"]["CredentialStatus"]
    assert set(credential["properties"]) == {"name", "label", "secret", "required", "stored"}
    assert "credentials" in job["properties"]


def test_the_docs_page_uses_only_local_assets():
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
    assert "cdn" not in html.lower()


def test_the_api_is_mounted_under_api_v1():
    assert any(str(p.pattern) == "api/v1/" for p in get_resolver().url_patterns)


def test_the_document_is_also_served_as_json():
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


def test_every_operation_describes_its_error_answers_in_the_one_shape():
    document = fetch_document()
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("401", "403", "429"):
                schema = responses[code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, code)
            if method != "get":
                assert "409" in responses, (path, method)
