"""Flat Azure-style attribute paths ↔ SCIM resources, PATCH operations and filters."""

import pytest

from provisioning.connectors import scim_paths
from provisioning.connectors.scim_paths import (
    CORE_GROUP_SCHEMA,
    CORE_USER_SCHEMA,
    ENTERPRISE_USER_SCHEMA,
    AttributePath,
    eq_filter,
    filter_literal,
    from_resource,
    loose_eq_filter,
    parse_path,
    to_patch_operations,
    to_resource,
)

EXT = ENTERPRISE_USER_SCHEMA
WORK_EMAIL = 'emails[type eq "work"].value'
MOBILE = 'phoneNumbers[type eq "mobile"].value'
WORK_COUNTRY = 'addresses[type eq "work"].country'
PRIMARY_ROLE = 'roles[primary eq "True"].value'

AZURE_USER = {
    "userName": "a@x",
    "active": True,
    "displayName": "A B",
    "name.givenName": "A",
    "name.familyName": "B",
    WORK_EMAIL: "a@x",
    MOBILE: "+1 555",
    WORK_COUNTRY: "TW",
    "externalId": "ext-1",
    "title": "Engineer",
    "preferredLanguage": "zh-TW",
    f"{EXT}:department": "IT",
    f"{EXT}:employeeNumber": "42",
    f"{EXT}:manager": "manager-id",
    PRIMARY_ROLE: "User",
}


def test_parse_simple_and_dotted_paths():
    assert parse_path("userName") == AttributePath("userName")
    assert parse_path("name.givenName") == AttributePath("name", sub_attribute="givenName")


def test_parse_value_filtered_path():
    parsed = parse_path(WORK_EMAIL)
    assert parsed.attribute == "emails"
    assert parsed.filter_attribute == "type"
    assert parsed.filter_value == "work"
    assert parsed.sub_attribute == "value"
    assert parsed.render() == WORK_EMAIL


def test_parse_extension_path_keeps_schema_urn():
    parsed = parse_path(f"{EXT}:department")
    assert parsed.schema == EXT
    assert parsed.attribute == "department"
    assert parsed.render() == f"{EXT}:department"


def test_core_schema_prefix_is_the_same_as_no_prefix():
    assert parse_path(f"{CORE_USER_SCHEMA}:userName") == parse_path("userName")


def test_azure_primary_string_literal_becomes_boolean():
    parsed = parse_path(PRIMARY_ROLE)
    assert parsed.filter_value is True
    assert parsed.render() == "roles[primary eq true].value"


def test_filter_literal_with_escaped_quote_is_decoded():
    parsed = parse_path('emails[type eq "wo\\"rk"].value')
    assert parsed.filter_value == 'wo"rk'


@pytest.mark.parametrize(
    "bad",
    ["", 'emails[type co "w"].value', "emails[type eq work].value", "a..b", "urn:x"],
)
def test_unsupported_paths_are_refused(bad):
    with pytest.raises(ValueError):
        parse_path(bad)


def test_to_resource_builds_the_nested_user():
    resource = to_resource("User", AZURE_USER)
    assert resource == {
        "schemas": [CORE_USER_SCHEMA, EXT],
        "userName": "a@x",
        "active": True,
        "displayName": "A B",
        "name": {"givenName": "A", "familyName": "B"},
        "emails": [{"type": "work", "value": "a@x", "primary": True}],
        "phoneNumbers": [{"type": "mobile", "value": "+1 555"}],
        "addresses": [{"type": "work", "country": "TW"}],
        "externalId": "ext-1",
        "title": "Engineer",
        "preferredLanguage": "zh-TW",
        EXT: {
            "department": "IT",
            "employeeNumber": "42",
            "manager": {"value": "manager-id"},
        },
        "roles": [{"primary": True, "value": "User"}],
    }


def test_to_resource_without_extension_attributes_has_only_the_core_schema():
    assert to_resource("User", {"userName": "u"})["schemas"] == [CORE_USER_SCHEMA]


def test_to_resource_merges_several_paths_into_one_item():
    resource = to_resource(
        "User", {WORK_COUNTRY: "TW", 'addresses[type eq "work"].locality': "Taipei"}
    )
    assert resource["addresses"] == [{"type": "work", "country": "TW", "locality": "Taipei"}]


def test_to_resource_marks_only_the_first_email_primary():
    resource = to_resource("User", {WORK_EMAIL: "w@x", 'emails[type eq "home"].value': "h@x"})
    assert resource["emails"] == [
        {"type": "work", "value": "w@x", "primary": True},
        {"type": "home", "value": "h@x"},
    ]


