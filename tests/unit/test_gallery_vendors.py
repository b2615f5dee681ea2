"""The real SCIM 2.0 vendors of the gallery (F5): Tenant URL + Secret Token templates as data."""

import pytest

from provisioning.choices import ObjectType
from provisioning.connectors import CONNECTORS
from provisioning.gallery import all_templates, get_template, search_templates
from provisioning.models import AttributeMapping, ObjectMapping
from provisioning.services.applications import add_application

VENDORS = ["atlassian-cloud", "asana", "figma", "github-emu", "miro"]


@pytest.mark.parametrize("slug", VENDORS)
def test_every_vendor_registers_as_a_scim_app_with_a_tenant_url_and_a_secret_token(slug):
    template = get_template(slug)

    assert template in all_templates()
    assert template.connector == "scim"
    assert template.tenant_url_pattern.startswith("https://")
    fields = {f.name: f for f in template.credential_fields}
    assert fields["tenant_url"].label == "Tenant URL" and not fields["tenant_url"].secret
    assert fields["secret_token"].label == "Secret Token" and fields["secret_token"].secret
    assert template.secret_credential_names == ("secret_token",)
    assert template.test_connection_hint
    assert template.quirks and all(q.strip() for q in template.quirks)
    assert any(role.is_default_access for role in template.app_roles)
    assert any(not role.is_default_access for role in template.app_roles)


@pytest.mark.parametrize("slug", VENDORS)
def test_every_vendor_has_one_matching_attribute_with_precedence_1_per_object(slug):
    template = get_template(slug)

    for mapping in template.object_mappings:
        precedences = [a.matching_precedence for a in mapping.attributes if a.matching_precedence]
        assert precedences == [1], mapping.object_type
        targets = [a.target for a in mapping.attributes]
        assert len(targets) == len(set(targets))


def test_vendor_specific_choices_follow_their_tutorials():
    def matching(slug, object_type=ObjectType.USER):
        mapping = get_template(slug).mapping_for(object_type)
        return next(a.target for a in mapping.attributes if a.matching_precedence == 1)

    assert matching("atlassian-cloud") == 'emails[type eq "work"].value'
    assert matching("github-emu") == "externalId"
    assert matching("github-emu", ObjectType.GROUP) == "externalId"
    assert matching("asana") == "userName"
    assert not get_template("figma").mapping_for(ObjectType.GROUP).enabled
    miro_groups = get_template("miro").mapping_for(ObjectType.GROUP)
    assert miro_groups.update and not miro_groups.create and not miro_groups.delete
    assert {r.name for r in get_template("github-emu").app_roles} >= {
        "User",
        "Enterprise Owner",
        "Billing Manager",
        "Guest Collaborator",
    }
    assert [t.slug for t in search_templates("atlassian")] == ["atlassian-cloud"]


def test_every_template_names_a_registered_connector():
    assert {t.connector for t in all_templates()} <= set(CONNECTORS)


@pytest.mark.django_db
@pytest.mark.parametrize("slug", VENDORS)
def test_adding_a_vendor_application_copies_its_roles_and_mappings(slug):
    template = get_template(slug)

    application = add_application(slug, f"My {template.name}")

    assert set(application.roles.values_list("name", flat=True)) == {
        r.name for r in template.app_roles
    }
    job = application.provisioning_job
    for mapping_template in template.object_mappings:
        mapping = ObjectMapping.objects.get(job=job, object_type=mapping_template.object_type)
        assert mapping.enabled == mapping_template.enabled
        assert (mapping.action_create, mapping.action_update, mapping.action_delete) == (
            mapping_template.create,
            mapping_template.update,
            mapping_template.delete,
        )
        copied = AttributeMapping.objects.filter(object_mapping=mapping).order_by("position")
        assert [a.target_attribute for a in copied] == [
            a.target for a in mapping_template.attributes
        ]
        assert [a.matching_precedence for a in copied if a.is_matching] == [1]
