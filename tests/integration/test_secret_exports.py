"""Secret values a mapping writes (a password Constant, a Redact()ed expression) are never kept in
plain text in ``ProvisionedObject.last_exported``: a keyed hash is, and diffs still work
(issue 12, item 2). Against a real scim2-server."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import CycleState, MappingType, ObjectType
from provisioning.models import AttributeMapping, ProvisionedObject
from provisioning.roles import ensure_roles
from tests.factories import DirectoryUserFactory, assign
from tests.integration.test_engine_scim import Requests, cycle

pytestmark = pytest.mark.django_db

PASSWORD = "Initial-Passw0rd-Constant!"


@pytest.fixture
def app(scim):
    from provisioning.choices import ProvisioningMode
    from provisioning.services.applications import add_application

    application = add_application("scim", "Secrets app")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    users = job.mappings.get(object_type=ObjectType.USER)
    position = users.attributes.count() + 10
    AttributeMapping.objects.create(
        object_mapping=users,
        mapping_type=MappingType.CONSTANT,
        constant_value=PASSWORD,
        target_attribute="password",
        position=position,
    )
    AttributeMapping.objects.create(
        object_mapping=users,
        mapping_type=MappingType.EXPRESSION,
        expression='Redact(Join("-", "nick", [jobTitle]))',
        target_attribute="nickName",
        position=position + 1,
    )
    return application


def test_secret_and_redacted_paths_are_stored_as_keyed_hashes_and_diffs_still_work(
    app, scim, make_connector
):
    seen = Requests()
    user = DirectoryUserFactory(user_principal_name="sam@contoso.example", job_title="Pilot")
    assign(app, user)
    assert cycle(app, make_connector(None, on_request=seen), initial=True).state == (
        CycleState.SUCCEEDED
    )
    target = next(
        u for u in scim.all_resources("Users") if u["userName"] == user.user_principal_name
    )
    assert target["nickName"] == "nick-Pilot"  # the real value went to the target

    link = ProvisionedObject.objects.get(source_id=user.pk, object_type=ObjectType.USER)
    stored = json.dumps(link.last_exported)
    assert PASSWORD not in stored and "nick-Pilot" not in stored
    assert link.last_exported["password"].startswith("hmac-sha256:")
    assert link.last_exported["nickName"].startswith("hmac-sha256:")

    # Unchanged: nothing is written again.
    seen.clear()
    assert cycle(app, make_connector(None, on_request=seen)).state == CycleState.SUCCEEDED
    user.save()
    assert cycle(app, make_connector(None, on_request=seen)).state == CycleState.SUCCEEDED
    assert seen.writes() == []

    # The redacted value changes: exactly that path is sent, and its new hash stored.
    user.job_title = "Captain"
    user.save()
    assert cycle(app, make_connector(None, on_request=seen)).state == CycleState.SUCCEEDED
    writes = seen.writes()
    assert len(writes) == 1
    assert "nick-Captain" in json.dumps(writes[0][2])
    assert PASSWORD not in json.dumps(writes[0][2])
    link.refresh_from_db()
    assert "nick-Captain" not in json.dumps(link.last_exported)


def test_the_admin_page_of_a_link_shows_no_secret_value(app, scim, make_connector, client):
    user = DirectoryUserFactory(user_principal_name="ana@contoso.example", job_title="Pilot")
    assign(app, user)
    assert cycle(app, make_connector(None), initial=True).state == CycleState.SUCCEEDED
    link = ProvisionedObject.objects.get(source_id=user.pk, object_type=ObjectType.USER)
    superuser = get_user_model().objects.create_superuser("root", password="x")
    ensure_roles()
    client.force_login(superuser)
    response = client.get(reverse("admin:provisioning_provisionedobject_change", args=[link.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert PASSWORD not in html and "nick-Pilot" not in html
