"""The mapping save service (issue 10): every validation rule, all-or-nothing saves, the audit
event with before and after, and the initial cycle a change requires."""

import dataclasses

import pytest

from provisioning.choices import ApplyMapping, AuditActivity, MappingType, ObjectType
from provisioning.gallery import all_templates
from provisioning.mappings.drafts import AttributeDraft, MappingDraft
from provisioning.mappings.save import default_attributes, save_object_mapping
from provisioning.mappings.target_schema import (
    TargetAttributeSpec,
    add_target_attribute,
    delete_target_attribute,
    target_attributes,
)
from provisioning.models import AuditEvent, ProvisioningJob
from tests.factories import DirectoryUserFactory, make_application

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def app():
    application = make_application("scim", "Contoso")
    ProvisioningJob.objects.filter(pk=application.provisioning_job.pk).update(
        full_sync_required=False
    )
    return application


@pytest.fixture
def users_mapping(app):
    return app.provisioning_job.mappings.get(object_type=ObjectType.USER)


def draft_of(mapping) -> MappingDraft:
    return MappingDraft.from_model(mapping)


def row(draft, target) -> AttributeDraft:
    return next(a for a in draft.attributes if a.target_attribute == target)


def paths(problems) -> set[str]:
    return {p.path for p in problems}


def assert_refused(mapping, draft, path, fragment=""):
    before = draft_of(mapping)
    problems = save_object_mapping(mapping, draft, actor="adam")
    assert path in paths(problems), problems
    if fragment:
        assert any(fragment in p.message for p in problems if p.path == path), problems
    assert draft_of(mapping) == before  # nothing saved
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS).exists()
    mapping.job.refresh_from_db()
    assert mapping.job.full_sync_required is False


def test_an_unchanged_mapping_saves_without_an_audit_event(users_mapping):
    assert save_object_mapping(users_mapping, draft_of(users_mapping), actor="adam") == []
    assert (
        not AuditEvent.objects.exists()
        or not AuditEvent.objects.filter(
            activity__in=[
                AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS,
                AuditActivity.UPDATE_SCOPING_FILTERS,
            ]
        ).exists()
    )


def test_an_expression_mapping_is_saved_audited_and_requires_an_initial_cycle(users_mapping):
    draft = draft_of(users_mapping)
    row(draft, "displayName").mapping_type = MappingType.EXPRESSION
    row(draft, "displayName").expression = 'Join(" ", [surname], [givenName])'
    assert save_object_mapping(users_mapping, draft, actor="adam") == []
    saved = users_mapping.attributes.get(target_attribute="displayName")
    assert saved.mapping_type == MappingType.EXPRESSION
    assert saved.expression == 'Join(" ", [surname], [givenName])'
    assert saved.source_attribute == ""  # a Direct source no longer applies
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS)
    assert event.actor_name == "adam" and event.target == users_mapping.name
    assert event.before["attributeMappings"]["displayName"] == {
        "mapping_type": "Direct",
        "source_attribute": "displayName",
        "expression": "",
    }
    assert event.after["attributeMappings"]["displayName"]["expression"].startswith("Join(")
    assert "userName" not in event.after["attributeMappings"]  # only what changed
    users_mapping.job.refresh_from_db()
    assert users_mapping.job.full_sync_required is True


def test_a_scoping_filter_change_is_its_own_audit_event(users_mapping):
    draft = draft_of(users_mapping)
    draft.scoping_filters = [[{"attribute": "department", "operator": "Includes", "value": "R&D"}]]
    assert save_object_mapping(users_mapping, draft, actor="adam") == []
    users_mapping.refresh_from_db()
    assert users_mapping.scoping_filters == draft.scoping_filters
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SCOPING_FILTERS)
    assert event.before == {"scopingFilters": []}
    assert event.after == {"scopingFilters": draft.scoping_filters}
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS).exists()


def test_an_expression_that_does_not_parse_is_refused_with_line_and_column(users_mapping):
    draft = draft_of(users_mapping)
    row(draft, "name.formatted").expression = 'Join(" ", [givenName], [surname]'
    index = draft.attributes.index(row(draft, "name.formatted"))
    assert_refused(
        users_mapping, draft, f"attributeMappings[{index}].expression", "(line 1, column"
    )


