"""Where the GoToMeeting connector gets GoTo's URLs and the portal's OAuth client from."""

from provisioning.connectors import CONNECTORS, build_connector
from provisioning.connectors.goto_settings import (
    DEFAULT_ADMIN_API_URL,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_TOKEN_URL,
    goto_settings,
)
from provisioning.connectors.gotomeeting import GoToMeetingConnector, build_gotomeeting_connector


def test_defaults_are_gotos_documented_hosts_and_no_client(settings):
    """The token host of GoTo's migration guide; api.getgo.com/oauth/v2 is decommissioned."""
    for name in (
        "GOTO_OAUTH_TOKEN_URL",
        "GOTO_OAUTH_AUTHORIZE_URL",
        "GOTO_ADMIN_API_URL",
        "GOTO_CLIENT_ID",
    ):
        if hasattr(settings, name):
            delattr(settings, name)

    values = goto_settings()

    assert values.token_url == DEFAULT_TOKEN_URL
    assert DEFAULT_TOKEN_URL == "https://authentication.logmeininc.com/oauth/token"
    assert values.authorize_url == DEFAULT_AUTHORIZE_URL
    assert DEFAULT_AUTHORIZE_URL == "https://authentication.logmeininc.com/oauth/authorize"
    assert values.api_url == DEFAULT_ADMIN_API_URL == "https://api.getgo.com/admin/rest/v1"
    assert values.client_id == ""
    assert values.requests_per_second == 10


def test_the_registered_factory_reads_the_settings_and_options_win(settings):
    settings.GOTO_OAUTH_TOKEN_URL = "https://auth.example.test/oauth/v2/token"
    settings.GOTO_ADMIN_API_URL = "https://api.example.test/admin/rest/v1/"
    settings.GOTO_CLIENT_ID = "client-from-settings"
    settings.GOTO_CLIENT_SECRET = "secret-from-settings"
    settings.GOTO_REQUESTS_PER_SECOND = 4

    assert CONNECTORS["gotomeeting"] is build_gotomeeting_connector
    connector = build_connector(
        "gotomeeting",
        {"admin_username": "admin@contoso.example", "admin_password": "pw"},
        client_id="client-from-options",
    )

    assert isinstance(connector, GoToMeetingConnector)
    assert connector.token_url == "https://auth.example.test/oauth/v2/token"
    assert connector.api_url == "https://api.example.test/admin/rest/v1"
    assert connector.client_id == "client-from-options"
    assert connector.rate_limiter.requests_per_second == 4
    connector.close()


def test_text_from_goto_is_scrubbed_of_every_secret_grant_and_the_client_secret():
    connector = GoToMeetingConnector(
        {
            "admin_username": "admin@contoso.example",
            "admin_password": "Sup3r-secret",
            "refresh_token": "refresh-Secret-2",
            "personal_access_token": "pat-Secret-3",
        },
        client_secret="client-Secret-1",
    )

    text = "echo Sup3r-secret, client-Secret-1, refresh-Secret-2 and pat-Secret-3"
    assert connector._scrub(text) == "echo ••••, ••••, •••• and ••••"
    connector.close()
