"""What cycles learnt about the target shows in Synchronization Details (issue 9)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.engine.learnt import member_removal_form, remember, unsupported_attributes
from provisioning.models import ProvisioningJob
from provisioning.roles import ensure_roles
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(client):
    _administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="audrey")
    user.groups.add(auditors)
    client.force_login(user)
    return user


def test_learnt_facts_are_kept_merged_and_shown(client, auditor):
    app = make_application("scim", "Learning SCIM")
    job = app.provisioning_job
    remember(job, connector_learnt={"member_removal": "value"}, unsupported={"User": {"title"}})
    remember(job, unsupported={"User": {"preferredLanguage", "title"}, "Group": {"externalId"}})
    job = ProvisioningJob.objects.get(pk=job.pk)
    assert member_removal_form(job) == "value"
    assert unsupported_attributes(job, "User") == ["title", "preferredLanguage"]
    assert unsupported_attributes(job) == ["externalId", "title", "preferredLanguage"]

    page = client.get(reverse("sync-details", args=[app.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="target-learnt"' in html
    assert "Azure&#x27;s form" in html or "Azure's form" in html
    assert "preferredLanguage" in html and "externalId" in html


def test_nothing_learnt_shows_nothing(client, auditor):
    app = make_application("scim", "Fresh SCIM")
    html = client.get(reverse("sync-details", args=[app.pk])).content.decode()
    assert 'data-testid="target-learnt"' not in html
    assert unsupported_attributes(app.provisioning_job) == []
    assert member_removal_form(app.provisioning_job) is None


def test_the_mapping_page_shows_the_unsupported_attributes_of_its_object_type(client, auditor):
    app = make_application("scim", "Partial SCIM")
    remember(app.provisioning_job, unsupported={"User": {"preferredLanguage"}})
    users = client.get(reverse("attribute-mappings", args=[app.pk, "users"])).content.decode()
    assert 'data-testid="unsupported-attributes"' in users and "preferredLanguage" in users
    groups = client.get(reverse("attribute-mappings", args=[app.pk, "groups"])).content.decode()
    assert 'data-testid="unsupported-attributes"' not in groups
