"""Control characters and bidirectional overrides are refused in single-line fields and in
imported cells, extension attributes are bounded, and the report names the row (issue 12)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.directory.importer import ImportRejected, import_directory
from provisioning.models import Application, DirectoryUser, ProvisioningJob
from provisioning.roles import ensure_roles
from tests.factories import make_application

pytestmark = pytest.mark.django_db

USERS_HEADER = "userPrincipalName,displayName,extension_costCenter"


@pytest.fixture
def admin(client):
    administrators, _ = ensure_roles()
    user = get_user_model().objects.create_user(username="adam", is_staff=True, is_superuser=True)
    user.groups.add(administrators)
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    "name", ["Payroll\r\nINFO forged log line", "Payroll\x1b[31m", "Payroll \u202eLLORYAP"]
)
def test_an_application_name_with_control_or_bidi_characters_is_refused(admin, client, name):
    response = client.post(reverse("application-add"), {"template": "scim", "name": name})
    assert response.status_code == 200
    assert "it must be a single line of text" in response.content.decode()
    assert not Application.objects.exists()


def test_the_admin_refuses_a_renamed_application_with_a_newline(admin, client):
    app = make_application("scim", "Payroll")
    url = reverse("admin:provisioning_application_change", args=[app.pk])
    response = client.post(
        url, {"name": "Payroll\r\nBcc: someone@evil.example", "template_slug": "scim"}
    )
    assert response.status_code == 200
    app.refresh_from_db()
    assert app.name == "Payroll"


def test_a_credential_field_with_a_line_break_is_refused(admin, client):
    app = make_application("gotomeeting", "Citrix GoToMeeting")
    response = client.post(
        reverse("provisioning", args=[app.pk]),
        {
            "mode": "Automatic",
            "credential_admin_username": "admin@contoso.example\r\nX-Injected: 1",
            "credential_admin_password": "pw",
            "notification_email": "",
            "deletion_threshold": "500",
            "scope": "assigned",
            "interval_minutes": "20",
            "status": "off",
        },
    )
    assert "it must be a single line of text" in response.content.decode()
    assert ProvisioningJob.objects.get(application=app).credentials == {}


def rejected(*lines: str) -> list[str]:
    with pytest.raises(ImportRejected) as error:
        import_directory([("users.csv", ("\n".join(lines) + "\n").encode())])
    return error.value.report_lines()


def test_an_extension_attribute_of_100000_characters_is_refused_naming_the_row():
    report = rejected(
        USERS_HEADER, "ann@contoso.example,Ann,CC-1", f"bob@contoso.example,Bob,{'x' * 100_000}"
    )
    assert any(
        "line 3" in line and "extension_costCenter" in line and "at most 256" in line
        for line in report
    ), report
    assert not DirectoryUser.objects.exists()


def test_an_extension_attribute_with_a_bidi_override_is_refused_naming_the_row():
    report = rejected(USERS_HEADER, "ann@contoso.example,Ann,\u202e002-CC")
    assert any(
        "line 2" in line and "bidirectional-override character U+202E" in line for line in report
    ), report


def test_a_display_name_with_a_carriage_return_is_refused():
    report = rejected(USERS_HEADER, 'ann@contoso.example,"Ann\rINFO forged",CC-1')
    assert any("line 2" in line and "displayName" in line and "U+000D" in line for line in report)


def test_an_extension_column_with_a_strange_name_is_refused():
    report = rejected(
        "userPrincipalName,displayName,extension_cost\u202eCenter", "ann@contoso.example,Ann,1"
    )
    assert any("unknown column" in line for line in report), report


def test_a_plain_extension_attribute_is_imported():
    import_directory(
        [("users.csv", f"{USERS_HEADER}\nann@contoso.example,Ann,CC-{'9' * 200}\n".encode())]
    )
    assert DirectoryUser.objects.get().extension_attributes == {"costCenter": "CC-" + "9" * 200}