def test_matching_precedences_must_be_unique(users_mapping):
    draft = draft_of(users_mapping)
    external = row(draft, "externalId")
    external.is_matching, external.matching_precedence = True, 1
    index = draft.attributes.index(external)
    assert_refused(users_mapping, draft, f"attributeMappings[{index}].matchingPrecedence")


def test_at_least_one_attribute_must_match(users_mapping):
    draft = draft_of(users_mapping)
    for attribute in draft.attributes:
        attribute.is_matching, attribute.matching_precedence = False, None
    assert_refused(users_mapping, draft, "attributeMappings", "match")


def test_a_matching_attribute_needs_a_precedence(users_mapping):
    draft = draft_of(users_mapping)
    row(draft, "userName").matching_precedence = None
    assert_refused(users_mapping, draft, "attributeMappings[0].matchingPrecedence")


def test_only_attributes_the_target_can_match_on_may_match(users_mapping):
    draft = draft_of(users_mapping)
    title = row(draft, "title")
    title.is_matching, title.matching_precedence = True, 2
    index = draft.attributes.index(title)
    assert_refused(users_mapping, draft, f"attributeMappings[{index}].matching")


def test_a_target_attribute_not_in_the_schema_is_refused(users_mapping):
    draft = draft_of(users_mapping)
    draft.attributes.append(
        AttributeDraft(target_attribute="favouriteColour", source_attribute="department")
    )
    assert_refused(
        users_mapping,
        draft,
        f"attributeMappings[{len(draft.attributes) - 1}].targetAttribute",
        "attribute list",
    )


def test_a_target_attribute_mapped_twice_is_refused(users_mapping):
    draft = draft_of(users_mapping)
    draft.attributes.append(AttributeDraft(target_attribute="title", source_attribute="mail"))
    assert_refused(
        users_mapping, draft, f"attributeMappings[{len(draft.attributes) - 1}].targetAttribute"
    )


def test_a_constant_must_fit_the_target_type(users_mapping):
    draft = draft_of(users_mapping)
    active = row(draft, "active")
    active.mapping_type, active.constant_value = MappingType.CONSTANT, "yes"
    index = draft.attributes.index(active)
    assert_refused(users_mapping, draft, f"attributeMappings[{index}].constantValue", "Boolean")
    active.constant_value = "False"
    assert save_object_mapping(users_mapping, draft, actor="adam") == []


def test_a_default_value_must_fit_the_target_type(users_mapping):
    draft = draft_of(users_mapping)
    manager = row(draft, f"{ENTERPRISE}:manager")
    manager.default_value = "nobody"
    index = draft.attributes.index(manager)
    assert_refused(users_mapping, draft, f"attributeMappings[{index}].defaultValue", "reference")


def test_a_direct_mapping_needs_a_known_source_attribute(users_mapping):
    draft = draft_of(users_mapping)
    row(draft, "title").source_attribute = "shoeSize"
    index = draft.attributes.index(row(draft, "title"))
    assert_refused(users_mapping, draft, f"attributeMappings[{index}].sourceAttribute")
    row(draft, "title").source_attribute = ""
    assert_refused(users_mapping, draft, f"attributeMappings[{index}].sourceAttribute")


def test_extension_attributes_seen_in_the_directory_are_source_attributes(users_mapping):
    DirectoryUserFactory(extension_attributes={"extension_abc_costCenter": "CC-1"})
    from provisioning.mappings.validation import source_attributes

    assert "extension_abc_costCenter" in source_attributes(ObjectType.USER)
    draft = draft_of(users_mapping)
    row(draft, "title").source_attribute = "extension_abc_costCenter"
    assert save_object_mapping(users_mapping, draft, actor="adam") == []


def test_the_users_mapping_cannot_be_disabled(users_mapping):
    draft = draft_of(users_mapping)
    draft.enabled = False
    assert_refused(users_mapping, draft, "enabled")


@pytest.mark.parametrize(
    ("clause", "field"),
    [
        ({"attribute": "", "operator": "EQUALS", "value": "x"}, "attribute"),
        ({"attribute": "department", "operator": "LIKE", "value": "x"}, "operator"),
        ({"attribute": "department", "operator": "EQUALS", "value": ""}, "value"),
        ({"attribute": "department", "operator": "REGEX MATCH", "value": "(unclosed"}, "value"),
        ({"attribute": "employeeId", "operator": "Greater_Than", "value": "ten"}, "value"),
        ({"attribute": "hatSize", "operator": "IS NULL", "value": ""}, "attribute"),
    ],
)
def test_scoping_clauses_are_validated(users_mapping, clause, field):
    draft = draft_of(users_mapping)
    draft.scoping_filters = [[{"attribute": "department", "operator": "IS NOT NULL"}, clause]]
    assert_refused(users_mapping, draft, f"scopingFilters[0].clauses[1].{field}")


