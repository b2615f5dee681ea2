"""The generic "SCIM 2.0 application" (a non-gallery app with a SCIM endpoint)."""

from .base import DEFAULT_ACCESS, CredentialField, GalleryTemplate, RoleTemplate
from .scim_defaults import scim_object_mappings

TEMPLATE = GalleryTemplate(
    slug="scim",
    name="SCIM 2.0 application",
    publisher="Generic",
    description="Any application with a SCIM 2.0 endpoint (RFC 7643/7644) and a bearer token.",
    connector="scim",
    credential_fields=(
        CredentialField(
            name="tenant_url",
            label="Tenant URL",
            kind="url",
            help_text="The SCIM base URL, e.g. https://example.com/scim/v2",
        ),
        CredentialField(name="secret_token", label="Secret Token", secret=True, kind="password"),
    ),
    app_roles=(RoleTemplate(name="User", value="User"), DEFAULT_ACCESS),
    object_mappings=scim_object_mappings(),
    test_connection_hint=(
        "Check that the Tenant URL is the SCIM base URL (it answers /Users) and that the "
        "Secret Token is valid and allowed to read and write users and groups."
    ),
    tenant_url_pattern="https://{host}/scim/v2",
    categories=("Provisioning", "Non-gallery"),
)
