"""Adding and removing enterprise applications (F4, F5)."""

from django.db import transaction
from django.utils.translation import gettext as _

from ..choices import AuditActivity, JobState, MappingType
from ..gallery import get_template
from ..gallery.base import GalleryTemplate, ObjectMappingTemplate
from ..models import (
    Application,
    AppRole,
    AttributeMapping,
    ObjectMapping,
    ProvisioningJob,
)
from .audit import record_audit


class ApplicationNameTaken(ValueError):
    pass


@transaction.atomic
def add_application(template_slug: str, name: str | None = None, *, actor=None) -> Application:
    """Create an application from a gallery template, with its roles, job and default mappings."""
    template = get_template(template_slug)
    name = (name or template.name).strip()
    if Application.objects.filter(name=name).exists():
        raise ApplicationNameTaken(
            _("An application named “%(name)s” already exists.") % {"name": name}
        )
    application = Application.objects.create(name=name, template_slug=template.slug)
    AppRole.objects.bulk_create(
        AppRole(
            application=application,
            name=role.name,
            value=role.value,
            description=role.description,
            is_default_access=role.is_default_access,
        )
        for role in template.app_roles
    )
    job = ProvisioningJob.objects.create(application=application, state=JobState.NOT_CONFIGURED)
    for mapping_template in template.object_mappings:
        create_object_mapping(job, template, mapping_template)
    record_audit(AuditActivity.ADD_APPLICATION, actor=actor, application=application, target=name)
    return application


def create_object_mapping(
    job: ProvisioningJob, template: GalleryTemplate, mapping_template: ObjectMappingTemplate
) -> ObjectMapping:
    mapping = ObjectMapping.objects.create(
        job=job,
        object_type=mapping_template.object_type,
        name=template.mapping_name(mapping_template.object_type, job.application.name),
        target_object=mapping_template.target_object,
        enabled=mapping_template.enabled,
        action_create=mapping_template.create,
        action_update=mapping_template.update,
        action_delete=mapping_template.delete,
    )
    copy_default_attributes(mapping, mapping_template)
    return mapping


def copy_default_attributes(
    mapping: ObjectMapping, mapping_template: ObjectMappingTemplate
) -> None:
    AttributeMapping.objects.bulk_create(
        AttributeMapping(
            object_mapping=mapping,
            mapping_type=attribute.mapping_type,
            source_attribute=attribute.source
            if attribute.mapping_type == MappingType.DIRECT
            else "",
            expression=attribute.expression,
            constant_value=attribute.constant,
            default_value=attribute.default,
            target_attribute=attribute.target,
            is_matching=attribute.matching_precedence is not None,
            matching_precedence=attribute.matching_precedence,
            apply_on=attribute.apply_on,
            position=position,
        )
        for position, attribute in enumerate(mapping_template.attributes)
    )


@transaction.atomic
def remove_application(application: Application, *, actor=None) -> None:
    """Delete an application with its roles, assignments, job, mappings, links and cycles.

    Provisioning log entries stay (their job reference becomes null; they keep the application's
    id and name) until the retention purge, so the history remains readable to auditors.
    The accounts already provisioned in the target are left as they are.
    """
    record_audit(
        AuditActivity.DELETE_APPLICATION,
        actor=actor,
        application=application,
        target=application.name,
    )
    application.assignments.all().delete()
    application.delete()
