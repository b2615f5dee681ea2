"""Provisioning > Mappings > *Synchronize Azure Active Directory Users to APP* (F10): the object
mapping's settings and its attribute mappings, read-only (the editor is a separate page)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from ..choices import MappingType, ObjectType
from ..models import ObjectMapping
from ..templatetags.portal_tags import mapping_title
from .access import portal_page
from .blade import blade_context, get_application

OBJECT_TYPE_SLUGS = {"users": ObjectType.USER, "groups": ObjectType.GROUP}


def object_type_slug(object_type: str) -> str:
    return "users" if object_type == ObjectType.USER else "groups"


def source_text(attribute) -> str:
    if attribute.mapping_type == MappingType.DIRECT:
        return attribute.source_attribute
    if attribute.mapping_type == MappingType.CONSTANT:
        return f"\u201c{attribute.constant_value}\u201d"
    if attribute.mapping_type == MappingType.EXPRESSION:
        return attribute.expression
    return ""


@portal_page
def attribute_mappings(request: HttpRequest, application_id: int, object_type: str) -> HttpResponse:
    application = get_application(application_id)
    if object_type not in OBJECT_TYPE_SLUGS:
        raise Http404
    mapping: ObjectMapping = get_object_or_404(
        application.provisioning_job.mappings, object_type=OBJECT_TYPE_SLUGS[object_type]
    )
    attributes = list(mapping.attributes.order_by("position", "id"))
    for attribute in attributes:
        attribute.source_text = source_text(attribute)
    context = blade_context(
        request,
        application,
        "provisioning",
        page_title=mapping_title(mapping.name),
        mapping=mapping,
        attributes=attributes,
        matching=sorted(
            (a for a in attributes if a.is_matching), key=lambda a: a.matching_precedence or 0
        ),
    )
    return render(request, "provisioning/attribute_mappings.html", context)
