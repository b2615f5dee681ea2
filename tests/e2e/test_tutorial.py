"""The source tutorial's twelve steps, as a new administrator performs them in the browser.

Parametrized by gallery template: each case says how to find the app in the gallery, which
credentials the Admin Credentials section asks for, which attribute is the matching one and how
to read the provisioned account back from the target: a real scim2-server for the "SCIM 2.0
application", and the local fake of GoTo's API (built from GoTo's public reference; not GoTo)
for Citrix GoToMeeting, the tutorial's own app.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from provisioning.models import Application, AuditEvent, DirectoryUser, ProvisioningJob
from provisioning.services.applications import add_application
from tests.e2e.helpers import sign_in
from tests.fakes.goto_api import FAKE_ADMIN_EMAIL, FAKE_ADMIN_PASSWORD
from tests.support.processes import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

# The engine's cycle runs within seconds once Provisioning Status is On (dispatcher every 2 s).
CYCLE_DEADLINE_MS = 30_000


@dataclass(frozen=True)
class TutorialCase:
    template_slug: str
    gallery_name: str  # as the gallery lists it
    search: str  # what the administrator types in the gallery's search box
    target_fixture: str  # the fixture that starts and empties the target
    credentials: Callable[[Any], dict[str, str]]  # label -> value, from the target
    wrong_credentials: Callable[[Any], dict[str, str]]
    matching_attribute: str
    account_in_target: Callable[[Any, str], bool]  # (target, userPrincipalName)
    secret: Callable[[Any], str]  # the credential that must never reach a page
    role: str = "User"


def _scim_has_user(server, user_name: str) -> bool:
    return any(u.get("userName") == user_name for u in server.all_resources("Users"))


SCIM = TutorialCase(
    template_slug="scim",
    gallery_name="SCIM 2.0 application",
    search="SCIM",
    target_fixture="scim",
    credentials=lambda s: {"Tenant URL": s.url, "Secret Token": s.token},
    wrong_credentials=lambda s: {"Tenant URL": s.url, "Secret Token": "not-the-token"},
    matching_attribute="userName",
    account_in_target=_scim_has_user,
    secret=lambda s: s.token,
)

GOTOMEETING = TutorialCase(
    template_slug="gotomeeting",
    gallery_name="Citrix GoToMeeting",
    search="GoToMeeting",
    target_fixture="goto",
    credentials=lambda g: {
        "Citrix GoToMeeting Admin User Name": FAKE_ADMIN_EMAIL,
        "Citrix GoToMeeting Admin Password": FAKE_ADMIN_PASSWORD,
    },
    wrong_credentials=lambda g: {
        "Citrix GoToMeeting Admin User Name": FAKE_ADMIN_EMAIL,
        "Citrix GoToMeeting Admin Password": "not-the-password",
    },
    matching_attribute="email",
    account_in_target=lambda g, upn: g.user_by_email(upn) is not None,
    secret=lambda g: FAKE_ADMIN_PASSWORD,
)

CASES = [pytest.param(SCIM, id="scim"), pytest.param(GOTOMEETING, id="gotomeeting")]


def directory_user(upn: str) -> DirectoryUser:
    given, _, rest = upn.partition(".")
    surname = rest.split("@")[0]
    return DirectoryUser.objects.create(
        user_principal_name=upn,
        mail=upn,
        given_name=given.title(),
        surname=surname.title(),
        display_name=f"{given.title()} {surname.title()}",
        department="Sales",
    )


@pytest.mark.parametrize("case", CASES)
def test_the_tutorial_from_gallery_to_a_provisioned_user(
    case: TutorialCase, request, page, engine, make_login, screenshot
):
    target = request.getfixturevalue(case.target_fixture)

    def shot(name: str, readme_name: str | None = None) -> None:
        screenshot(page, f"{case.template_slug}-{name}", readme_name=readme_name)

    make_login("alex", "admin")
    person = directory_user(f"ada.tutorial-{uuid.uuid4().hex[:6]}@contoso.example")
    app_name = f"Contoso {case.gallery_name}"

    # Sign in; step 1: Enterprise applications > All applications.
    sign_in(page, "alex")
    page.get_by_role("navigation", name="Portal").get_by_role(
        "link", name="Enterprise applications"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Enterprise applications | All applications"
    )
    shot("all-applications")

    # Step 2: Add, search the gallery, select the app, name the instance, add it.
    page.get_by_role("link", name="New application").click()
    page.get_by_label("Search application").fill(case.search)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=case.gallery_name, exact=True).click()
    page.get_by_label("Name").fill(app_name)
    shot("gallery")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{app_name} | Overview")
    shot("overview")
    application = Application.objects.get(name=app_name)

    # Assign a single user with a valid role (the tutorial's tip), not Default Access.
    blade_menu = page.get_by_role("navigation", name=f"{app_name} menu")
    blade_menu.get_by_role("link", name="Users and groups").click()
    page.get_by_role("link", name="Add user/group").click()
    page.get_by_label("Search users and groups").fill(person.user_principal_name)
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Users and groups", exact=True).select_option(f"user:{person.pk}")
    page.get_by_label("Select a role").select_option(label="Default Access")
    expect(page.get_by_test_id("default-access-warning")).to_contain_text(
        "not valid for provisioning"
    )
    page.get_by_label("Select a role").select_option(label=case.role)
    expect(page.get_by_test_id("default-access-warning")).to_have_count(0)
    shot("assignment-add")
    page.get_by_role("button", name="Assign").click()
    assigned = page.get_by_role("row").filter(has_text=person.user_principal_name)
    expect(assigned).to_contain_text(case.role)
    expect(assigned).to_contain_text("Valid")
    shot("users-and-groups")

    # Step 3: the Provisioning tab.
    blade_menu.get_by_role("link", name="Provisioning", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{app_name} | Provisioning")
    # Step 4: Provisioning Mode = Automatic; the Admin Credentials section appears.
    page.get_by_label("Provisioning Mode").select_option("Automatic")
    # Step 5: the template's admin credentials.
    for label, value in case.credentials(target).items():
        page.get_by_label(label, exact=True).fill(value)
    # Step 6: Test Connection.
    page.get_by_role("button", name="Test Connection").click()
    expect(page.get_by_test_id("test-connection-result")).to_contain_text(
        "Testing connection succeeded."
    )
    # Step 7: notification e-mail and its checkbox.
    page.get_by_label("Notification Email").fill("provisioning-alerts@contoso.example")
    page.get_by_label("Send an email notification when a failure occurs").check()
    # Step 8: Save.
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("status").filter(has_text="Your changes have been saved.")
    ).to_be_visible()
    job = ProvisioningJob.objects.get(application=application)
    assert job.mode == "Automatic" and job.notify_on_failure and not job.status_on
    assert case.secret(target) not in page.content()  # the stored secret shows as "••••"
    # The first secret field is the stored one (GoToMeeting also offers a personal access token).
    expect(page.locator("input[type=password]").first).to_have_attribute("placeholder", "••••")

    # Step 9: the users mapping; step 10: review the attribute mappings and the matching one.
    page.get_by_role("link", name=f"Synchronize Azure Active Directory Users to {app_name}").click()
    mappings = page.get_by_test_id("attribute-mappings")
    expect(mappings).to_be_visible()
    expect(mappings.locator("tr[data-matching=true]")).to_contain_text(case.matching_attribute)
    expect(page.get_by_test_id("matching-summary")).to_contain_text(case.matching_attribute)
    assert mappings.locator("tbody tr").count() >= 3
    shot("attribute-mappings")
    page.get_by_role("link", name="Back to Provisioning").click()

    # Step 11: Provisioning Status On; step 12: Save.
    status = page.get_by_role("group", name="Provisioning Status")
    status.get_by_label("On", exact=True).check()
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("status").filter(has_text="Your changes have been saved.")
    ).to_be_visible()

    # The initial cycle provisions the user: in the target, and in the synchronization details.
    wait_until(
        lambda: case.account_in_target(target, person.user_principal_name),
        timeout=CYCLE_DEADLINE_MS / 1000,
        message=lambda: f"the user never reached the target\n{engine.logs()}",
    )
    details = page.locator("#sync-details")
    expect(details.get_by_test_id("percent-complete")).to_have_text(
        "100%", timeout=CYCLE_DEADLINE_MS
    )
    expect(details.get_by_test_id("users-provisioned")).to_have_text("1")
    expect(details.get_by_test_id("counts")).to_contain_text("Create")
    expect(details.get_by_test_id("cycle-state")).to_have_text("Completed")
    # The tutorial's own app illustrates the README.
    shot("provisioning-tab", "provisioning-tab" if case.template_slug == "gotomeeting" else None)

    # Synchronization details link to the provisioning logs of the cycle.
    details.get_by_role("link", name="View provisioning logs of this cycle").click()
    expect(page).to_have_url(re.compile(r"/provisioning-logs/\?cycle_id="))
    row = (
        page.get_by_test_id("provisioning-logs")
        .locator("tbody tr")
        .filter(has_text=person.user_principal_name)
    )
    expect(row).to_contain_text("Create")
    expect(row).to_contain_text("Success")
    shot("provisioning-logs")
    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Steps")).to_be_visible()
    expect(page.locator("ol.steps")).to_contain_text("Perform action")
    shot("provisioning-log-detail")

    # Every configuration change is in the audit log.
    page.get_by_role("navigation", name=f"{app_name} menu").get_by_role(
        "link", name="Audit logs"
    ).click()
    audit = page.get_by_test_id("audit-logs")
    for activity in (
        "Add application",
        "Add app role assignment",
        "Update provisioning setting or credentials",
        "Enable/start provisioning configuration",
    ):
        expect(audit).to_contain_text(activity)
    assert case.secret(target) not in page.content()
    shot("audit-logs")
    assert AuditEvent.objects.filter(application_id=application.pk).count() >= 4


@pytest.mark.parametrize("case", CASES)
def test_wrong_credentials_fail_the_test_connection_with_the_hint_and_save_nothing(
    case: TutorialCase, request, page, make_login, screenshot
):
    target = request.getfixturevalue(case.target_fixture)
    make_login("alex", "admin")
    application = add_application(case.template_slug, f"Wrong credentials {uuid.uuid4().hex[:4]}")
    sign_in(page, "alex")
    page.goto(f"/apps/{application.pk}/provisioning/")
    page.get_by_label("Provisioning Mode").select_option("Automatic")
    for label, value in case.wrong_credentials(target).items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Test Connection").click()
    result = page.get_by_test_id("test-connection-result")
    expect(result).to_contain_text("Testing connection failed.")
    expect(result).to_contain_text("Nothing was saved.")
    expect(result).to_contain_text(application.template.test_connection_hint)
    screenshot(page, f"{case.template_slug}-test-connection-failed")
    job = ProvisioningJob.objects.get(application=application)
    assert job.credentials == {} and job.mode == "Manual"
    # Reloading shows the stored (empty) configuration: nothing was kept.
    page.reload()
    expect(page.get_by_label("Provisioning Mode")).to_have_value("Manual")


def configured_application(name: str, target, *, status_on: bool = False) -> Application:
    """An application set up as after the tutorial's step 8 (done through the services)."""
    from provisioning.services.configuration import ProvisioningSettings, save_provisioning_settings

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
            status_on=status_on,
        ),
        actor="setup",
    )
    return application


