"""The mapping editor's pages (issue 10): the object mapping page, the attribute editor with its
expression check and test, the scoping-filter editor, preview and confirm, the target attribute
list and the schema document page."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import AuditActivity, MappingType, ObjectType
from provisioning.models import AuditEvent, ProvisioningJob
from provisioning.roles import ensure_roles
from tests.factories import DirectoryUserFactory, make_application

pytestmark = pytest.mark.django_db


def sign_in(client, role: str):
    administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username=role)
    user.groups.add(administrators if role == "adam" else auditors)
    client.force_login(user)
    return user


@pytest.fixture
def admin(client):
    return sign_in(client, "adam")


@pytest.fixture
def app():
    application = make_application("scim", "Contoso")
    ProvisioningJob.objects.filter(pk=application.provisioning_job.pk).update(
        full_sync_required=False
    )
    return application


def url(app, name="attribute-mappings", **kwargs):
    return reverse(name, kwargs={"application_id": app.pk, "object_type": "users", **kwargs})


def settings_data(**extra):
    return {"settings-present": "1", "enabled": "on", "action_create": "on",
            "action_update": "on", "action_delete": "on", **extra}  # fmt: skip


def editor_data(**extra):
    return {"mapping_type": "Expression", "source_attribute": "", "constant_value": "",
            "expression": "", "default_value": "", "target_attribute": "nickName",
            "matching_precedence": "", "apply_on": "Always", **extra}  # fmt: skip


def test_the_mapping_page_offers_the_editor_to_administrators(client, admin, app):
    page = client.get(url(app)).content.decode()
    assert 'data-testid="attribute-mappings"' in page and 'data-matching="true"' in page
    for text in ("Add New Mapping", "Restore default mappings", "Save", "Discard",
                 "Edit scoping filters", "Edit attribute list for Contoso"):  # fmt: skip
        assert text in page
    assert "read-only" not in page


def test_auditors_read_the_mapping_without_forms_and_cannot_post(client, app):
    sign_in(client, "audrey")
    page = client.get(url(app)).content.decode()
    assert 'data-testid="attribute-mappings"' in page
    assert "Add New Mapping" not in page and 'name="action"' not in page
    assert client.post(url(app), {"action": "restore"}).status_code == 403
    assert client.get(url(app, "attribute-editor-new")).status_code == 403
    for page_url in (url(app, "scoping-filters"), url(app, "target-schema"),
                     reverse("schema-document", args=[app.pk])):  # fmt: skip
        html = client.get(page_url).content.decode().split('<main id="main"', 1)[1]
        assert client.get(page_url).status_code == 200
        assert 'method="post"' not in html, page_url
    assert client.post(url(app, "expression-check"), {"expression": "x"}).status_code == 403
    assert client.post(url(app, "target-schema"), {"action": "refresh"}).status_code == 403


def test_add_an_expression_mapping_see_its_error_fix_it_preview_and_confirm(client, admin, app):
    # Add New Mapping opens the attribute editor.
    response = client.post(url(app), settings_data(action="new"))
    assert response.status_code == 302 and response["Location"] == url(app, "attribute-editor-new")
    # A missing bracket is refused with its position.
    response = client.post(
        url(app, "attribute-editor-new"), editor_data(expression='Join(".", [givenName]')
    )
    assert response.status_code == 422
    assert "line 1, column" in response.content.decode()
    # Fixed: the draft gets the row, nothing is saved yet.
    response = client.post(
        url(app, "attribute-editor-new"),
        editor_data(expression='Join(".", [givenName], [surname])'),
    )
    assert response.status_code == 302
    mapping = app.provisioning_job.mappings.get(object_type=ObjectType.USER)
    assert not mapping.attributes.filter(target_attribute="nickName").exists()
    assert "not saved yet" in client.get(url(app)).content.decode()
    # Save shows the preview; nothing saved yet.
    response = client.post(url(app), settings_data(action="save"))
    assert response.status_code == 200
    assert 'data-testid="mapping-preview"' in response.content.decode()
    assert [c["attribute"] for c in response.context["changes"]] == ["nickName"]
    assert response.context["changes"][0]["before"] is None
    assert not mapping.attributes.filter(target_attribute="nickName").exists()
    fingerprint = response.context["fingerprint"]
    # Confirm saves, audits and asks for an initial cycle.
    response = client.post(url(app), {"action": "confirm", "fingerprint": fingerprint})
    assert response.status_code == 302
    saved = mapping.attributes.get(target_attribute="nickName")
    assert saved.mapping_type == MappingType.EXPRESSION
    assert AuditEvent.objects.filter(
        activity=AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS, actor_name="adam"
    ).exists()
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).full_sync_required
    assert "not saved yet" not in client.get(url(app)).content.decode()


def test_confirm_refuses_a_draft_other_than_the_previewed_one(client, admin, app):
    client.post(url(app), settings_data(action_delete="", action="save"))
    response = client.post(url(app), {"action": "confirm", "fingerprint": "stale"})
    assert 'data-testid="mapping-preview"' in response.content.decode()
    mapping = app.provisioning_job.mappings.get(object_type=ObjectType.USER)
    assert mapping.action_delete  # not saved


def test_a_save_with_problems_shows_them_beside_the_rows_and_saves_nothing(client, admin, app):
    client.post(url(app, "attribute-editor", index=0), editor_data(
        mapping_type="Direct", source_attribute="userPrincipalName", target_attribute="userName",
        is_matching="", matching_precedence=""))  # fmt: skip
    response = client.post(url(app), settings_data(action="save"))
    assert response.status_code == 422
    assert "At least one attribute must be used to match objects." in response.content.decode()


def test_discard_drops_the_draft(client, admin, app):
    client.post(url(app), settings_data(action="delete:2"))
    assert "not saved yet" in client.get(url(app)).content.decode()
    client.post(url(app), settings_data(action="discard"))
    assert "not saved yet" not in client.get(url(app)).content.decode()


def test_the_expression_check_gives_line_and_column_or_the_functions(client, admin, app):
    bad = client.post(url(app, "expression-check"), {"expression": 'Join(" ",\n [givenName]'})
    html = bad.content.decode()
    assert "Line 2, column" in html and "Missing &#x27;)&#x27;" in html
    good = client.post(url(app, "expression-check"), {"expression": 'Join(" ", [givenName])'})
    assert "Join" in good.content.decode() and "givenName" in good.content.decode()
    assert "expression-unknown" not in good.content.decode()
    typo = client.post(url(app, "expression-check"), {"expression": "ToLower([givnName])"})
    assert "always null): givnName" in typo.content.decode()


def test_test_this_expression_against_a_directory_user(client, admin, app):
    DirectoryUserFactory(
        given_name="Ada", surname="Lovelace", user_principal_name="ada@contoso.example"
    )
    options = client.get(url(app, "source-object-search"), {"test_object": "ada"})
    assert "ada@contoso.example" in options.content.decode()
    result = client.post(
        url(app, "expression-test"),
        {"expression": 'Join(".", [givenName], [surname])', "test_object": "ada@contoso.example"},
    )
    assert "&quot;Ada.Lovelace&quot;" in result.content.decode()
    failing = client.post(
        url(app, "expression-test"),
        {"expression": "CDate([givenName])", "test_object": "ada@contoso.example"},
    )
    assert "CDate" in failing.content.decode()


def test_the_scoping_filter_editor_adds_and_validates_clauses(client, admin, app):
    response = client.post(
        url(app, "scoping-filters"), {"filter_count": "0", "action": "add-filter"}
    )
    assert response.status_code == 200
    data = {"filter_count": "1", "f0_count": "1", "f0c0_attribute": "department",
            "f0c0_operator": "Greater_Than", "f0c0_value": "many", "action": "ok"}  # fmt: skip
    response = client.post(url(app, "scoping-filters"), data)
    assert response.status_code == 422 and "whole number" in response.content.decode()
    data.update(f0c0_operator="Includes", f0c0_value="Research")
    assert client.post(url(app, "scoping-filters"), data).status_code == 302
    assert "department Includes Research" in client.get(url(app)).content.decode()


def test_a_target_attribute_can_be_added_by_hand(client, admin, app):
    name = "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter"
    response = client.post(
        url(app, "target-schema"), {"action": "add", "name": name, "type": "String"}
    )
    assert response.status_code == 302
    assert name in client.get(url(app, "target-schema")).content.decode()
    assert AuditEvent.objects.filter(activity=AuditActivity.UPDATE_TARGET_SCHEMA).exists()


def test_the_schema_document_downloads_and_a_bad_upload_lists_every_problem(client, admin, app):
    page = reverse("schema-document", args=[app.pk])
    download = client.get(page, {"download": "1"})
    document = json.loads(download.content)
    assert document["version"] == 1 and "attachment" in download["Content-Disposition"]
    rows = document["objectMappings"][0]["attributeMappings"]
    rows[0]["matchingPrecedence"] = None  # no matching attribute left
    rows[1]["expression"] = "Not("
    upload = io.BytesIO(json.dumps(document).encode())
    upload.name = "schema.json"
    response = client.post(page, {"document": upload})
    assert response.status_code == 422
    assert len(response.context["problems"]) == 2
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_ATTRIBUTE_MAPPINGS).exists()


def test_the_provisioning_tab_says_an_initial_cycle_follows_a_saved_change(client, admin, app):
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(watermark=10)
    tab = reverse("provisioning", args=[app.pk])
    assert 'data-testid="initial-cycle-follows"' not in client.get(tab).content.decode()
    client.post(url(app), settings_data(action_delete=""))  # a draft only: nothing yet
    response = client.post(url(app), settings_data(action_delete="", action="save"))
    client.post(url(app), {"action": "confirm", "fingerprint": response.context["fingerprint"]})
    assert 'data-testid="initial-cycle-follows"' in client.get(tab).content.decode()


def test_a_draft_overtaken_by_another_save_is_flagged(client, admin, app):
    from provisioning.mappings.drafts import MappingDraft
    from provisioning.mappings.save import save_object_mapping

    client.post(url(app), settings_data(action="delete:2"))
    assert 'data-testid="stale-draft"' not in client.get(url(app)).content.decode()
    mapping = app.provisioning_job.mappings.get(object_type=ObjectType.USER)
    other = MappingDraft.from_model(mapping)
    other.action_delete = False
    assert save_object_mapping(mapping, other, actor="eve") == []
    assert 'data-testid="stale-draft"' in client.get(url(app)).content.decode()


def test_a_valid_schema_upload_replaces_the_mappings(client, admin, app):
    page = reverse("schema-document", args=[app.pk])
    document = json.loads(client.get(page, {"download": "1"}).content)
    users = document["objectMappings"][0]
    users["attributeMappings"] = [
        row for row in users["attributeMappings"] if row["targetAttribute"] != "title"
    ]
    upload = io.BytesIO(json.dumps(document).encode())
    upload.name = "schema.json"
    response = client.post(page, {"document": upload})
    assert response.status_code == 302
    mapping = app.provisioning_job.mappings.get(object_type=ObjectType.USER)
    assert not mapping.attributes.filter(target_attribute="title").exists()
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).full_sync_required
    not_json = io.BytesIO(b"{oops")
    not_json.name = "schema.json"
    assert "not a JSON document" in client.post(page, {"document": not_json}).content.decode()


def test_reading_the_schema_of_an_unreachable_target_says_so_and_changes_nothing(
    client, admin, app
):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    job = app.provisioning_job
    job.credentials = {"tenant_url": f"http://127.0.0.1:{port}/v2", "secret_token": "s3cret-tok"}
    job.save()
    client.get(url(app, "target-schema"))
    before = sorted(job.target_attributes.values_list("name", flat=True))
    response = client.post(url(app, "target-schema"), {"action": "refresh"}, follow=True)
    html = response.content.decode()
    assert "could not be read" in html and "s3cret-tok" not in html
    assert sorted(job.target_attributes.values_list("name", flat=True)) == before


def test_enter_in_the_attribute_editor_keeps_editing_without_taking_the_row(client, admin, app):
    data = editor_data(expression='Join(".", [givenName], [surname])', action="stay")
    response = client.post(url(app, "attribute-editor-new"), data)
    assert response.status_code == 200
    assert "Join(&quot;.&quot;, [givenName], [surname])" in response.content.decode()
    assert "not saved yet" not in client.get(url(app)).content.decode()
