"""``applications/{id}/provisioning/schema``: the mapping editor's schema document (issue 10)
by API. GET → PUT is the identity; a PUT with errors lists every one of them (by path) and
changes nothing; a good PUT is audited with the token's channel and makes the next cycle an
initial one."""

import copy
import importlib.util

import pytest

from provisioning.models import AttributeMapping, AuditEvent, ObjectMapping, ProvisioningJob
from tests.api.conftest import assert_error
from tests.factories import make_application

SCHEMA_MODULE = (
    importlib.util.find_spec("provisioning.mappings") is not None
    and importlib.util.find_spec("provisioning.mappings.schema_document") is not None
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not SCHEMA_MODULE,
        reason="provisioning.mappings.schema_document (issue 10) is not merged in this tree",
    ),
]


@pytest.fixture
def app():
    application = make_application("scim", "Schema app")
    ProvisioningJob.objects.filter(pk=application.provisioning_job.pk).update(
        full_sync_required=False
    )
    return application


def stored_mappings(app) -> list:
    """Everything the document covers, as stored."""
    job = app.provisioning_job
    return [
        list(ObjectMapping.objects.filter(job=job).order_by("object_type").values()),
        list(
            AttributeMapping.objects.filter(object_mapping__job=job)
            .order_by("object_mapping__object_type", "target_attribute")
            .values(
                "object_mapping__object_type",
                "target_attribute",
                "mapping_type",
                "source_attribute",
                "expression",
                "constant_value",
                "default_value",
                "is_matching",
                "matching_precedence",
                "apply_on",
            )
        ),
    ]


def users_of(document) -> dict:
    return next(m for m in document["objectMappings"] if m["objectType"] == "User")


def test_get_then_put_is_the_identity(admin_api, app):
    url = f"/api/v1/applications/{app.pk}/provisioning/schema/"
    document = admin_api.get(url).json()
    assert users_of(document)["attributeMappings"]
    before = stored_mappings(app)
    response = admin_api.put(url, document, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == document
    assert admin_api.get(url).json() == document
    assert stored_mappings(app) == before


def test_a_put_with_three_errors_lists_them_all_and_changes_nothing(admin_api, app):
    url = f"/api/v1/applications/{app.pk}/provisioning/schema/"
    document = admin_api.get(url).json()
    before = stored_mappings(app)
    events_before = AuditEvent.objects.count()
    broken = copy.deepcopy(document)
    index = broken["objectMappings"].index(users_of(broken))
    mapping = broken["objectMappings"][index]
    mapping["enabled"] = "yes"
    mapping["attributeMappings"][0]["targetAttribute"] = 5
    mapping["attributeMappings"][1]["matchingPrecedence"] = "first"
    # A valid change beside them must not be applied either.
    mapping["attributeMappings"][2]["defaultValue"] = "changed"
    error = assert_error(admin_api.put(url, broken, format="json"), 400, "invalid")
    fields = {detail["field"] for detail in error["details"]}
    prefix = f"objectMappings[{index}]"
    assert {
        f"{prefix}.enabled",
        f"{prefix}.attributeMappings[0].targetAttribute",
        f"{prefix}.attributeMappings[1].matchingPrecedence",
    } <= fields
    assert all(detail["message"] for detail in error["details"])
    assert stored_mappings(app) == before
    assert AuditEvent.objects.count() == events_before
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).full_sync_required is False
    assert admin_api.get(url).json() == document


def test_a_good_put_is_audited_with_the_token_and_requires_a_full_sync(admin_api, app):
    url = f"/api/v1/applications/{app.pk}/provisioning/schema/"
    document = admin_api.get(url).json()
    users_of(document)["attributeMappings"][0]["defaultValue"] = "fallback"
    response = admin_api.put(url, document, format="json")
    assert response.status_code == 200, response.content
    assert users_of(response.json())["attributeMappings"][0]["defaultValue"] == "fallback"
    # The editor's own audit event (its activity is issue 10's), with the token as channel.
    events = AuditEvent.objects.filter(channel="api:deploy-script")
    assert [e.target for e in events] == [users_of(document)["name"]]
    assert "mapping" in events[0].activity.lower()
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).full_sync_required is True


def test_a_document_that_is_not_an_object_is_refused(admin_api, app):
    url = f"/api/v1/applications/{app.pk}/provisioning/schema/"
    assert_error(admin_api.put(url, ["not", "a", "document"], format="json"), 400, "invalid")
