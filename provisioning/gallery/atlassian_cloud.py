"""Atlassian Cloud, provisioned by SCIM 2.0 through Atlassian's user provisioning (Atlassian Guard).

Source: Microsoft's tutorial "Configure Atlassian Cloud for automatic user provisioning with
Microsoft Entra ID" (MicrosoftDocs/entra-docs, saas-apps/atlassian-cloud-provisioning-tutorial).
"""

from .base import DEFAULT_ACCESS, GalleryTemplate, RoleTemplate
from .scim_defaults import scim_object_mappings
from .scim_vendor import group_attributes, secret_token_fields, user_attributes

WORK_EMAIL = 'emails[type eq "work"].value'

TEMPLATE = GalleryTemplate(
    slug="atlassian-cloud",
    name="Atlassian Cloud",
    publisher="Atlassian",
    description="Jira, Confluence and the other Atlassian Cloud products. Provisions users, "
    "groups and group memberships into an Atlassian organization's identity provider directory.",
    connector="scim",
    credential_fields=secret_token_fields(
        tenant_url_help="The SCIM base URL shown by admin.atlassian.com > Security > Identity "
        "providers > your directory > Set up user provisioning, "
        "e.g. https://api.atlassian.com/scim/directory/{directoryId}",
        token_help="The API key shown once next to the SCIM base URL.",
    ),
    app_roles=(RoleTemplate(name="User", value="User"), DEFAULT_ACCESS),
    object_mappings=scim_object_mappings(
        # Atlassian matches accounts on the e-mail address, not on userName.
        user_attributes(
            "userName",
            "active",
            "name.givenName",
            "name.familyName",
            WORK_EMAIL,
            matching=WORK_EMAIL,
        ),
        group_attributes("displayName", "externalId", "members"),
    ),
    test_connection_hint=(
        "Ensure your Atlassian Cloud account is an organization admin, that the Tenant URL is "
        "the SCIM base URL of your identity provider directory and that the Secret Token is its "
        "API key, then try again."
    ),
    tenant_url_pattern="https://api.atlassian.com/scim/directory/{directoryId}",
    quirks=(
        'Accounts are matched on the work e-mail (emails[type eq "work"].value), mapped from '
        "mail; mail is empty for users without an Exchange mailbox, so map another attribute "
        "(e.g. userPrincipalName) for them.",
        "Only users of domains verified in the Atlassian organization receive updates; changes "
        "to users of unverified domains are not applied.",
        "Group renames are not supported: a changed displayName is not reflected in Atlassian.",
        "Needs an Atlassian Guard (formerly Access) subscription on the organization.",
    ),
    categories=("Collaboration", "Developer tools"),
)
