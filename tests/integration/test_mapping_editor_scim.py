"""Mappings saved through the editor's service take effect in a real scim2-server (issue 10):
an Expression, a Constant, a default if null, an "Only during object creation" mapping, a
scoping filter, a custom extension attribute read from the target's /Schemas, and an expression
that breaks a limit failing only its own object."""

import json
from importlib import resources

import pytest

from provisioning.choices import (
    ApplyMapping,
    CycleState,
    LogStatus,
    MappingType,
    ObjectType,
    ProvisioningMode,
    ProvisioningScope,
)
from provisioning.engine.cycle import run_cycle
from provisioning.mappings.drafts import AttributeDraft, MappingDraft
from provisioning.mappings.save import save_object_mapping
from provisioning.mappings.target_schema import refresh_from_target, target_attributes
from provisioning.models import ProvisioningJob, ProvisioningLogEntry
from provisioning.services.applications import add_application
from tests.factories import DirectoryUserFactory, assign
from tests.support.fault_proxy import Fault
from tests.support.scim_server import start_scim_server

pytestmark = pytest.mark.django_db

CONTOSO = "urn:ietf:params:scim:schemas:extension:contoso:2.0:User"


def make_app(server, name="Target app", scope=ProvisioningScope.ASSIGNED):
    application = add_application("scim", name)
    job = application.provisioning_job
    job.credentials = server.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.scope = scope
    job.save()
    return application


def users_mapping(application):
    return application.provisioning_job.mappings.get(object_type=ObjectType.USER)


def edit(application, change) -> None:
    mapping = users_mapping(application)
    draft = MappingDraft.from_model(mapping)
    change(draft)
    assert save_object_mapping(mapping, draft, actor="adam") == []


def set_row(draft, target, **fields):
    for row in draft.attributes:
        if row.target_attribute == target:
            for key, value in fields.items():
                setattr(row, key, value)
            return
    draft.attributes.append(AttributeDraft(target_attribute=target, **fields))


def run(application, connector):
    job = ProvisioningJob.objects.get(pk=application.provisioning_job.pk)
    return run_cycle(job, connector=connector).cycle


def by_user_name(server):
    return {u["userName"]: u for u in server.all_resources("Users")}


def test_edited_mappings_take_effect_in_the_target_exactly(scim, make_connector):
    application = make_app(scim)
    ada = DirectoryUserFactory(
        user_principal_name="ada@contoso.example", given_name="Ada", surname="Lovelace",
        department="Research and Development", job_title="",
    )  # fmt: skip
    alan = DirectoryUserFactory(
        user_principal_name="alan@contoso.example", given_name="Alan", surname="Turing",
        department="Research", job_title="Cryptanalyst",
    )  # fmt: skip
    grace = DirectoryUserFactory(
        user_principal_name="grace@contoso.example", department="Sales", job_title="Admiral"
    )
    for user in (ada, alan, grace):
        assign(application, user)

    def first_version(draft):
        set_row(draft, "nickName", mapping_type=MappingType.EXPRESSION,
                expression='Join(".", [givenName], [surname])')  # fmt: skip
        set_row(draft, "userType", mapping_type=MappingType.CONSTANT, constant_value="Employee")
        set_row(draft, "title", default_value="Staff")
        set_row(draft, "timezone", mapping_type=MappingType.CONSTANT,
                constant_value="Europe/Paris", apply_on=ApplyMapping.ON_CREATE)  # fmt: skip
        draft.scoping_filters = [
            [{"attribute": "department", "operator": "Includes", "value": "Research"}]
        ]

    edit(application, first_version)
    result = run(application, make_connector())
    assert result.state == CycleState.SUCCEEDED, result.error

    users = by_user_name(scim)
    # Includes is a substring: "Research and Development" is in scope; Sales is not.
    assert set(users) == {"ada@contoso.example", "alan@contoso.example"}
    ada_account, alan_account = users["ada@contoso.example"], users["alan@contoso.example"]
    assert ada_account["nickName"] == "Ada.Lovelace"
    assert ada_account["userType"] == "Employee"
    assert ada_account["title"] == "Staff"  # default if null, on create
    assert alan_account["title"] == "Cryptanalyst"
    assert ada_account["timezone"] == "Europe/Paris"

    def second_version(draft):
        set_row(draft, "userType", constant_value="Contractor")
        set_row(draft, "timezone", constant_value="UTC")  # only during creation: not applied

    edit(application, second_version)
    assert ProvisioningJob.objects.get(pk=application.provisioning_job.pk).full_sync_required
    result = run(application, make_connector())
    assert result.state == CycleState.SUCCEEDED, result.error
    ada_account = by_user_name(scim)["ada@contoso.example"]
    assert ada_account["userType"] == "Contractor"
    assert ada_account["timezone"] == "Europe/Paris"


def test_an_expression_breaking_a_limit_fails_only_its_own_object(scim, make_connector):
    application = make_app(scim)
    slow = DirectoryUserFactory(
        user_principal_name="slow@contoso.example", display_name="a" * 40 + "!"
    )
    fine = DirectoryUserFactory(user_principal_name="fine@contoso.example", display_name="Fine")
    for user in (slow, fine):
        assign(application, user)
    edit(
        application,
        lambda draft: set_row(
            draft, "nickName", mapping_type=MappingType.EXPRESSION,
            expression='Replace([displayName], , "^(a|a)+$", , "x", , )',
        ),
    )  # fmt: skip
    result = run(application, make_connector())
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    assert set(by_user_name(scim)) == {"fine@contoso.example"}
    failure = ProvisioningLogEntry.objects.get(status=LogStatus.FAILURE)
    assert failure.source_display == "slow@contoso.example"
    assert failure.error_code == "EvaluationError"
    assert "took longer" in failure.reason


