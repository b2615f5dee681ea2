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


def test_a_scoping_filter_shows_who_would_be_disabled_before_it_is_saved(
    page, scim, make_login, screenshot
):
    from provisioning.choices import LinkState, ObjectType
    from provisioning.models import ObjectMapping, ProvisionedObject

    make_login("sam", "admin")
    application = configured_application(f"Scoped {uuid.uuid4().hex[:4]}", scim)
    seller = directory_user(f"sid.seller-{uuid.uuid4().hex[:6]}@contoso.example")  # Sales
    researcher = directory_user(f"rita.research-{uuid.uuid4().hex[:6]}@contoso.example")
    researcher.department = "Research and Development"
    researcher.save()
    for person in (seller, researcher):
        assign(application, person, "User")
        ProvisionedObject.objects.create(
            job=application.provisioning_job,
            object_type=ObjectType.USER,
            source_id=person.pk,
            target_id=f"t-{person.pk}",
            last_exported={},
            state=LinkState.PROVISIONED,
        )

    sign_in(page, "sam")
    page.goto(f"/apps/{application.pk}/provisioning/mappings/users/")
    page.get_by_role("button", name="Edit scoping filters").click()
    expect(page.get_by_test_id("no-scoping-filters")).to_be_visible()
    page.get_by_role("button", name="Add scoping filter").click()
    page.get_by_label("Attribute Name").select_option("department")
    page.get_by_label("Operator").select_option("Includes")
    page.get_by_label("Attribute Value").fill("Research")
    page.get_by_label("Attribute Value").press("Enter")  # keeps the clause (no delete)
    expect(page.get_by_label("Attribute Value")).to_have_value("Research")
    screenshot(page, "mapping-editor-scoping-filter")
    page.get_by_role("button", name="OK").click()
    expect(page.get_by_test_id("scope-summary")).to_contain_text("department Includes Research")

    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("preview-disabled")).to_have_text("1")
    expect(page.get_by_test_id("preview-examples")).to_contain_text(seller.user_principal_name)
    page.get_by_role("button", name="Confirm and save").click()
    expect(
        page.get_by_role("status").filter(has_text="Your changes have been saved.")
    ).to_be_visible()
    mapping = ObjectMapping.objects.get(job__application=application, object_type=ObjectType.USER)
    assert mapping.scoping_filters == [
        [{"attribute": "department", "operator": "Includes", "value": "Research"}]
    ]


def test_the_tutorials_step_10_review_and_save_without_changes(page, goto, make_login):
    from provisioning.services.applications import add_application

    make_login("gail", "admin")
    application = add_application("gotomeeting", f"GoToMeeting {uuid.uuid4().hex[:4]}")
    sign_in(page, "gail")
    # (The Provisioning tab lists the mappings once the mode is Automatic: the tutorial's step 9.)
    page.goto(f"/apps/{application.pk}/provisioning/mappings/users/")
    expect(
        page.get_by_test_id("attribute-mappings").locator("tr[data-matching=true]")
    ).to_contain_text("email")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("status").filter(has_text="There were no changes to save.")
    ).to_be_visible()
