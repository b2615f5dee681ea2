"""Users and groups (F6): assigning with a role, the Default Access warning, removing, audit."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import AuditActivity
from provisioning.models import Assignment, AuditEvent
from provisioning.roles import ensure_roles
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, assign, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    administrators, _auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="adam")
    user.groups.add(administrators)
    client.force_login(user)
    return user


@pytest.fixture
def app():
    return make_application("gotomeeting", "Citrix GoToMeeting")


def add_url(app):
    return reverse("assignment-add", args=[app.pk])


def test_the_role_picker_offers_the_apps_roles_with_user_preselected(admin, client, app):
    html = client.get(add_url(app)).content.decode()
    for role in app.roles.all():
        assert f">{role.name}</option>" in html
    user_role = app.roles.get(name="User")
    assert f'<option value="{user_role.pk}" selected>User</option>' in html


def test_the_picker_searches_users_and_groups(admin, client, app):
    DirectoryUserFactory(display_name="Hana Tanaka", user_principal_name="hana@contoso.example")
    DirectoryUserFactory(display_name="Ivan Moreau", user_principal_name="ivan@contoso.example")
    DirectoryGroupFactory(display_name="Hanami club")
    html = client.get(add_url(app) + "?q=hana").content.decode()
    assert "hana@contoso.example" in html and "Hanami club" in html
    assert "ivan@contoso.example" not in html


def test_assigning_a_user_with_a_role_writes_an_audit_event(admin, client, app):
    person = DirectoryUserFactory(user_principal_name="ada@contoso.example")
    role = app.roles.get(name="User")
    response = client.post(add_url(app), {"principal": f"user:{person.pk}", "role": role.pk})
    assert response.status_code == 302
    assert Assignment.objects.filter(application=app, user=person, role=role).exists()
    event = AuditEvent.objects.get(activity=AuditActivity.ADD_ASSIGNMENT)
    assert event.actor == admin and event.target == "ada@contoso.example"
    assert event.after == {
        "principal_type": "User",
        "principal": "ada@contoso.example",
        "principal_id": str(person.pk),
        "role": "User",
    }
    page = client.get(reverse("users-and-groups", args=[app.pk])).content.decode()
    assert "ada@contoso.example" in page and "Valid" in page


def test_assigning_a_group_works_too(admin, client, app):
    group = DirectoryGroupFactory(display_name="Sales")
    role = app.roles.get(name="Administrator")
    client.post(add_url(app), {"principal": f"group:{group.pk}", "role": role.pk})
    assert Assignment.objects.filter(application=app, group=group, role=role).exists()


def test_picking_default_access_warns_inline(admin, client, app):
    default_access = app.roles.get(is_default_access=True)
    response = client.get(
        reverse("assignment-role-check", args=[app.pk]) + f"?role={default_access.pk}",
        HTTP_HX_REQUEST="true",
    )
    assert "not valid for provisioning" in response.content.decode()
    other = app.roles.get(name="User")
    response = client.get(reverse("assignment-role-check", args=[app.pk]) + f"?role={other.pk}")
    assert response.content.decode().strip() == ""


def test_a_default_access_assignment_is_allowed_but_flagged(admin, client, app):
    person = DirectoryUserFactory()
    default_access = app.roles.get(is_default_access=True)
    response = client.post(
        add_url(app), {"principal": f"user:{person.pk}", "role": default_access.pk}, follow=True
    )
    html = response.content.decode()
    assert Assignment.objects.filter(application=app, user=person, role=default_access).exists()
    assert "is not valid for provisioning" in html  # the warning message
    assert "Not valid for provisioning" in html  # the badge in the list


def test_assigning_twice_the_same_role_is_a_form_error(admin, client, app):
    person = DirectoryUserFactory()
    assign(app, person, "User")
    role = app.roles.get(name="User")
    response = client.post(add_url(app), {"principal": f"user:{person.pk}", "role": role.pk})
    assert response.status_code == 200
    assert "already has the role User" in response.content.decode()
    assert Assignment.objects.filter(application=app, user=person).count() == 1


def test_an_unknown_principal_is_a_form_error(admin, client, app):
    role = app.roles.get(name="User")
    response = client.post(add_url(app), {"principal": "user:not-a-uuid", "role": role.pk})
    assert "Select a user or a group." in response.content.decode()


def test_removing_an_assignment_writes_an_audit_event(admin, client, app):
    person = DirectoryUserFactory(user_principal_name="bo@contoso.example")
    assignment = assign(app, person, "User")
    response = client.post(reverse("assignment-remove", args=[app.pk, assignment.pk]))
    assert response.status_code == 302
    assert not Assignment.objects.filter(pk=assignment.pk).exists()
    event = AuditEvent.objects.get(activity=AuditActivity.REMOVE_ASSIGNMENT)
    assert event.target == "bo@contoso.example" and event.before["role"] == "User"
    assert event.after == {}


def test_removal_is_post_only(admin, client, app):
    assignment = assign(app, DirectoryUserFactory(), "User")
    url = reverse("assignment-remove", args=[app.pk, assignment.pk])
    assert client.get(url).status_code == 405
    assert Assignment.objects.filter(pk=assignment.pk).exists()
