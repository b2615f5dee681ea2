"""The *GoTo* gallery app's connector (issue 17): users and groups over SCIM 2.0 — here a real
scim2-server — with the bearer token an access token the fake GoTo issues for the refresh token
of the Authorize step. (The fake issues the one token the SCIM server accepts.)"""

import pytest

from provisioning.choices import ObjectType
from provisioning.connectors.errors import CredentialsError
from provisioning.connectors.gotomeeting import GoToScimConnector


@pytest.fixture
def goto_scim(fake_goto, scim, goto_authorized, goto_clock):
    refresh_token, _exchanger = goto_authorized
    fake_goto.access_token_value = scim.token
    built = []

    def build(**credentials):
        connector = GoToScimConnector(
            {"tenant_url": scim.url, "refresh_token": refresh_token, **credentials},
            token_url=fake_goto.token_url,
            client_id=fake_goto.client_id,
            client_secret=fake_goto.client_secret,
            clock=goto_clock,
            timeout=(2.0, 5.0),
        )
        built.append(connector)
        return connector

    yield build
    for connector in built:
        connector.close()


def test_users_and_groups_are_provisioned_with_the_authorized_grant(fake_goto, scim, goto_scim):
    connector = goto_scim()

    assert connector.test_connection("userName").ok
    user = connector.create(ObjectType.USER, {"userName": "ada@contoso.example", "active": True})
    group = connector.create(ObjectType.GROUP, {"displayName": "Sales"})
    connector.add_members(group["id"], [user["id"]])

    assert connector.find(ObjectType.USER, "userName", "ada@contoso.example")[0]["id"] == user["id"]
    assert connector.member_ids(connector.get(ObjectType.GROUP, group["id"])) == [user["id"]]
    assert fake_goto.grants["refresh_token"] == 1 and fake_goto.grants["password"] == 0


def test_a_revoked_authorization_asks_to_reauthorize(fake_goto, goto_scim):
    fake_goto.revoke_refresh_tokens()

    with pytest.raises(CredentialsError) as raised:
        goto_scim().find(ObjectType.USER, "userName", "ada@contoso.example")

    assert raised.value.code == "GoToReauthorize" and "reauthorize" in raised.value.message