@pytest.fixture
def server_with_custom_extension(tmp_path):
    """A scim2-server whose /Schemas and /ResourceTypes announce a custom User extension."""
    package = resources.files("scim2_server") / "resources"
    schemas = json.loads((package / "default-schemas.json").read_text())
    schemas.append(
        {
            "id": CONTOSO,
            "name": "ContosoUser",
            "description": "Contoso's own attributes",
            "attributes": [
                {
                    "name": "costCenter",
                    "type": "string",
                    "multiValued": False,
                    "required": False,
                    "caseExact": False,
                    "mutability": "readWrite",
                    "returned": "default",
                    "uniqueness": "none",
                },
                {
                    "name": "badgeNumber",
                    "type": "integer",
                    "multiValued": False,
                    "required": False,
                    "caseExact": False,
                    "mutability": "readWrite",
                    "returned": "default",
                    "uniqueness": "server",
                },
            ],  # fmt: skip
        }
    )
    resource_types = json.loads((package / "default-resource-types.json").read_text())
    resource_types[0]["schemaExtensions"].append({"schema": CONTOSO, "required": False})
    schema_file, types_file = tmp_path / "schemas.json", tmp_path / "types.json"
    schema_file.write_text(json.dumps(schemas))
    types_file.write_text(json.dumps(resource_types))
    server = start_scim_server(
        extra_args=["--schema", str(schema_file), "--resource-type", str(types_file)]
    )
    try:
        yield server
    finally:
        server.stop()


def test_a_custom_extension_attribute_read_from_schemas_can_be_mapped_and_reaches_the_target(
    server_with_custom_extension, make_connector
):
    server = server_with_custom_extension
    application = make_app(server, "Contoso HR")
    job = application.provisioning_job
    cost_center = f"{CONTOSO}:costCenter"
    assert cost_center.lower() not in target_attributes(job, ObjectType.USER)
    # Mapping to it is refused while the attribute list does not know it.
    mapping = users_mapping(application)
    draft = MappingDraft.from_model(mapping)
    set_row(draft, cost_center, source_attribute="extension_contoso_costCenter")
    assert save_object_mapping(mapping, draft, actor="adam")

    assert refresh_from_target(job, actor="adam") >= 2
    schema = target_attributes(job, ObjectType.USER)
    assert schema[cost_center.lower()].type == "String"
    assert schema[f"{CONTOSO}:badgeNumber".lower()].type == "Integer"
    assert schema[f"{CONTOSO}:badgeNumber".lower()].matching_supported  # uniqueness server

    user = DirectoryUserFactory(
        user_principal_name="ada@contoso.example",
        extension_attributes={"extension_contoso_costCenter": "CC-4711"},
    )
    assign(application, user)
    assert save_object_mapping(mapping, draft, actor="adam") == []
    connector = make_connector(server.url, token=server.token)
    result = run(application, connector)
    assert result.state == CycleState.SUCCEEDED, result.error
    (account,) = server.all_resources("Users")
    assert account[CONTOSO]["costCenter"] == "CC-4711"


def test_a_scoping_regex_running_out_of_time_fails_the_object_without_disabling_it(
    scim, make_connector
):
    application = make_app(scim)
    slow = DirectoryUserFactory(user_principal_name="slow@contoso.example", department="Sales")
    fine = DirectoryUserFactory(user_principal_name="fine@contoso.example", department="Sales")
    for user in (slow, fine):
        assign(application, user)
    assert run(application, make_connector()).state == CycleState.SUCCEEDED
    assert set(by_user_name(scim)) == {"slow@contoso.example", "fine@contoso.example"}
    slow.department = "a" * 40 + "!"
    slow.save()

    def scope(draft):
        draft.scoping_filters = [
            [{"attribute": "department", "operator": "REGEX MATCH", "value": "^(a|a)+$|Sales"}]
        ]

    edit(application, scope)
    result = run(application, make_connector())
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    failure = ProvisioningLogEntry.objects.get(status=LogStatus.FAILURE)
    assert failure.source_display == "slow@contoso.example"
    assert failure.error_code == "ScopingFilterError" and "took longer" in failure.reason
    # Not treated as out of scope: the account stays active.
    assert by_user_name(scim)["slow@contoso.example"]["active"] is True


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(lambda: Fault.status(500), id="500"),
        pytest.param(lambda: Fault.status(404), id="404"),
        pytest.param(lambda: Fault.malformed_json(), id="malformed-json"),
        pytest.param(lambda: Fault.json(200, {"Resources": "nope"}), id="odd-json"),
        pytest.param(lambda: Fault.reset(), id="connection-reset"),
    ],
)
def test_a_schema_read_that_fails_changes_nothing(scim, fault):
    from provisioning.mappings.target_schema import TargetSchemaUnavailable
    from tests.support.fault_proxy import FaultProxy

    with FaultProxy(scim.url) as proxy:
        application = make_app(scim)
        job = application.provisioning_job
        job.credentials = {"tenant_url": proxy.url, "secret_token": scim.token}
        job.save()
        before = sorted(target_attributes(job, ObjectType.USER))
        proxy.inject(fault(), method="GET", path="/Schemas", times=None)
        with pytest.raises(TargetSchemaUnavailable):
            refresh_from_target(job, actor="adam")
        assert sorted(target_attributes(job, ObjectType.USER)) == before
        proxy.clear()
        refresh_from_target(job, actor="adam")  # the target answers again: it works
        assert job.target_attributes.filter(origin="target", name="userName").exists()
