"""Preview before save (issue 10): counts and examples from the links' last exported values."""

import pytest

from provisioning.choices import LinkState, MappingType, ObjectType
from provisioning.engine.evaluate import AttributeRule, evaluate_object
from provisioning.engine.importing import load_users
from provisioning.mappings.drafts import MappingDraft
from provisioning.mappings.preview import preview_mapping_change
from provisioning.models import DirectoryUser, ProvisionedObject
from tests.factories import DirectoryUserFactory, assign, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def provisioned():
    """Three assigned users provisioned with the default mappings, one assigned but not yet."""
    app = make_application("scim", "Contoso")
    job = app.provisioning_job
    mapping = job.mappings.get(object_type=ObjectType.USER)
    rules = [AttributeRule.from_mapping(a) for a in mapping.attributes.all()]
    people = [
        DirectoryUserFactory(given_name="Ada", surname="Lovelace", department="Research"),
        DirectoryUserFactory(given_name="Alan", surname="Turing", department="Research and Dev"),
        DirectoryUserFactory(given_name="Grace", surname="Hopper", department="Sales"),
    ]
    newcomer = DirectoryUserFactory(given_name="Edsger", surname="Dijkstra", department="Research")
    for user in [*people, newcomer]:
        assign(app, user)
    loaded = load_users(app.pk, [u.pk for u in people])
    for n, user in enumerate(people):
        source = {
            **loaded[user.pk].attributes,
            "IsSoftDeleted": False,
            "appRoleAssignments": list(loaded[user.pk].roles),
        }
        exported = evaluate_object(rules, source, for_create=True, reference_targets={})
        ProvisionedObject.objects.create(
            job=job,
            object_type=ObjectType.USER,
            source_id=user.pk,
            target_id=f"t{n}",
            last_exported=exported.attributes,
            state=LinkState.PROVISIONED,
        )
    return mapping


def test_an_unchanged_mapping_changes_nothing(provisioned):
    preview = preview_mapping_change(provisioned, MappingDraft.from_model(provisioned))
    assert preview.examined == 4
    assert (preview.updated, preview.disabled, preview.newly_in_scope) == (0, 0, 0)
    assert preview.created == 1  # the assigned user not provisioned yet


def test_a_changed_expression_shows_old_and_new_values(provisioned):
    draft = MappingDraft.from_model(provisioned)
    display = next(a for a in draft.attributes if a.target_attribute == "displayName")
    display.mapping_type = MappingType.EXPRESSION
    display.expression = 'Join(", ", [surname], [givenName])'
    preview = preview_mapping_change(provisioned, draft)
    assert preview.updated == 3
    example = next(e for e in preview.examples if e.action == "update")
    (change,) = example.changes
    assert change.attribute == "displayName"
    first, last = change.old.split(" ", 1)
    assert change.new == f"{last}, {first}"


def test_a_scoping_filter_shows_who_falls_out_of_scope(provisioned):
    draft = MappingDraft.from_model(provisioned)
    draft.scoping_filters = [
        [{"attribute": "department", "operator": "Includes", "value": "Research"}]
    ]
    preview = preview_mapping_change(provisioned, draft)
    assert preview.disabled == 1  # Grace, in Sales
    grace = next(e for e in preview.examples if e.action == "disable")
    assert grace.display == DirectoryUser.objects.get(department="Sales").user_principal_name
    assert preview.updated == 0
    assert preview.created == 1


def test_an_expression_failing_for_some_objects_is_counted_not_raised(provisioned):
    draft = MappingDraft.from_model(provisioned)
    title = next(a for a in draft.attributes if a.target_attribute == "title")
    title.mapping_type = MappingType.EXPRESSION
    title.expression = 'Replace([department], , "^(a|a)+$", , "x", , )'
    preview = preview_mapping_change(provisioned, draft)
    assert preview.failed == 0  # no department is a long run of "a": nothing times out
    title.expression = "CDate([department])"
    preview = preview_mapping_change(provisioned, draft)
    assert preview.failed == 3
    assert "CDate" in next(e.error for e in preview.examples if e.action == "failed")
