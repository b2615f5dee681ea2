"""Citrix GoToMeeting, provisioned through GoTo's Admin API (the source tutorial's app)."""

from ..choices import MappingType, ObjectType
from .base import (
    DEFAULT_ACCESS,
    AttributeTemplate,
    CredentialField,
    GalleryTemplate,
    ObjectMappingTemplate,
    RoleTemplate,
)

TEMPLATE = GalleryTemplate(
    slug="gotomeeting",
    name="Citrix GoToMeeting",
    publisher="GoTo (LogMeIn, Citrix)",
    description="Online meetings. Provisions user accounts, licences and admin roles.",
    connector="gotomeeting",
    credential_fields=(
        CredentialField(name="admin_username", label="Citrix GoToMeeting Admin User Name"),
        CredentialField(
            name="admin_password",
            label="Citrix GoToMeeting Admin Password",
            secret=True,
            kind="password",
        ),
    ),
    app_roles=(
        RoleTemplate(name="User", value="User", description="A GoToMeeting licence."),
        RoleTemplate(
            name="Administrator",
            value="Administrator",
            description="A GoToMeeting licence and the account's admin roles.",
        ),
        DEFAULT_ACCESS,
    ),
    object_mappings=(
        ObjectMappingTemplate(
            object_type=ObjectType.USER,
            target_object="User",
            attributes=(
                AttributeTemplate(
                    target="email", source="userPrincipalName", matching_precedence=1
                ),
                AttributeTemplate(target="firstName", source="givenName"),
                AttributeTemplate(target="lastName", source="surname"),
                AttributeTemplate(
                    target="active",
                    mapping_type=MappingType.EXPRESSION,
                    expression="Not([IsSoftDeleted])",
                ),
                AttributeTemplate(
                    target="role",
                    mapping_type=MappingType.EXPRESSION,
                    expression="SingleAppRoleAssignment([appRoleAssignments])",
                ),
            ),
        ),
    ),
    test_connection_hint=(
        "Ensure your Citrix GoToMeeting account has Team Admin permissions and try the "
        "Admin Credentials step again."
    ),
    quirks=(
        "GoTo allows 10 requests per second and answers 429 without Retry-After.",
        "Disabling a user removes its GoToMeeting licence; the account stays.",
    ),
    categories=("Collaboration",),
)
