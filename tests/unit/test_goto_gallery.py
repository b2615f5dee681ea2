"""The GoTo gallery entries (issue 17): the legacy GoToMeeting one with its three ways to
connect and the retirement notice, and the current GoTo one (users and groups over SCIM)."""

from provisioning.choices import ObjectType
from provisioning.connectors import CONNECTORS
from provisioning.connectors.gotomeeting import GoToScimConnector, build_goto_scim_connector
from provisioning.gallery import get_template, search_templates


def test_gotomeeting_offers_authorize_then_the_labelled_legacy_password_then_a_token():
    template = get_template("gotomeeting")
    fields = {f.name: f for f in template.credential_fields}

    assert fields["refresh_token"].kind == "oauth" and fields["refresh_token"].secret
    assert "Legacy password grant" in fields["admin_username"].help_text
    assert fields["personal_access_token"].secret
    assert not any(f.required for f in template.credential_fields)
    assert "retired" in template.notice and "GoTo" in template.notice
    assert template.notice in template.quirks
    assert any("MANAGE_USERS" in q for q in template.quirks)
    administrator = next(r for r in template.app_roles if r.name == "Administrator")
    assert "MANAGE_USERS" in administrator.description


def test_goto_provisions_users_and_groups_over_scim_after_authorize():
    template = get_template("goto")

    assert template.connector == "goto_scim"
    assert CONNECTORS["goto_scim"] is build_goto_scim_connector
    fields = {f.name: f for f in template.credential_fields}
    assert fields["refresh_token"].kind == "oauth"
    assert fields["tenant_url"].kind == "url" and not fields["tenant_url"].secret
    # No documented default for the base URL: said in the quirks instead.
    assert template.tenant_url_pattern == ""
    assert any("Tenant URL has no documented default" in q for q in template.quirks)
    assert template.mapping_for(ObjectType.USER).enabled
    assert template.mapping_for(ObjectType.GROUP).enabled
    assert "goto" in [t.slug for t in search_templates("GoTo")]


def test_the_goto_scim_connector_takes_goto_settings_and_the_tenant_url(settings):
    settings.GOTO_OAUTH_TOKEN_URL = "https://auth.example.test/oauth/token"
    settings.GOTO_CLIENT_ID = "client"
    connector = build_goto_scim_connector(
        {"tenant_url": "https://scim.example.test/v2", "refresh_token": "refresh-Secret-9"}
    )

    assert isinstance(connector, GoToScimConnector)
    assert connector.tenant_url == "https://scim.example.test/v2"
    assert connector._goto.token_url == "https://auth.example.test/oauth/token"
    assert connector._goto.grant == "authorization_code"
    assert connector._scrub("x refresh-Secret-9") == "x ••••"
    connector.close()


def test_a_goto_job_is_configured_by_any_one_complete_way_to_connect():
    template = get_template("gotomeeting")

    assert not template.credentials_complete({})
    assert not template.credentials_complete({"admin_username": "admin@contoso.example"})
    assert template.credentials_complete(
        {"admin_username": "admin@contoso.example", "admin_password": "pw"}
    )
    assert template.credentials_complete({"refresh_token": "r"})
    assert template.credentials_complete({"personal_access_token": "p"})
    goto = get_template("goto")
    assert not goto.credentials_complete({"refresh_token": "r"})  # the Tenant URL is required
    assert goto.credentials_complete(
        {"tenant_url": "https://scim.example/v2", "refresh_token": "r"}
    )
