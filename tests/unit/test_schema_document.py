"""Schema export and import (issue 10; the REST API's document too)."""

import copy
import json

import pytest

from provisioning.choices import AuditActivity, ObjectType
from provisioning.mappings.drafts import MappingDraft
from provisioning.mappings.schema_document import (
    SchemaProblem,
    apply_schema_document,
    export_schema_document,
    validate_schema_document,
)
from provisioning.models import AuditEvent, ProvisioningJob
from tests.factories import make_application

pytestmark = pytest.mark.django_db

COST_CENTER = "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter"


def users(document):
    return next(m for m in document["objectMappings"] if m["objectType"] == "User")


def mapping_rows(job):
    return {m.object_type: MappingDraft.from_model(m).to_dict() for m in job.mappings.all()}


def without_names(document):
    """The mapping names carry the application's name; everything else must be equal."""
    return [{k: v for k, v in m.items() if k != "name"} for m in document["objectMappings"]]


def test_the_document_is_json_with_a_version_and_every_part():
    job = make_application("scim", "Source").provisioning_job
    document = export_schema_document(job)
    assert json.loads(json.dumps(document)) == document
    assert document["version"] == 1
    user_mapping = users(document)
    assert {"attributeMappings", "scopingFilters", "targetAttributes", "actions"} <= set(
        user_mapping
    )
    assert any(a["name"] == "userName" for a in user_mapping["targetAttributes"])


def test_export_then_import_on_a_fresh_application_gives_the_same_mappings():
    source = make_application("scim", "Source").provisioning_job
    document = export_schema_document(source)
    changed = users(document)
    changed["targetAttributes"].append(
        {"name": COST_CENTER, "type": "String", "required": False, "multiValued": False,
         "matchingSupported": False, "description": ""}
    )  # fmt: skip
    changed["attributeMappings"].append(
        {"targetAttribute": COST_CENTER, "mappingType": "Expression",
         "expression": 'Append([department], "-CC")', "matchingPrecedence": None}
    )  # fmt: skip
    changed["scopingFilters"] = [
        {"clauses": [{"attribute": "department", "operator": "Includes", "value": "Research"}]}
    ]
    changed["actions"]["delete"] = False
    assert apply_schema_document(source, document, actor="adam") == []

    fresh = make_application("scim", "Fresh").provisioning_job
    assert apply_schema_document(fresh, export_schema_document(source), actor="eve") == []
    assert mapping_rows(fresh) == mapping_rows(source)
    assert without_names(export_schema_document(fresh)) == without_names(
        export_schema_document(source)
    )
    fresh.refresh_from_db()
    assert fresh.full_sync_required
    assert AuditEvent.objects.filter(
        application_id=fresh.application_id, activity=AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS
    ).exists()


def test_a_document_with_three_errors_lists_three_and_changes_nothing():
    job = make_application("scim", "Target").provisioning_job
    ProvisioningJob.objects.filter(pk=job.pk).update(full_sync_required=False)
    before = mapping_rows(job)
    document = export_schema_document(job)
    broken = copy.deepcopy(document)
    rows = users(broken)["attributeMappings"]
    rows[1]["expression"] = "Not([IsSoftDeleted]"  # 1: does not parse
    rows[2]["targetAttribute"] = "favouriteColour"  # 2: not in the schema
    users(broken)["scopingFilters"] = [
        {"clauses": [{"attribute": "department", "operator": "SOUNDS LIKE", "value": "x"}]}
    ]  # 3: unknown operator
    problems = apply_schema_document(job, broken, actor="adam")
    assert problems == validate_schema_document(job, broken)
    assert len(problems) == 3, problems
    assert all(isinstance(p, SchemaProblem) for p in problems)
    assert {p.path for p in problems} == {
        "objectMappings[0].attributeMappings[1].expression",
        "objectMappings[0].attributeMappings[2].targetAttribute",
        "objectMappings[0].scopingFilters[0].clauses[0].operator",
    }
    assert mapping_rows(job) == before
    job.refresh_from_db()
    assert not job.full_sync_required
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS).exists()


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], ""),
        ({"version": 2, "objectMappings": []}, "version"),
        (
            {"version": 1, "objectMappings": [{"objectType": "Device"}]},
            "objectMappings[0].objectType",
        ),
        (
            {"version": 1, "objectMappings": [{"objectType": "User", "attributeMappings": "x"}]},
            "objectMappings[0].attributeMappings",
        ),
    ],
)
def test_malformed_documents_are_refused_with_a_path(document, path):
    job = make_application("scim", "Target").provisioning_job
    problems = validate_schema_document(job, document)
    assert path in {p.path for p in problems}


def test_a_target_attribute_list_can_be_replaced_and_mappings_checked_against_it():
    job = make_application("scim", "Target").provisioning_job
    document = export_schema_document(job)
    users(document)["targetAttributes"] = [
        a for a in users(document)["targetAttributes"] if a["name"] != "title"
    ]
    problems = validate_schema_document(job, document)
    assert [p.message for p in problems if p.path.endswith("targetAttribute")]
    users(document)["attributeMappings"] = [
        a for a in users(document)["attributeMappings"] if a["targetAttribute"] != "title"
    ]
    assert apply_schema_document(job, document, actor="adam") == []
    assert not job.target_attributes.filter(object_type=ObjectType.USER, name="title").exists()
