"""The home page and the Django admin, with secrets never displayed."""

import pytest
from django.urls import reverse

from provisioning.demo.seed import seed_demo
from provisioning.models import Application


@pytest.fixture
def demo(db, settings):
    settings.DEMO_SCIM_TOKEN = "never-show-this-token"
    return seed_demo()


def test_home_requires_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_lists_the_applications_after_sign_in(client, demo):
    assert client.login(username=demo.admin_username, password=demo.admin_password)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Citrix GoToMeeting" in content and "Demo SCIM app" in content


def test_admin_job_page_never_shows_the_secret_token(client, demo):
    assert client.login(username=demo.admin_username, password=demo.admin_password)
    job = Application.objects.get(name="Demo SCIM app").provisioning_job
    response = client.get(reverse("admin:provisioning_provisioningjob_change", args=[job.pk]))
    assert response.status_code == 200
    assert b"never-show-this-token" not in response.content
    listing = client.get(reverse("admin:provisioning_provisioningjob_changelist"))
    assert listing.status_code == 200 and b"never-show-this-token" not in listing.content


def test_the_auditor_cannot_reach_the_django_admin(client, demo):
    assert client.login(username=demo.auditor_username, password=demo.auditor_password)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
