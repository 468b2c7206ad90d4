"""The portal's own Token API client against the live sandbox, for every grant and revocation."""

from dataclasses import dataclass

import pytest

from portal.gateway import client
from portal.gateway.client import ClientCredentials, TokenApiError
from portal.sandbox import services

from .conftest import KEY, PASSWORD, SECRET, USERNAME

ODD_KEY = "odd+key"
ODD_SECRET = "s+e:c%r et"


@dataclass
class SandboxGateway:
    token_url: str
    revoke_url: str
    client_auth: str = "basic"
    ca_bundle: str = ""


@pytest.fixture
def gateway(live_server, seeded) -> SandboxGateway:
    base = f"{live_server.url}/sandbox"
    return SandboxGateway(f"{base}/token", f"{base}/revoke")


def issue(gateway, scopes=("read",), key=KEY, secret=SECRET, password=PASSWORD):
    return client.password_grant(
        ClientCredentials(gateway, key, secret),
        username=USERNAME,
        password=password,
        scopes=list(scopes),
    )


def test_password_grant_gets_a_token_with_the_granted_scopes(gateway):
    token = issue(gateway, scopes=["read", "admin"])

    assert token.token_type == "Bearer"
    assert token.expires_in == 3600
    assert token.scopes == ["read"]
    assert token.refresh_token
    assert token.jwt_claims["sub"] == USERNAME
    assert token.jwt_claims["consumerKey"] == KEY


def test_refresh_grant_rotates_and_the_old_token_is_invalid_grant(gateway):
    first = issue(gateway)

    credentials = ClientCredentials(gateway, KEY, SECRET)

    second = client.refresh_grant(credentials, refresh_token=first.refresh_token)
    with pytest.raises(TokenApiError) as caught:
        client.refresh_grant(credentials, refresh_token=first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert second.scopes == ["read"]
    assert caught.value.kind == "invalid_grant"
    assert "generate a new token" in caught.value.message


def test_client_credentials_grant_gets_an_application_token(gateway):
    token = client.client_credentials_grant(
        ClientCredentials(gateway, KEY, SECRET), scopes=["write"]
    )

    assert token.refresh_token is None
    assert token.scopes == ["write"]
    assert token.jwt_claims["aut"] == "APPLICATION"


def test_revoke_reports_the_revoked_tokens(gateway):
    token = issue(gateway)

    result = client.revoke(
        ClientCredentials(gateway, KEY, SECRET),
        token.refresh_token,
        token_type_hint="refresh_token",
    )

    assert result.accepted
    assert result.revoked_refresh_token == token.refresh_token
    assert result.revoked_access_token == token.access_token
    assert result.authorized_user == USERNAME


def test_wrong_secret_and_wrong_password_are_told_apart(gateway):
    with pytest.raises(TokenApiError) as wrong_secret:
        issue(gateway, secret="not-the-secret")
    with pytest.raises(TokenApiError) as wrong_password:
        issue(gateway, password="not-the-password")

    assert (wrong_secret.value.kind, wrong_secret.value.status) == ("invalid_client", 401)
    assert (wrong_password.value.kind, wrong_password.value.status) == ("invalid_grant", 400)


@pytest.mark.parametrize("style", ["basic", "basic_raw", "client_secret_post"])
def test_every_client_auth_style_is_accepted_with_an_awkward_secret(gateway, style):
    services.sandbox_seed(
        consumer_key=ODD_KEY,
        consumer_secret=ODD_SECRET,
        username=USERNAME,
        password=PASSWORD,
        app_name="Odd app",
        app_scopes="default read",
        user_scopes="default read update",
    )
    gateway.client_auth = style

    token = issue(gateway, key=ODD_KEY, secret=ODD_SECRET)

    assert token.jwt_claims["consumerKey"] == ODD_KEY
