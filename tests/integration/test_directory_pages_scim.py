"""Directory pages (issue 15) end to end on the server side: changes made on the Users and Groups
pages reach a real scim2-server through the normal cycle."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from provisioning.choices import ProvisioningMode
from provisioning.engine.cycle import run_cycle
from provisioning.models import DirectoryUser
from provisioning.roles import ensure_roles
from provisioning.services import directory
from provisioning.services.applications import add_application
from tests.factories import assign

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    administrators, _auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="adele")
    user.groups.add(administrators)
    client.force_login(user)
    return user


@pytest.fixture
def app(scim):
    application = add_application("scim", "Target app")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    return application


def cycle(app):
    job = app.provisioning_job
    job.refresh_from_db()
    return run_cycle(job).cycle


def target_user(scim, user_name):
    return {u["userName"]: u for u in scim.all_resources("Users")}.get(user_name)


def test_create_edit_disable_delete_restore_and_purge_reach_the_target(admin, client, app, scim):
    client.post(
        reverse("directory-user-create"),
        {
            "user_principal_name": "britta.simon@contoso.example",
            "display_name": "Britta Simon",
            "given_name": "Britta",
            "surname": "Simon",
            "mail": "britta.simon@contoso.example",
            "account_enabled": "on",
        },
    )
    person = DirectoryUser.objects.get(user_principal_name="britta.simon@contoso.example")
    assign(app, person)
    cycle(app)
    account = target_user(scim, "britta.simon@contoso.example")
    assert account is not None and account["active"] is True

    # Edit on the page: the next (incremental) cycle updates the account.
    client.post(
        reverse("directory-user-edit", args=[person.pk]),
        {
            "user_principal_name": "britta.simon@contoso.example",
            "display_name": "Britta Simon-Lee",
            "given_name": "Britta",
            "surname": "Simon-Lee",
            "mail": "britta.simon@contoso.example",
        },
    )
    cycle(app)
    account = target_user(scim, "britta.simon@contoso.example")
    assert account["name"]["familyName"] == "Simon-Lee"

    # The user page answers "where is this person provisioned".
    page = client.get(reverse("directory-user", args=[person.pk])).content.decode()
    assert account["id"] in page and "Target app" in page

    # Block sign-in: the account is disabled; allow: enabled again.
    client.post(reverse("directory-user-action", args=[person.pk, "disable"]))
    cycle(app)
    assert target_user(scim, "britta.simon@contoso.example")["active"] is False
    client.post(reverse("directory-user-action", args=[person.pk, "enable"]))
    cycle(app)
    assert target_user(scim, "britta.simon@contoso.example")["active"] is True

    # Soft delete: disabled; restore: enabled again.
    client.post(reverse("directory-user-action", args=[person.pk, "delete"]))
    cycle(app)
    assert target_user(scim, "britta.simon@contoso.example")["active"] is False
    client.post(reverse("directory-user-action", args=[person.pk, "restore"]))
    cycle(app)
    assert target_user(scim, "britta.simon@contoso.example")["active"] is True

    # Deleted for more than 30 days: the daily purge hard-deletes, the cycle deletes the account.
    directory.soft_delete_user(person, actor=admin)
    DirectoryUser.objects.filter(pk=person.pk).update(
        deleted_at=timezone.now() - timedelta(days=31)
    )
    assert directory.purge_deleted_directory_objects()["users"] == 1
    cycle(app)
    assert target_user(scim, "britta.simon@contoso.example") is None
