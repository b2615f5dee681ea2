"""Reading a SCIM target's /Schemas into attribute paths (issue 10)."""

import json
from importlib import resources

from provisioning.mappings.target_schema import parse_scim_schemas

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def rfc7643_schemas():
    package = resources.files("scim2_server") / "resources"
    return (
        json.loads((package / "default-schemas.json").read_text()),
        json.loads((package / "default-resource-types.json").read_text()),
    )


def by_name(specs):
    return {spec.name: spec for spec in specs}


def test_rfc_7643_schemas_become_the_paths_mappings_use():
    schemas, resource_types = rfc7643_schemas()
    parsed = parse_scim_schemas(schemas, resource_types)
    users, groups = by_name(parsed["User"]), by_name(parsed["Group"])
    assert users["userName"].required and users["userName"].matching_supported
    assert users["active"].type == "Boolean"
    assert "name.givenName" in users and "name.familyName" in users
    assert 'emails[type eq "work"].value' in users
    assert users['emails[type eq "work"].value'].matching_supported
    assert 'addresses[type eq "work"].country' in users
    assert users[f"{ENTERPRISE}:manager"].type == "Reference"
    assert f"{ENTERPRISE}:department" in users
    assert "id" not in users and "groups" not in users  # read-only attributes are not targets
    assert groups["members"].multi_valued and groups["members"].type == "Reference"
    assert "displayName" in groups


def test_without_resource_types_extensions_are_assigned_by_their_urn():
    schemas, _ = rfc7643_schemas()
    custom = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
    schemas.append({"id": custom, "attributes": [{"name": "costCenter", "type": "string"}]})
    users = by_name(parse_scim_schemas(schemas)["User"])
    assert f"{custom}:costCenter" in users and f"{ENTERPRISE}:department" in users


def test_garbage_is_ignored():
    assert parse_scim_schemas([{"id": 3}, "x", {"attributes": "no"}]) == {}  # type: ignore[list-item]
