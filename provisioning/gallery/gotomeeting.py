"""Citrix GoToMeeting, provisioned through GoTo's Admin API (the source tutorial's app).

Microsoft has retired this provisioning integration (its tutorial, *Configure GoToMeeting for
automatic user provisioning*, says it is no longer supported) in favour of the *GoTo* gallery
app (:mod:`.goto`), which provisions users and groups over SCIM 2.0. It stays here because the
source tutorial uses it, and it speaks GoTo's API as GoTo documents it today (see
``provisioning/connectors/gotomeeting.py``).

Three ways to connect, in the order the connector prefers them:

1. **Authorize** — the portal sends the administrator to GoTo's sign-in and consent page
   (authorization code with ``state`` and PKCE) and keeps the refresh token, encrypted.
2. **Personal access token** — for headless setups (GoTo's PAT grant).
3. **Admin User Name / Admin Password** — the tutorial's fields: GoTo's *legacy password
   grant*, which works only for OAuth clients that still have it enabled.

*Administrator* grants GoTo's ``MANAGE_USERS`` admin role: the documented role to create,
modify and delete users, which is what an administrator of a provisioned GoToMeeting account
needs. ``SUPER_USER`` is the account owner's role (it may create other administrators and change
account settings) — a provisioning service should never hand it out, and a Team Admin cannot.
``MANAGE_SEATS`` alone would not let the person manage users.
"""

from ..choices import MappingType, ObjectType
from .base import (
    DEFAULT_ACCESS,
    AttributeTemplate,
    CredentialField,
    GalleryTemplate,
    ObjectMappingTemplate,
    RoleTemplate,
)

RETIREMENT_NOTICE = (
    "Microsoft has retired the legacy GoToMeeting provisioning integration in favour of the "
    "GoTo gallery app (users and groups over SCIM 2.0): choose GoTo for new setups."
)

# The Authorize button: GoTo's authorization-code grant; the refresh token is kept encrypted.
AUTHORIZE_FIELD = CredentialField(
    name="refresh_token",
    label="Authorize",
    secret=True,
    kind="oauth",
    required=False,
    help_text=(
        "Sign in to GoTo as an admin with Team Admin permissions and allow the portal to "
        "manage your account's users."
    ),
)

TEMPLATE = GalleryTemplate(
    slug="gotomeeting",
    name="Citrix GoToMeeting",
    publisher="GoTo (LogMeIn, Citrix)",
    description="Online meetings. Provisions user accounts, licences and admin roles "
    "(legacy integration, retired by Microsoft in favour of GoTo).",
    connector="gotomeeting",
    credential_fields=(
        AUTHORIZE_FIELD,
        CredentialField(
            name="admin_username",
            label="Citrix GoToMeeting Admin User Name",
            required=False,
            help_text=(
                "Legacy password grant: only for accounts whose GoTo OAuth client still "
                "allows it. Prefer Authorize."
            ),
        ),
        CredentialField(
            name="admin_password",
            label="Citrix GoToMeeting Admin Password",
            secret=True,
            kind="password",
            required=False,
            help_text="Legacy password grant, with the Admin User Name.",
        ),
        CredentialField(
            name="personal_access_token",
            label="Personal Access Token",
            secret=True,
            kind="password",
            required=False,
            help_text=(
                "For headless setups: a token created at myaccount.goto.com > Developer Tools, "
                "with the Personal Access Token grant enabled on the portal's OAuth client."
            ),
        ),
    ),
    app_roles=(
        RoleTemplate(name="User", value="User", description="A GoToMeeting licence."),
        RoleTemplate(
            name="Administrator",
            value="Administrator",
            description="A GoToMeeting licence and GoTo's MANAGE_USERS admin role.",
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
        RETIREMENT_NOTICE,
        "Administrator grants GoTo's MANAGE_USERS admin role (create, modify and delete users), "
        "never the owner-level SUPER_USER.",
        "GoTo allows 10 requests per second; a Retry-After on its 429 is honoured, and without "
        "one the connector backs off.",
        "Disabling a user removes its GoToMeeting licence; the account stays.",
        "Licences of other GoTo products and admin roles the portal does not manage are kept.",
    ),
    categories=("Collaboration",),
    notice=RETIREMENT_NOTICE,
    credential_alternatives=(
        ("refresh_token",),
        ("personal_access_token",),
        ("admin_username", "admin_password"),
    ),
)
