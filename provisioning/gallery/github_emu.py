"""GitHub Enterprise Managed User (EMU), provisioned by SCIM 2.0 with a setup-user token.

Source: Microsoft's tutorial "Configure GitHub Enterprise Managed User for automatic user
provisioning" (MicrosoftDocs/entra-docs,
saas-apps/github-enterprise-managed-user-provisioning-tutorial).
"""

from .base import DEFAULT_ACCESS, GalleryTemplate, RoleTemplate
from .scim_defaults import scim_object_mappings
from .scim_vendor import group_attributes, secret_token_fields, user_attributes

TEMPLATE = GalleryTemplate(
    slug="github-emu",
    name="GitHub Enterprise Managed User",
    publisher="GitHub",
    description="Managed user accounts of a GitHub Enterprise Cloud enterprise with Enterprise "
    "Managed Users. Provisions users, their enterprise role, groups and memberships.",
    connector="scim",
    credential_fields=secret_token_fields(
        tenant_url_help="https://api.github.com/scim/v2/enterprises/{enterprise} on GitHub.com; "
        "https://api.{subdomain}.ghe.com/scim/v2/enterprises/{subdomain} on GHE.com.",
        token_help="A personal access token (classic) of the enterprise's setup user with the "
        "scim:enterprise scope.",
    ),
    app_roles=(
        RoleTemplate(name="User", value="User", description="An enterprise member."),
        RoleTemplate(
            name="Enterprise Owner",
            value="Enterprise Owner",
            description="Full control of the enterprise.",
        ),
        RoleTemplate(
            name="Billing Manager",
            value="Billing Manager",
            description="Access to the enterprise's billing settings only.",
        ),
        RoleTemplate(
            name="Guest Collaborator",
            value="Guest Collaborator",
            description="Access only to repositories and organizations they are added to.",
        ),
        DEFAULT_ACCESS,
    ),
    object_mappings=scim_object_mappings(
        # externalId is the only attribute GitHub can filter users on.
        user_attributes(
            "externalId",
            "userName",
            "active",
            'roles[primary eq "True"].value',
            "displayName",
            "name.givenName",
            "name.familyName",
            "name.formatted",
            'emails[type eq "work"].value',
            matching="externalId",
        ),
        group_attributes("externalId", "displayName", "members", matching="externalId"),
    ),
    test_connection_hint=(
        "Ensure the Secret Token was created by the enterprise's setup user (an enterprise "
        "owner) with the scim:enterprise scope and that the Tenant URL names your enterprise, "
        "then try again."
    ),
    tenant_url_pattern="https://api.github.com/scim/v2/enterprises/{enterprise}",
    quirks=(
        "Users and groups are matched on externalId (the directory object id): it is the only "
        "attribute GitHub can filter on, so the matching attribute must not be changed.",
        "The enterprise role comes from the assignment's app role (User, Enterprise Owner, "
        "Billing Manager, Guest Collaborator); roles cannot be changed in GitHub itself.",
        "Only enterprises created for Enterprise Managed Users can be provisioned; a standard "
        "GitHub Enterprise account does not accept SCIM provisioning of users.",
        "Enterprises on GHE.com (data residency) use "
        "https://api.{subdomain}.ghe.com/scim/v2/enterprises/{subdomain}.",
    ),
    categories=("Developer tools",),
)