def test_every_problem_is_reported_at_once(users_mapping):
    draft = draft_of(users_mapping)
    row(draft, "name.formatted").expression = "Join("
    row(draft, "title").source_attribute = ""
    draft.scoping_filters = [[]]
    problems = save_object_mapping(users_mapping, draft, actor="adam")
    assert len(problems) == 3


def test_only_during_creation_and_defaults_are_saved(users_mapping):
    draft = draft_of(users_mapping)
    title = row(draft, "title")
    title.apply_on, title.default_value = ApplyMapping.ON_CREATE, "Employee"
    assert save_object_mapping(users_mapping, draft, actor="adam") == []
    saved = users_mapping.attributes.get(target_attribute="title")
    assert saved.apply_on == ApplyMapping.ON_CREATE and saved.default_value == "Employee"


def test_restore_defaults_gives_the_gallery_mappings(users_mapping):
    draft = draft_of(users_mapping)
    draft.attributes = [a for a in draft.attributes if a.target_attribute != "title"]
    assert save_object_mapping(users_mapping, draft, actor="adam") == []
    restored = dataclasses.replace(draft, attributes=default_attributes(users_mapping))
    assert save_object_mapping(users_mapping, restored, actor="adam") == []
    assert users_mapping.attributes.filter(target_attribute="title").exists()


def test_a_custom_attribute_added_by_hand_can_be_mapped(users_mapping):
    job = users_mapping.job
    name = "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter"
    spec = TargetAttributeSpec(name=name, type="String")
    assert add_target_attribute(job, ObjectType.USER, spec, actor="adam") == []
    assert add_target_attribute(job, ObjectType.USER, spec, actor="adam")  # twice: refused
    draft = draft_of(users_mapping)
    draft.attributes.append(AttributeDraft(target_attribute=name, source_attribute="department"))
    assert save_object_mapping(users_mapping, draft, actor="adam") == []
    # A mapped attribute can't leave the list; an unmapped one can.
    assert delete_target_attribute(job, ObjectType.USER, name, actor="adam")
    assert delete_target_attribute(job, ObjectType.USER, "nickName", actor="adam") is None
    assert "nickname" not in target_attributes(job, ObjectType.USER)


def test_the_django_admin_can_no_longer_change_mappings_or_the_target_schema(client, users_mapping):
    from django.contrib.auth import get_user_model

    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(superuser)
    change = f"/admin/provisioning/objectmapping/{users_mapping.pk}/change/"
    page = client.get(change)
    assert page.status_code == 200  # still shown
    before = draft_of(users_mapping)
    response = client.post(change, {"name": "x", "enabled": "on", "object_type": "User"})
    assert response.status_code == 403
    assert draft_of(users_mapping) == before
    target_schema(users_mapping)
    row_id = users_mapping.job.target_attributes.first().pk
    assert client.post(f"/admin/provisioning/targetattribute/{row_id}/delete/").status_code == 403
    assert client.get("/admin/provisioning/attributemapping/add/").status_code in (403, 404)


def target_schema(mapping):
    return target_attributes(mapping.job, mapping.object_type)


@pytest.mark.parametrize("slug", [t.slug for t in all_templates()])
def test_every_gallery_templates_default_mappings_are_valid(slug):
    application = make_application(slug, f"App {slug}")
    for mapping in application.provisioning_job.mappings.all():
        assert save_object_mapping(mapping, draft_of(mapping), actor="adam") == [], slug


def test_a_scim_target_attribute_must_be_a_path_the_connector_can_write(users_mapping):
    job = users_mapping.job
    bad = TargetAttributeSpec(name='emails[type sw "w"].value')
    problems = add_target_attribute(job, ObjectType.USER, bad, actor="adam")
    assert [field for field, _message in problems] == ["name"]
    good = TargetAttributeSpec(name='ims[type eq "xmpp"].value')
    assert add_target_attribute(job, ObjectType.USER, good, actor="adam") == []
