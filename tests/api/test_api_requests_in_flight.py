"""The job's *Maximum requests in flight* (issue 16) through the API: read in the job's
settings, written with PATCH (validated 1–64 as the Provisioning tab validates it), audited as
the page's save is, and described in the OpenAPI document."""

import pytest

from provisioning.choices import AuditActivity
from provisioning.models import AuditEvent, ProvisioningJob
from tests.api.conftest import assert_error
from tests.api.test_api_openapi import fetch_document
from tests.factories import make_application

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def app():
    return make_application("scim", "Contoso SCIM")


def url(app):
    return f"{API}/applications/{app.pk}/provisioning/"


def test_the_job_shows_its_maximum_requests_in_flight(admin_api, auditor_api, app):
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(max_requests_in_flight=12)
    for client in (admin_api, auditor_api):
        body = client.get(url(app)).json()
        assert body["settings"]["max_requests_in_flight"] == 12


def test_patch_sets_it_and_is_audited_with_before_and_after(admin_api, app):
    before = app.provisioning_job.max_requests_in_flight
    assert before != 32
    answer = admin_api.patch(url(app), {"max_requests_in_flight": 32}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["settings"]["max_requests_in_flight"] == 32
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).max_requests_in_flight == 32
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS)
    assert event.before["max_requests_in_flight"] == before
    assert event.after["max_requests_in_flight"] == 32
    assert event.channel == "api:deploy-script"


def test_other_settings_leave_it_as_it_is(admin_api, app):
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(max_requests_in_flight=5)
    answer = admin_api.patch(url(app), {"interval_minutes": 30}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["settings"]["max_requests_in_flight"] == 5
    assert (
        "max_requests_in_flight"
        not in AuditEvent.objects.get(activity=AuditActivity.UPDATE_SETTINGS).after
    )


@pytest.mark.parametrize("value", [0, 65, -1, "many", None])
def test_values_outside_1_to_64_are_refused_and_change_nothing(admin_api, app, value):
    before = app.provisioning_job.max_requests_in_flight
    refused = assert_error(
        admin_api.patch(url(app), {"max_requests_in_flight": value}, format="json"), 400
    )
    assert [d["field"] for d in refused["details"]] == ["max_requests_in_flight"]
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).max_requests_in_flight == before
    assert not AuditEvent.objects.filter(activity=AuditActivity.UPDATE_SETTINGS).exists()


@pytest.mark.parametrize("value", [1, 64])
def test_the_bounds_themselves_are_accepted(admin_api, app, value):
    answer = admin_api.patch(url(app), {"max_requests_in_flight": value}, format="json")
    assert answer.status_code == 200, answer.content
    assert ProvisioningJob.objects.get(pk=app.provisioning_job.pk).max_requests_in_flight == value


def test_the_openapi_document_describes_it_for_reading_and_writing():
    schemas = fetch_document()["components"]["schemas"]
    for name in ("ProvisioningSettingsValues", "PatchedProvisioningSettingsUpdateRequest"):
        field = schemas[name]["properties"]["max_requests_in_flight"]
        assert field["type"] == "integer", name
        assert (field["minimum"], field["maximum"]) == (1, 64), name
        assert "at once" in field["description"], name
