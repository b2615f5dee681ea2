"""GoTo, the current gallery app: users and groups over SCIM 2.0 after an Authorize step.

Source: Microsoft's tutorial *Configure GoTo for automatic user provisioning with Microsoft
Entra ID* (entra/identity/saas-apps/goto-provisioning-tutorial): create, update and remove
users, provision groups and their memberships, after the administrator verified the account's
e-mail domain in GoTo's Organization Center. It replaces the retired *Citrix GoToMeeting*
provisioning integration (:mod:`.gotomeeting`).

Authorization is the same as GoToMeeting's: the Authorize button (authorization code with
``state`` and PKCE at GoTo's authentication host, the refresh token kept encrypted), or a
personal access token for headless setups. The bearer token sent to the SCIM endpoint is the
access token those grants give (``provisioning/connectors/gotomeeting.py``,
:class:`GoToScimConnector`).

GoTo's public developer pages we could read do not publish the SCIM base URL, so the Tenant URL
is a field without a default (see the quirks); copy it from GoTo's admin centre.
"""

from .base import DEFAULT_ACCESS, CredentialField, GalleryTemplate, RoleTemplate
from .gotomeeting import AUTHORIZE_FIELD
from .scim_defaults import scim_object_mappings
from .scim_vendor import group_attributes, user_attributes

TEMPLATE = GalleryTemplate(
    slug="goto",
    name="GoTo",
    publisher="GoTo",
    description="GoTo (GoTo Meeting, GoTo Connect…). Provisions users and groups over "
    "SCIM 2.0 after an Authorize step; replaces the retired legacy provisioning integration.",
    connector="goto_scim",
    credential_fields=(
        CredentialField(
            name="tenant_url",
            label="Tenant URL",
            kind="url",
            help_text=(
                "The SCIM 2.0 base URL of your GoTo account, as GoTo's admin centre shows it "
                "(GoTo publishes no default)."
            ),
        ),
        AUTHORIZE_FIELD,
        CredentialField(
            name="personal_access_token",
            label="Personal Access Token",
            secret=True,
            kind="password",
            required=False,
            help_text="For headless setups, instead of Authorize.",
        ),
    ),
    app_roles=(RoleTemplate(name="User", value="User"), DEFAULT_ACCESS),
    object_mappings=scim_object_mappings(
        user_attributes(
            "userName",
            "active",
            "displayName",
            'emails[type eq "work"].value',
            "name.givenName",
            "name.familyName",
            "externalId",
        ),
        group_attributes("displayName", "externalId", "members"),
    ),
    test_connection_hint=(
        "Click Authorize and sign in as a GoTo admin with permission to manage users and "
        "groups, check the Tenant URL, and verify your e-mail domain in GoTo's Organization "
        "Center."
    ),
    quirks=(
        "The Tenant URL has no documented default: GoTo's public developer pages do not "
        "publish the SCIM base URL, so enter the one GoTo's admin centre gives.",
        "Authorize uses GoTo's authorization-code grant at authentication.logmeininc.com; the "
        "refresh token is kept encrypted and reused until GoTo refuses it (then reauthorize).",
        "GoTo allows 10 requests per second.",
        "Replaces the Citrix GoToMeeting provisioning integration, which Microsoft retired.",
    ),
    categories=("Collaboration",),
    credential_alternatives=(("refresh_token",), ("personal_access_token",)),
)
