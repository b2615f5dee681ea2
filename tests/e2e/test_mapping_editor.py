"""End to end in Chromium (issue 10): open the users mapping from the Provisioning tab, add an
Expression mapping, see its positioned error, fix it, test it against a user, save, read the
preview, confirm; Provision on demand shows the computed value and the value is in the target."""

import uuid

from playwright.sync_api import expect

from provisioning.models import AttributeMapping
from tests.e2e.helpers import sign_in
from tests.e2e.test_tutorial import CYCLE_DEADLINE_MS, configured_application, directory_user
from tests.factories import assign


def test_add_an_expression_mapping_preview_confirm_and_provision_it(
    page, engine, scim, make_login, screenshot
):
    make_login("mara", "admin")
    application = configured_application(f"Mapped {uuid.uuid4().hex[:4]}", scim)
    person = directory_user(f"ada.lovelace-{uuid.uuid4().hex[:6]}@contoso.example")
    assign(application, person, "User")
    expected = f"{person.given_name}.{person.surname}".lower()

    sign_in(page, "mara")
    page.goto(f"/apps/{application.pk}/provisioning/")
    page.get_by_role(
        "link", name=f"Synchronize Azure Active Directory Users to {application.name}"
    ).click()
    expect(page.get_by_test_id("attribute-mappings")).to_be_visible()
    page.get_by_role("button", name="Add New Mapping").click()

    page.get_by_role("radio", name="Expression").check()
    expression = page.locator("textarea[name=expression]")
    expression.fill('ToLower(Join(".", [givenName], [surname])')
    error = page.get_by_test_id("expression-error")
    expect(error).to_contain_text("Line 1, column")
    expect(error).to_contain_text("Missing ')'")
    screenshot(page, "mapping-editor-expression-error")
    expression.fill('ToLower(Join(".", [givenName], [surname]))')
    expect(page.get_by_test_id("expression-ok")).to_contain_text("Join")
    expect(page.get_by_test_id("expression-ok")).to_contain_text("givenName")

    page.get_by_label("Directory user").fill(person.user_principal_name)
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.get_by_test_id("expression-value")).to_have_text(f'"{expected}"')
    screenshot(page, "mapping-editor-expression-test")

    page.get_by_label("Target attribute").select_option("nickName")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_test_id("unsaved-changes")).to_be_visible()
    expect(page.locator('tr[data-target="nickName"]')).to_contain_text("Join")

    page.get_by_role("button", name="Save").click()
    preview = page.get_by_test_id("mapping-preview")
    expect(preview).to_be_visible()
    expect(page.get_by_test_id("preview-created")).to_have_text("1")  # assigned, not provisioned
    expect(page.get_by_test_id("preview-updated")).to_have_text("0")
    screenshot(page, "mapping-editor-preview")
    assert not AttributeMapping.objects.filter(
        object_mapping__job__application=application, target_attribute="nickName"
    ).exists()
    page.get_by_role("button", name="Confirm and save").click()
    expect(
        page.get_by_role("status").filter(has_text="Your changes have been saved.")
    ).to_be_visible()
    assert AttributeMapping.objects.filter(
        object_mapping__job__application=application, target_attribute="nickName"
    ).exists()

    page.get_by_role("link", name="Back to Provisioning").click()
    page.get_by_role("link", name="Provision on demand").click()
    page.get_by_label("Search users and groups").fill(person.user_principal_name)
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Selected user or group").select_option(f"user:{person.pk}")
    page.get_by_role("button", name="Provision", exact=True).click()
    expect(page.get_by_test_id("on-demand-state")).to_have_text(
        "Completed", timeout=CYCLE_DEADLINE_MS
    )
    page.get_by_role("link", name="View details").first.click()
    expect(page.locator("main")).to_contain_text(expected)
    screenshot(page, "mapping-editor-on-demand")

    (account,) = [
        u for u in scim.all_resources("Users") if u["userName"] == person.user_principal_name
    ]
    assert account["nickName"] == expected
