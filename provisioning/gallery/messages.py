"""The gallery's user-visible texts, marked for translation (issue 15).

Gallery templates are data (``provisioning/gallery/<vendor>.py``) and keep their English text;
pages translate it when they show it (``{% translate template.description %}``, the credential
labels of the Provisioning tab, the Test Connection hint). ``makemessages`` only finds literals, so
each text is listed here; ``tests/unit/test_locale_catalogue.py`` fails when a template has a text
that is missing here or in the Traditional Chinese catalogue.
"""

from django.utils.translation import gettext_noop

GALLERY_TEXTS = (
    # Names and publishers that are not proper names (the others translate to themselves).
    gettext_noop("SCIM 2.0 application"),
    gettext_noop("Generic"),
    gettext_noop(
        "Work management. Provisions users of an Asana Enterprise domain, teams (groups) and team memberships."
    ),
    gettext_noop("Tenant URL"),
    gettext_noop("Secret Token"),
    gettext_noop(
        "The token of a service account (Admin console > Apps > Service accounts) with the User provisioning (SCIM) scopes: users and teams, read and write."
    ),
    gettext_noop("User"),
    gettext_noop("Default Access"),
    gettext_noop("Sign-in only; not valid for provisioning."),
    gettext_noop(
        "Ensure the Secret Token belongs to an Asana service account of an Enterprise domain with the User provisioning (SCIM) scopes, and that the Tenant URL is https://app.asana.com/api/1.0/scim; otherwise contact Asana to check the account setup."
    ),
    gettext_noop("Productivity"),
    gettext_noop("Collaboration"),
    gettext_noop(
        "Jira, Confluence and the other Atlassian Cloud products. Provisions users, groups and group memberships into an Atlassian organization's identity provider directory."
    ),
    gettext_noop(
        "The SCIM base URL shown by admin.atlassian.com > Security > Identity providers > your directory > Set up user provisioning, e.g. https://api.atlassian.com/scim/directory/{directoryId}"
    ),
    gettext_noop("The API key shown once next to the SCIM base URL."),
    gettext_noop(
        "Ensure your Atlassian Cloud account is an organization admin, that the Tenant URL is the SCIM base URL of your identity provider directory and that the Secret Token is its API key, then try again."
    ),
    gettext_noop("Developer tools"),
    gettext_noop(
        "Online meetings. Provisions user accounts, licences and admin roles (legacy integration, retired by Microsoft in favour of GoTo)."
    ),
    gettext_noop("Citrix GoToMeeting Admin User Name"),
    gettext_noop("Citrix GoToMeeting Admin Password"),
    gettext_noop("A GoToMeeting licence."),
    gettext_noop("Administrator"),
    gettext_noop("A GoToMeeting licence and GoTo's MANAGE_USERS admin role."),
    gettext_noop(
        "Ensure your Citrix GoToMeeting account has Team Admin permissions and try the Admin Credentials step again."
    ),
    gettext_noop("Authorize"),
    gettext_noop(
        "Sign in to GoTo as an admin with Team Admin permissions and allow the portal to manage your account's users."
    ),
    gettext_noop(
        "Legacy password grant: only for accounts whose GoTo OAuth client still allows it. Prefer Authorize."
    ),
    gettext_noop("Legacy password grant, with the Admin User Name."),
    gettext_noop("Personal Access Token"),
    gettext_noop(
        "For headless setups: a token created at myaccount.goto.com > Developer Tools, with the Personal Access Token grant enabled on the portal's OAuth client."
    ),
    gettext_noop(
        "Microsoft has retired the legacy GoToMeeting provisioning integration in favour of the GoTo gallery app (users and groups over SCIM 2.0): choose GoTo for new setups."
    ),
    gettext_noop(
        "GoTo (GoTo Meeting, GoTo Connect…). Provisions users and groups over SCIM 2.0 after an Authorize step; replaces the retired legacy provisioning integration."
    ),
    gettext_noop(
        "The SCIM 2.0 base URL of your GoTo account, as GoTo's admin centre shows it (GoTo publishes no default)."
    ),
    gettext_noop("For headless setups, instead of Authorize."),
    gettext_noop(
        "Click Authorize and sign in as a GoTo admin with permission to manage users and groups, check the Tenant URL, and verify your e-mail domain in GoTo's Organization Center."
    ),
    gettext_noop(
        "Collaborative design. Provisions and deprovisions the user accounts of a Figma organization."
    ),
    gettext_noop("The API token generated under SCIM provisioning in the same settings."),
    gettext_noop(
        "Ensure your Figma account has Admin permissions, that the Tenant URL ends with your organization's Tenant ID and that the Secret Token is the SCIM API token, then try again."
    ),
    gettext_noop("Design"),
    gettext_noop(
        "Managed user accounts of a GitHub Enterprise Cloud enterprise with Enterprise Managed Users. Provisions users, their enterprise role, groups and memberships."
    ),
    gettext_noop(
        "A personal access token (classic) of the enterprise's setup user with the scim:enterprise scope."
    ),
    gettext_noop("An enterprise member."),
    gettext_noop("Enterprise Owner"),
    gettext_noop("Full control of the enterprise."),
    gettext_noop("Billing Manager"),
    gettext_noop("Access to the enterprise's billing settings only."),
    gettext_noop("Guest Collaborator"),
    gettext_noop("Access only to repositories and organizations they are added to."),
    gettext_noop(
        "Ensure the Secret Token was created by the enterprise's setup user (an enterprise owner) with the scim:enterprise scope and that the Tenant URL names your enterprise, then try again."
    ),
    gettext_noop(
        "Online whiteboard. Provisions users and keeps the members of existing Miro teams (groups) in step."
    ),
    gettext_noop("The SCIM authentication token, obtained from Miro's support team."),
    gettext_noop(
        "Ensure your Miro account has Admin permissions and that the Secret Token is the SCIM authentication token from Miro support, then try again."
    ),
    gettext_noop("Any application with a SCIM 2.0 endpoint (RFC 7643/7644) and a bearer token."),
    gettext_noop("The SCIM base URL, e.g. https://example.com/scim/v2"),
    gettext_noop(
        "Check that the Tenant URL is the SCIM base URL (it answers /Users) and that the Secret Token is valid and allowed to read and write users and groups."
    ),
    gettext_noop("Provisioning"),
    gettext_noop("Non-gallery"),
)

# How Azure names an object mapping (stored in English with the application's name).
MAPPING_NAMES = (
    gettext_noop("Synchronize Azure Active Directory Users to %(app)s"),
    gettext_noop("Synchronize Azure Active Directory Groups to %(app)s"),
)

# Texts the connectors translate from a constant (``_(TEAM_ADMIN_HINT)``), invisible to makemessages.
CONNECTOR_TEXTS = (
    gettext_noop(
        "ensure your Citrix GoToMeeting account has Team Admin permissions and try the "
        "Admin Credentials step again."
    ),
)