def test_to_resource_leaves_out_none_values():
    resource = to_resource("User", {"userName": "u", "title": None, WORK_EMAIL: None})
    assert resource == {"schemas": [CORE_USER_SCHEMA], "userName": "u"}


def test_group_resource_never_carries_members():
    resource = to_resource("Group", {"displayName": "G", "externalId": "g1", "members": ["x"]})
    assert resource == {"schemas": [CORE_GROUP_SCHEMA], "displayName": "G", "externalId": "g1"}


def test_active_stays_a_boolean():
    assert to_resource("User", {"userName": "u", "active": False})["active"] is False
    ops = to_patch_operations({"active": False})
    assert ops == [{"op": "replace", "path": "active", "value": False}]


def test_patch_operations_replace_and_remove():
    ops = to_patch_operations(
        {"displayName": "New", "title": None, WORK_EMAIL: "b@x", f"{EXT}:manager": "m2"}
    )
    assert ops == [
        {"op": "replace", "path": "displayName", "value": "New"},
        {"op": "remove", "path": "title"},
        {"op": "replace", "path": WORK_EMAIL, "value": "b@x"},
        {"op": "replace", "path": f"{EXT}:manager", "value": {"value": "m2"}},
    ]


def test_patch_operations_normalise_the_primary_filter():
    assert to_patch_operations({PRIMARY_ROLE: "Admin"}) == [
        {"op": "replace", "path": "roles[primary eq true].value", "value": "Admin"}
    ]


def test_patch_with_current_adds_missing_items_and_replaces_existing_ones():
    current = {
        "emails": [{"type": "work", "value": "a@x", "primary": True}],
        "addresses": [],
    }
    ops = to_patch_operations(
        {
            WORK_EMAIL: "b@x",
            MOBILE: "+2",
            WORK_COUNTRY: "FR",
            'addresses[type eq "work"].locality': "Paris",
            'emails[type eq "home"].value': None,
        },
        current=current,
    )
    assert ops == [
        {"op": "replace", "path": WORK_EMAIL, "value": "b@x"},
        {"op": "add", "path": "phoneNumbers", "value": [{"type": "mobile", "value": "+2"}]},
        {
            "op": "add",
            "path": "addresses",
            "value": [{"type": "work", "country": "FR", "locality": "Paris"}],
        },
    ]


def test_patch_with_current_adds_a_primary_email_when_there_is_none():
    ops = to_patch_operations({WORK_EMAIL: "w@x"}, current={"userName": "u"})
    assert ops == [
        {
            "op": "add",
            "path": "emails",
            "value": [{"type": "work", "value": "w@x", "primary": True}],
        }
    ]


def test_from_resource_reads_back_what_to_resource_wrote():
    resource = to_resource("User", AZURE_USER)
    assert from_resource("User", resource, AZURE_USER.keys()) == AZURE_USER


def test_from_resource_returns_none_for_absent_values_and_ignores_case():
    resource = {
        "UserName": "u",
        "emails": [{"type": "Work", "value": "w@x"}],
        EXT.lower(): {"Department": "IT"},
    }
    assert from_resource(
        "User",
        resource,
        ["userName", WORK_EMAIL, MOBILE, f"{EXT}:department", "name.givenName"],
    ) == {
        "userName": "u",
        WORK_EMAIL: "w@x",
        MOBILE: None,
        f"{EXT}:department": "IT",
        "name.givenName": None,
    }


def test_filter_literal_escapes_quotes_and_backslashes_and_keeps_non_ascii():
    assert filter_literal('O"Brien\\x@例え.jp') == '"O\\"Brien\\\\x@例え.jp"'
    assert filter_literal(True) == "true"
    assert filter_literal(42) == "42"


def test_eq_filter_forms():
    assert eq_filter("userName", 'a"b') == 'userName eq "a\\"b"'
    assert eq_filter(WORK_EMAIL, "a@x") == 'emails[type eq "work" and value eq "a@x"]'
    assert eq_filter(f"{EXT}:employeeNumber", "42") == f'{EXT}:employeeNumber eq "42"'
    assert eq_filter(f"{EXT}:manager", "m") == f'{EXT}:manager.value eq "m"'
    assert loose_eq_filter(WORK_EMAIL, "a@x") == 'emails.value eq "a@x"'


def test_values_compare_like_scim():
    assert scim_paths.values_equal("A@X", "a@x")
    assert scim_paths.values_equal("True", True)
    assert not scim_paths.values_equal("a@x", "b@x")
    assert not scim_paths.values_equal(False, True)
