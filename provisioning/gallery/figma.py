"""Figma, provisioned by SCIM 2.0 with an API token tied to the organization's tenant ID.

Source: Microsoft's tutorial "Configure Figma for automatic user provisioning"
(MicrosoftDocs/entra-docs, saas-apps/figma-provisioning-tutorial).
"""

from .base import DEFAULT_ACCESS, GalleryTemplate, RoleTemplate
from .scim_defaults import ENTERPRISE, scim_object_mappings
from .scim_vendor import group_attributes, secret_token_fields, user_attributes

TEMPLATE = GalleryTemplate(
    slug="figma",
    name="Figma",
    publisher="Figma",
    description="Collaborative design. Provisions and deprovisions the user accounts of a "
    "Figma organization.",
    connector="scim",
    credential_fields=secret_token_fields(
        tenant_url_help="https://www.figma.com/scim/v2/{TenantID}, with the Tenant ID copied from "
        "Figma's admin settings (General > Update log in settings).",
        token_help="The API token generated under SCIM provisioning in the same settings.",
    ),
    app_roles=(RoleTemplate(name="User", value="User"), DEFAULT_ACCESS),
    object_mappings=scim_object_mappings(
        user_attributes(
            "userName",
            "active",
            "displayName",
            "name.givenName",
            "name.familyName",
            "title",
            f"{ENTERPRISE}:department",
            "externalId",
        ),
        group_attributes("displayName", "members"),
        # The tutorial provisions users only.
        groups_enabled=False,
    ),
    test_connection_hint=(
        "Ensure your Figma account has Admin permissions, that the Tenant URL ends with your "
        "organization's Tenant ID and that the Secret Token is the SCIM API token, then try again."
    ),
    tenant_url_pattern="https://www.figma.com/scim/v2/{TenantID}",
    quirks=(
        "The Tenant URL embeds the organization's Tenant ID; a token of another organization "
        "answers 401.",
        "The API token is shown once when generated; generating a new one replaces it.",
        "Users only: the Groups mapping is off by default.",
    ),
    categories=("Design", "Collaboration"),
)
