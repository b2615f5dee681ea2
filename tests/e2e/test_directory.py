"""Directory pages in Chromium (issue 15), in English and in Traditional Chinese (zh-TW): a user's
page answers "where is this person provisioned", Provision on demand from there reaches
scim2-server through the real worker, and a CSV import is checked, reported and run with its
progress. Every page is free of console errors; screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from provisioning.models import DirectoryUser, ProvisionedObject
from provisioning.services.applications import add_application
from provisioning.services.configuration import ProvisioningSettings, save_provisioning_settings
from tests.e2e.helpers import E2E_PASSWORD
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, MembershipFactory, assign
from tests.support.processes import wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]

DEADLINE_MS = 60_000

# What a person reads in each language (the catalogue's words, as Microsoft's zh-TW portal).
WORDS = {
    "en-US": {
        "user_name": "User name",
        "password": "Password",
        "sign_in": "Sign in",
        "home": "Home",
        "users": "Users",
        "not_provisioned": "Not provisioned",
        "provisioned": "Provisioned",
        "on_demand": "Provision on demand",
        "through_group": "through group Sales",
        "provisioning_state": "Applications and provisioning",
        "language": "en",
    },
    "zh-TW": {
        "user_name": "使用者名稱",
        "password": "密碼",
        "sign_in": "登入",
        "home": "首頁",
        "users": "使用者",
        "not_provisioned": "未佈建",
        "provisioned": "已佈建",
        "on_demand": "隨選佈建",
        "through_group": "透過群組 Sales",
        "provisioning_state": "應用程式和佈建",
        "language": "zh-hant",
    },
}


def sign_in(page, username: str, words: dict) -> None:
    page.goto("/")
    page.get_by_label(words["user_name"]).fill(username)
    page.get_by_label(words["password"]).fill(E2E_PASSWORD)
    page.get_by_role("button", name=words["sign_in"]).click()
    page.get_by_role("heading", name=words["home"], exact=True).wait_for()


def configured_application(name: str, target):
    application = add_application("scim", name)
    save_provisioning_settings(
        application.provisioning_job,
        ProvisioningSettings(
            mode="Automatic",
            credentials={"tenant_url": target.url, "secret_token": target.token},
            notification_email="alerts@contoso.example",
            notify_on_failure=True,
            scope="assigned",
            prevent_accidental_deletion=True,
            deletion_threshold=500,
            interval_minutes=20,
            status_on=False,
        ),
        actor="setup",
    )
    return application


@pytest.mark.parametrize("locale", ["en-US", "zh-TW"])
def test_the_user_page_shows_where_the_person_is_provisioned_and_provisions_on_demand(
    locale, open_page, engine, scim, make_login, screenshot
):
    words = WORDS[locale]
    application = configured_application("Contoso SCIM", scim)
    manager = DirectoryUserFactory(display_name="Megan Bowen")
    person = DirectoryUserFactory(
        display_name="Britta Simon",
        given_name="Britta",
        surname="Simon",
        user_principal_name=f"britta.{locale.lower()}@contoso.example",
        manager=manager,
    )
    sales = DirectoryGroupFactory(display_name="Sales")
    MembershipFactory(group=sales, member_user=person)
    assign(application, sales)
    make_login("alex", "admin")
    page = open_page(locale)
    sign_in(page, "alex", words)
    assert page.locator("html").get_attribute("lang") == words["language"]

    # Users list -> the user's page.
    page.get_by_role("navigation").get_by_role("link", name=words["users"], exact=True).click()
    page.get_by_role("link", name="Britta Simon").click()
    expect(page.get_by_role("heading", name="Britta Simon", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Megan Bowen")).to_be_visible()
    state = page.get_by_test_id("app-state").filter(has_text="Contoso SCIM")
    expect(page.get_by_test_id("provisioning-state")).to_contain_text(words["provisioning_state"])
    expect(state).to_contain_text(words["not_provisioned"])
    expect(state).to_contain_text(words["through_group"])
    screenshot(page, f"directory-user-before-{locale}")

    # Provision on demand from the user's page: the worker creates the account in scim2-server.
    state.get_by_role("button", name=words["on_demand"]).click()
    expect(page.get_by_test_id("on-demand-state")).to_have_text(
        re.compile("Completed|已完成"), timeout=DEADLINE_MS
    )
    accounts = {u["userName"]: u for u in scim.all_resources("Users")}
    account = accounts[person.user_principal_name]

    page.goto(f"/users/{person.pk}/")
    state = page.get_by_test_id("app-state").filter(has_text="Contoso SCIM")
    expect(state.locator("h3 .badge")).to_have_text(words["provisioned"])
    expect(state.get_by_test_id("target-id")).to_have_text(account["id"])
    expect(state).to_contain_text(person.user_principal_name)  # last exported values
    assert ProvisionedObject.objects.filter(source_id=person.pk, target_id=account["id"]).exists()
    screenshot(page, f"directory-user-provisioned-{locale}")

    # The Provisioning tab: the status toggle inside Settings, beside Scope.
    page.goto(f"/apps/{application.pk}/provisioning/")
    settings_section = page.locator("details.section").filter(has=page.locator('[name="scope"]'))
    expect(settings_section.locator('[name="status"]').first).to_be_attached()
    screenshot(page, f"provisioning-tab-{locale}")


USERS_BAD = (
    "userPrincipalName,displayName,mail\n"
    "adele.vance@contoso.example,Adele Vance,not-an-address\n"
    "no-at-sign,Nobody,\n"
)
USERS_GOOD = (
    "userPrincipalName,displayName,mail,department\n"
    "adele.vance@contoso.example,Adele Vance,adele.vance@contoso.example,Retail\n"
    "lee.gu@contoso.example,Lee Gu,lee.gu@contoso.example,Manufacturing\n"
)


def test_csv_import_reports_bad_rows_then_imports_a_good_file(
    open_page, engine, make_login, screenshot
):
    make_login("alex", "admin")
    page = open_page("en-US")
    sign_in(page, "alex", WORDS["en-US"])
    page.goto("/directory/import/")
    page.get_by_label("CSV files").set_input_files(
        [{"name": "users.csv", "mimeType": "text/csv", "buffer": USERS_BAD.encode()}]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_test_id("import-state")).to_have_text("Rejected", timeout=DEADLINE_MS)
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("users.csv, line 2, column mail")
    expect(errors).to_contain_text("no-at-sign")
    assert not DirectoryUser.objects.filter(user_principal_name__startswith="adele").exists()
    screenshot(page, "directory-import-rejected")

    page.goto("/directory/import/")
    page.get_by_label("CSV files").set_input_files(
        [{"name": "users.csv", "mimeType": "text/csv", "buffer": USERS_GOOD.encode()}]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_test_id("import-state")).to_have_text("Ready to import", timeout=DEADLINE_MS)
    expect(page.get_by_role("status")).to_contain_text("Users: 2 created")
    page.get_by_role("button", name="Confirm import").click()
    expect(page.get_by_test_id("import-state")).to_have_text("Completed", timeout=DEADLINE_MS)
    expect(page.get_by_test_id("import-result")).to_contain_text("Users: 2 created")
    wait_until(
        lambda: DirectoryUser.objects.filter(department="Manufacturing").count() == 1,
        timeout=5,
        message="the imported user is missing",
    )
    screenshot(page, "directory-import-completed")


# English a zh-TW administrator must not meet on the tutorial's pages (names of apps and people,
# URLs and attribute names aside).
ENGLISH_LEFT = (
    "Provisioning Mode",
    "Admin Credentials",
    "Tenant URL",
    "Secret Token",
    "Test Connection",
    "Notification Email",
    "Synchronize Azure Active Directory",
    "Provisioning Status",
    "Synchronization Details",
    "Settings",
    "Mappings",
    "Save",
)


def test_the_tutorials_provisioning_steps_in_traditional_chinese(
    open_page, engine, scim, make_login, screenshot
):
    """Steps 3–12 of the tutorial in zh-TW, up to the user created in the target."""
    words = WORDS["zh-TW"]
    application = add_application("scim", "Contoso 示範")
    person = DirectoryUserFactory(
        display_name="Britta Simon", user_principal_name="britta.tutorial@contoso.example"
    )
    assign(application, person)
    make_login("alex", "admin")
    page = open_page("zh-TW")
    sign_in(page, "alex", words)

    page.goto(f"/apps/{application.pk}/provisioning/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contoso 示範 | 佈建")
    page.get_by_label("佈建模式").select_option("Automatic")
    page.get_by_label("租用戶 URL", exact=True).fill(scim.url)
    page.get_by_label("祕密權杖", exact=True).fill(scim.token)
    page.get_by_role("button", name="測試連線").click()
    expect(page.get_by_test_id("test-connection-result")).to_contain_text("測試連線成功。")
    page.get_by_label("通知電子郵件").fill("provisioning-alerts@contoso.example")
    page.get_by_label("發生失敗時傳送電子郵件通知").check()
    page.get_by_role("group", name="佈建狀態").get_by_label("開啟", exact=True).check()
    body = page.locator("main").inner_text()
    assert not [text for text in ENGLISH_LEFT if text in body], body
    screenshot(page, "tutorial-provisioning-zh-TW")
    page.get_by_role("button", name="儲存", exact=True).first.click()
    expect(page.get_by_role("status").filter(has_text="已儲存您的變更。")).to_be_visible()

    wait_until(
        lambda: any(
            u["userName"] == person.user_principal_name for u in scim.all_resources("Users")
        ),
        timeout=DEADLINE_MS / 1000,
        message=lambda: f"the user never reached the target\n{engine.logs()}",
    )
    details = page.locator("#sync-details")
    expect(details.get_by_test_id("percent-complete")).to_have_text("100%", timeout=DEADLINE_MS)
    expect(details.get_by_test_id("cycle-state")).to_have_text("已完成")
    body = page.locator("main").inner_text()
    assert not [text for text in ENGLISH_LEFT if text in body], body
    screenshot(page, "tutorial-synchronization-details-zh-TW")
