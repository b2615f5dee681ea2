"""Miro, provisioned by SCIM 2.0 with a SCIM token issued by Miro.

Source: Microsoft's tutorial "Configure Miro for automatic user provisioning"
(MicrosoftDocs/entra-docs, saas-apps/miro-provisioning-tutorial).
"""

from dataclasses import replace

from .base import DEFAULT_ACCESS, GalleryTemplate, RoleTemplate
from .scim_defaults import scim_object_mappings
from .scim_vendor import group_attributes, secret_token_fields, user_attributes

_users, _groups = scim_object_mappings(
    user_attributes("userName", "active", "displayName", "name.givenName", "name.familyName"),
    group_attributes("displayName", "members"),
)

TEMPLATE = GalleryTemplate(
    slug="miro",
    name="Miro",
    publisher="Miro",
    description="Online whiteboard. Provisions users and keeps the members of existing Miro "
    "teams (groups) in step.",
    connector="scim",
    credential_fields=secret_token_fields(
        tenant_url_help="https://miro.com/api/v1/scim",
        token_help="The SCIM authentication token, obtained from Miro's support team.",
    ),
    app_roles=(RoleTemplate(name="User", value="User"), DEFAULT_ACCESS),
    # Miro's SCIM API updates groups but can neither create nor delete them.
    object_mappings=(_users, replace(_groups, create=False, delete=False)),
    test_connection_hint=(
        "Ensure your Miro account has Admin permissions and that the Secret Token is the SCIM "
        "authentication token from Miro support, then try again."
    ),
    tenant_url_pattern="https://miro.com/api/v1/scim",
    quirks=(
        "Groups cannot be created or deleted through Miro's SCIM API, only updated: the Create "
        "and Delete actions of the Groups mapping are off.",
        "The Secret Token is issued by Miro's support team on request.",
    ),
    categories=("Collaboration",),
)
