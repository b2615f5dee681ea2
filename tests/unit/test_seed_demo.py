"""`seed_demo` creates the demo set-up once; a second run changes nothing."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from provisioning.directory.changes import current_watermark
from provisioning.models import (
    Application,
    Assignment,
    AttributeMapping,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
)
from provisioning.roles import ADMINISTRATORS, AUDITORS


def snapshot() -> dict:
    return {
        "users": sorted(
            DirectoryUser.objects.values_list(
                "id",
                "user_principal_name",
                "display_name",
                "department",
                "manager_id",
                "updated_at",
            )
        ),
        "groups": sorted(DirectoryGroup.objects.values_list("id", "display_name", "updated_at")),
        "memberships": sorted(GroupMembership.objects.values_list("group_id", "member_user_id")),
        "apps": sorted(
            Application.objects.values_list("id", "name", "template_slug", "updated_at")
        ),
        "assignments": sorted(
            Assignment.objects.values_list("application_id", "group_id", "role__name")
        ),
        "mappings": AttributeMapping.objects.count(),
        "logins": sorted(get_user_model().objects.values_list("username", "password")),
        "watermark": current_watermark(),
    }


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data(settings):
    settings.DEBUG = True  # pytest-django runs with DEBUG off
    settings.DEMO_SCIM_URL = "http://127.0.0.1:18099/v2"
    settings.DEMO_SCIM_TOKEN = "demo-token-for-test"
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = snapshot()
    call_command("seed_demo", stdout=io.StringIO())
    assert snapshot() == first

    assert 45 <= len(first["users"]) <= 60
    assert len(first["groups"]) >= 3
    assert {name for _, name, _, _ in first["apps"]} == {"Citrix GoToMeeting", "Demo SCIM app"}
    gotomeeting = Application.objects.get(name="Citrix GoToMeeting").provisioning_job
    assert gotomeeting.credentials == {}
    demo = Application.objects.get(name="Demo SCIM app").provisioning_job
    assert demo.credentials == {
        "tenant_url": "http://127.0.0.1:18099/v2",
        "secret_token": "demo-token-for-test",
    }
    assert first["assignments"] == [
        (demo.application_id, DirectoryGroup.objects.get(display_name="Sales").pk, "User")
    ]
    text = out.getvalue()
    assert "admin /" in text and "auditor /" in text
    User = get_user_model()
    assert User.objects.get(username="admin").groups.filter(name=ADMINISTRATORS).exists()
    assert User.objects.get(username="auditor").groups.filter(name=AUDITORS).exists()
    assert not User.objects.get(username="auditor").is_staff
    assert "demo-token-for-test" not in text


@pytest.mark.django_db
def test_seed_demo_refuses_to_create_known_logins_in_production(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO())
    assert not DirectoryUser.objects.exists()


@pytest.mark.django_db
def test_seed_demo_again_keeps_a_password_the_user_changed(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("a-password-the-admin-chose")
    admin.save()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    admin.refresh_from_db()
    assert admin.check_password("a-password-the-admin-chose")
    assert "admin (exists; its password was not changed)" in out.getvalue()
    assert settings.DEMO_ADMIN_PASSWORD not in out.getvalue()
