"""Azure's default SCIM 2.0 attribute mappings, shared by the SCIM gallery entries."""

from ..choices import ApplyMapping, MappingType, ObjectType
from .base import AttributeTemplate, ObjectMappingTemplate

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

SCIM_USER_ATTRIBUTES: tuple[AttributeTemplate, ...] = (
    AttributeTemplate(target="userName", source="userPrincipalName", matching_precedence=1),
    AttributeTemplate(
        target="active", mapping_type=MappingType.EXPRESSION, expression="Not([IsSoftDeleted])"
    ),
    AttributeTemplate(target="displayName", source="displayName"),
    AttributeTemplate(target="title", source="jobTitle"),
    AttributeTemplate(target='emails[type eq "work"].value', source="mail"),
    AttributeTemplate(target="preferredLanguage", source="preferredLanguage"),
    AttributeTemplate(target="name.givenName", source="givenName"),
    AttributeTemplate(target="name.familyName", source="surname"),
    AttributeTemplate(
        target="name.formatted",
        mapping_type=MappingType.EXPRESSION,
        expression='Join(" ", [givenName], [surname])',
    ),
    AttributeTemplate(target='addresses[type eq "work"].country', source="country"),
    AttributeTemplate(target='phoneNumbers[type eq "mobile"].value', source="mobile"),
    AttributeTemplate(target="externalId", source="objectId", apply_on=ApplyMapping.ALWAYS),
    AttributeTemplate(target=f"{ENTERPRISE}:employeeNumber", source="employeeId"),
    AttributeTemplate(target=f"{ENTERPRISE}:department", source="department"),
    AttributeTemplate(target=f"{ENTERPRISE}:manager", source="manager"),
    AttributeTemplate(
        target='roles[primary eq "True"].value',
        mapping_type=MappingType.EXPRESSION,
        expression="SingleAppRoleAssignment([appRoleAssignments])",
    ),
)

SCIM_GROUP_ATTRIBUTES: tuple[AttributeTemplate, ...] = (
    AttributeTemplate(target="displayName", source="displayName", matching_precedence=1),
    AttributeTemplate(target="externalId", source="objectId"),
    AttributeTemplate(target="members", source="members"),
)


def scim_object_mappings(
    user_attributes: tuple[AttributeTemplate, ...] = SCIM_USER_ATTRIBUTES,
    group_attributes: tuple[AttributeTemplate, ...] = SCIM_GROUP_ATTRIBUTES,
    groups_enabled: bool = True,
) -> tuple[ObjectMappingTemplate, ...]:
    return (
        ObjectMappingTemplate(
            object_type=ObjectType.USER,
            target_object="urn:ietf:params:scim:schemas:core:2.0:User",
            attributes=user_attributes,
        ),
        ObjectMappingTemplate(
            object_type=ObjectType.GROUP,
            target_object="urn:ietf:params:scim:schemas:core:2.0:Group",
            attributes=group_attributes,
            enabled=groups_enabled,
        ),
    )
