"""Adding applications from the gallery (F4, F5), assignments (F6) and removal."""

import uuid

import pytest
from django.utils import timezone

from provisioning.choices import (
    AuditActivity,
    LogAction,
    LogStatus,
    MappingType,
    ObjectType,
)
from provisioning.gallery import all_templates, get_template, search_templates
from provisioning.models import (
    Application,
    AppRole,
    Assignment,
    AttributeMapping,
    AuditEvent,
    ObjectMapping,
    ProvisionedObject,
    ProvisioningJob,
    ProvisioningLogEntry,
    SyncCycle,
)
from provisioning.services.applications import ApplicationNameTaken, remove_application
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryUserFactory,
    assign,
    make_application,
)


def test_gallery_has_gotomeeting_and_scim_with_their_credential_fields():
    gotomeeting = get_template("gotomeeting")
    assert [f.label for f in gotomeeting.credential_fields] == [
        "Authorize",
        "Citrix GoToMeeting Admin User Name",
        "Citrix GoToMeeting Admin Password",
        "Personal Access Token",
    ]
    assert gotomeeting.secret_credential_names == (
        "refresh_token",
        "admin_password",
        "personal_access_token",
    )
    assert {r.name for r in gotomeeting.app_roles} == {"User", "Administrator", "Default Access"}
    assert "Team Admin" in gotomeeting.test_connection_hint

    scim = get_template("scim")
    assert [f.label for f in scim.credential_fields] == ["Tenant URL", "Secret Token"]
    assert scim.secret_credential_names == ("secret_token",)
    assert {t.slug for t in all_templates()} >= {"gotomeeting", "scim"}
    assert [t.slug for t in search_templates("gotomeet")] == ["gotomeeting"]


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["gotomeeting", "scim"])
def test_adding_an_application_copies_the_templates_roles_and_default_mappings(slug):
    template = get_template(slug)
    app = make_application(slug, f"My {slug}")

    assert set(app.roles.values_list("name", flat=True)) == {r.name for r in template.app_roles}
    job = app.provisioning_job
    assert job.state == "NotConfigured" and job.mode == "Manual" and not job.status_on
    for mapping_template in template.object_mappings:
        mapping = job.mappings.get(object_type=mapping_template.object_type)
        assert mapping.name.endswith(f"to My {slug}")
        rows = list(mapping.attributes.values_list("target_attribute", flat=True))
        assert rows == [a.target for a in mapping_template.attributes]
    matching = AttributeMapping.objects.filter(
        object_mapping__job=job, object_mapping__object_type=ObjectType.USER, is_matching=True
    )
    assert matching.count() == 1 and matching.get().matching_precedence == 1
    assert AuditEvent.objects.filter(
        activity=AuditActivity.ADD_APPLICATION, application_id=app.pk
    ).exists()


@pytest.mark.django_db
def test_expression_and_direct_mappings_keep_their_kind():
    app = make_application("scim", "Kinds")
    active = AttributeMapping.objects.get(
        object_mapping__job__application=app, target_attribute="active"
    )
    assert active.mapping_type == MappingType.EXPRESSION and active.expression
    user_name = AttributeMapping.objects.get(
        object_mapping__job__application=app, target_attribute="userName"
    )
    assert user_name.mapping_type == MappingType.DIRECT
    assert user_name.source_attribute == "userPrincipalName"


@pytest.mark.django_db
def test_two_applications_cannot_share_a_name():
    make_application("scim", "Same")
    with pytest.raises(ApplicationNameTaken):
        make_application("gotomeeting", "Same")
    assert Application.objects.filter(name="Same").count() == 1


@pytest.mark.django_db
def test_default_access_assignment_is_stored_but_flagged_invalid_for_provisioning():
    app = make_application("gotomeeting", "GTM")
    user = DirectoryUserFactory()
    default_access = assign(app, user, "Default Access")
    valid = assign(app, DirectoryUserFactory(), "User")

    assert Assignment.objects.filter(pk=default_access.pk).exists()
    assert default_access.is_valid_for_provisioning is False
    assert "no valid app role" in default_access.invalid_reason
    assert valid.is_valid_for_provisioning is True and valid.invalid_reason == ""


@pytest.mark.django_db
def test_removing_an_application_removes_job_mappings_links_and_cycles_but_keeps_its_logs():
    app = make_application("scim", "Doomed")
    job = app.provisioning_job
    assign(app, DirectoryGroupFactory())
    cycle = SyncCycle.objects.create(job=job, kind="initial")
    ProvisionedObject.objects.create(
        job=job, object_type=ObjectType.USER, source_id=uuid.uuid4(), target_id="t1"
    )
    entry = ProvisioningLogEntry.objects.create(
        created_at=timezone.now(),
        job=job,
        application_id=app.pk,
        application_name=app.name,
        cycle_id=cycle.pk,
        object_type=ObjectType.USER,
        action=LogAction.CREATE,
        status=LogStatus.SUCCESS,
    )
    other = make_application("scim", "Survivor")

    remove_application(app)

    assert not Application.objects.filter(pk=app.pk).exists()
    assert not ProvisioningJob.objects.filter(pk=job.pk).exists()
    assert not ObjectMapping.objects.filter(job_id=job.pk).exists()
    assert not AttributeMapping.objects.filter(object_mapping__job_id=job.pk).exists()
    assert not ProvisionedObject.objects.filter(job_id=job.pk).exists()
    assert not SyncCycle.objects.filter(job_id=job.pk).exists()
    assert not Assignment.objects.filter(application_id=app.pk).exists()
    assert not AppRole.objects.filter(application_id=app.pk).exists()
    entry.refresh_from_db()
    assert entry.job_id is None and entry.application_name == "Doomed"
    assert other.provisioning_job.mappings.count() == 2
    assert AuditEvent.objects.filter(
        activity=AuditActivity.DELETE_APPLICATION, application_name="Doomed"
    ).exists()