def test_provision_on_demand_shows_each_step_until_the_user_is_created(
    page, engine, scim, make_login, screenshot
):
    from tests.factories import assign

    make_login("alex", "admin")
    application = configured_application(f"On demand {uuid.uuid4().hex[:4]}", scim)
    person = directory_user(f"bo.ondemand-{uuid.uuid4().hex[:6]}@contoso.example")
    assign(application, person, "User")

    sign_in(page, "alex")
    page.goto(f"/apps/{application.pk}/provisioning/")
    page.get_by_role("link", name="Provision on demand").click()
    page.get_by_label("Search users and groups").fill(person.user_principal_name)
    page.get_by_role("button", name="Search").click()
    page.get_by_label("Selected user or group").select_option(f"user:{person.pk}")
    page.get_by_role("button", name="Provision", exact=True).click()

    expect(page.get_by_test_id("on-demand-state")).to_have_text(
        "Completed", timeout=CYCLE_DEADLINE_MS
    )
    steps = page.locator("ol.steps")
    for title in (
        "Import",
        "Determine if in scope",
        "Match between source and target system",
        "Perform action",
    ):
        expect(steps).to_contain_text(title)
    expect(page.locator("#on-demand-steps")).not_to_have_attribute("hx-trigger", re.compile("."))
    screenshot(page, "provision-on-demand")
    assert _scim_has_user(scim, person.user_principal_name)


