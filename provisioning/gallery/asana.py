"""Asana, provisioned by SCIM 2.0 with a service account token (Enterprise plans).

Sources: Microsoft's tutorial "Configure Asana for automatic user provisioning"
(MicrosoftDocs/entra-docs, saas-apps/asana-provisioning-tutorial) and Asana's SCIM reference
(developers.asana.com/docs/scim).
"""

from .base import DEFAULT_ACCESS, GalleryTemplate, RoleTemplate
from .scim_defaults import ENTERPRISE, scim_object_mappings
from .scim_vendor import group_attributes, secret_token_fields, user_attributes

TEMPLATE = GalleryTemplate(
    slug="asana",
    name="Asana",
    publisher="Asana",
    description="Work management. Provisions users of an Asana Enterprise domain, teams "
    "(groups) and team memberships.",
    connector="scim",
    credential_fields=secret_token_fields(
        tenant_url_help="https://app.asana.com/api/1.0/scim",
        token_help="The token of a service account (Admin console > Apps > Service accounts) "
        "with the User provisioning (SCIM) scopes: users and teams, read and write.",
    ),
    app_roles=(RoleTemplate(name="User", value="User"), DEFAULT_ACCESS),
    object_mappings=scim_object_mappings(
        user_attributes(
            "userName",
            "active",
            "name.formatted",
            "title",
            f"{ENTERPRISE}:department",
            f"{ENTERPRISE}:manager",
            'addresses[type eq "work"].country',
            f"{ENTERPRISE}:employeeNumber",
        ),
        group_attributes("displayName", "members"),
    ),
    test_connection_hint=(
        "Ensure the Secret Token belongs to an Asana service account of an Enterprise domain "
        "with the User provisioning (SCIM) scopes, and that the Tenant URL is "
        "https://app.asana.com/api/1.0/scim; otherwise contact Asana to check the account setup."
    ),
    tenant_url_pattern="https://app.asana.com/api/1.0/scim",
    quirks=(
        "Asana filters users on userName only, so userName is the matching attribute.",
        'Setting active to false or deleting a user deprovisions ("zombifies") it in Asana; '
        "guests of the domain are never returned by the SCIM API.",
        "externalId, name.givenName and name.familyName are not accepted (dropped in 2021): "
        "the name flows as name.formatted.",
        "Only service accounts of Enterprise or Enterprise+ domains can call the SCIM API.",
    ),
    categories=("Productivity", "Collaboration"),
)