def test_an_auditor_reads_the_same_pages_without_forms_buttons_or_secrets(
    page, scim, make_login, screenshot
):
    from provisioning.choices import CycleKind, CycleState, LogAction, LogStatus, ObjectType
    from provisioning.models import ProvisioningLogEntry, SyncCycle
    from tests.factories import assign

    make_login("audrey", "auditor")
    application = configured_application(f"Audited {uuid.uuid4().hex[:4]}", scim)
    person = directory_user(f"cy.audited-{uuid.uuid4().hex[:6]}@contoso.example")
    assign(application, person, "User")
    cycle = SyncCycle.objects.create(
        job=application.provisioning_job,
        kind=CycleKind.INITIAL,
        state=CycleState.SUCCEEDED,
        progress_total=1,
        progress_done=1,
        counters={"Create": {"Success": 1}, "users": 1, "groups": 0},
    )
    entry = ProvisioningLogEntry.objects.create(
        created_at=cycle.started_at,
        job=application.provisioning_job,
        application_id=application.pk,
        application_name=application.name,
        cycle_id=cycle.pk,
        object_type=ObjectType.USER,
        source_id=person.pk,
        source_display=person.user_principal_name,
        target_id="t-1",
        action=LogAction.CREATE,
        status=LogStatus.SUCCESS,
        steps=[{"name": "Action", "status": "Success", "detail": "Created"}],
    )

    sign_in(page, "audrey")
    base = f"/apps/{application.pk}"
    pages = {
        "home": "/",
        "all-applications": "/apps/",
        "overview": f"{base}/",
        "users-and-groups": f"{base}/users-and-groups/",
        "single-sign-on": f"{base}/single-sign-on/",
        "provisioning-tab": f"{base}/provisioning/",
        "attribute-mappings": f"{base}/provisioning/mappings/users/",
        "provisioning-logs": f"{base}/provisioning-logs/?cycle_id={cycle.pk}",
        "provisioning-log-detail": f"{base}/provisioning-logs/{entry.pk}/",
        "audit-logs": f"{base}/audit-logs/",
    }
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        main = page.locator("main")
        expect(main.locator("form[method=post]")).to_have_count(0)
        # Filters are read-only GET forms; nothing else in the page is a button.
        expect(main.locator("button:not(form[method=get] button)")).to_have_count(0)
        assert scim.token not in page.content(), path
        screenshot(page, f"auditor-{name}")
    page.goto(f"{base}/provisioning/")
    expect(page.get_by_text("Read-only")).to_be_visible()
    expect(page.locator("main")).to_contain_text("••••")
    # Pages that only change things are refused (asked without navigating: a refused page load
    # is a console error by design, and this test also checks the console stays clean).
    for forbidden in (
        f"{base}/provisioning/restart/",
        f"{base}/users-and-groups/add/",
        "/apps/add/",
    ):
        assert page.request.get(forbidden).status == 403, forbidden
