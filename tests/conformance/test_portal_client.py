"""The portal's Token API client against the conformance server (oauth_server.py).

Each test asserts what RFC 6749 / 7009 / 6750 require of a client, and then asks the server
whether the portal's belief matches its own truth (``is_active``, the protected resource).
All calls to the portal go through :func:`call` - the one place that knows the client's import
path and signature.
"""

from dataclasses import dataclass

import pytest
import requests

from portal.gateway import client
from tests.conformance.oauth_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    PLAIN_CLIENT_ID,
    PLAIN_CLIENT_SECRET,
    USER_PASSWORD,
    USERNAME,
)

TokenApiError = client.TokenApiError


@dataclass
class Gateway:
    token_url: str
    revoke_url: str
    client_auth: str = "basic"
    ca_bundle: str = ""
    introspection_url: str = ""
    name: str = "oauthlib"


def call(
    server,
    grant: str,
    *,
    client_auth: str = "basic",
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    **arguments,
):
    """The portal client's ``password`` / ``client_credentials`` / ``refresh`` / ``revoke`` call
    against ``server``, as application ``client_id``; ``arguments`` are the call's own."""
    gateway = Gateway(server.token_url, server.revoke_url, client_auth)
    function = {
        "password": client.password_grant,
        "client_credentials": client.client_credentials_grant,
        "refresh": client.refresh_grant,
        "revoke": client.revoke,
    }[grant]
    return function(client.ClientCredentials(gateway, client_id, client_secret), **arguments)


def password_token(server, scopes=("read",), **options):
    return call(
        server,
        "password",
        username=USERNAME,
        password=options.pop("password", USER_PASSWORD),
        scopes=list(scopes),
        **options,
    )


def resource_status(server, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(server.resource_url, headers=headers, timeout=10).status_code


# --- grants and client authentication ------------------------------------------------------------


@pytest.mark.parametrize(
    "client_auth, client_id, client_secret",
    [
        ("basic", CLIENT_ID, CLIENT_SECRET),
        ("client_secret_post", CLIENT_ID, CLIENT_SECRET),
        # WSO2-style raw Basic agrees with RFC 6749 §2.3.1 for alphanumeric keys only.
        ("basic_raw", PLAIN_CLIENT_ID, PLAIN_CLIENT_SECRET),
    ],
)
def test_password_grant_gives_a_working_token_with_each_client_auth_style(
    oauth_server, client_auth, client_id, client_secret
):
    response = password_token(
        oauth_server,
        scopes=["read", "write"],
        client_auth=client_auth,
        client_id=client_id,
        client_secret=client_secret,
    )
    assert response.token_type.lower() == "bearer"
    assert sorted(response.scopes) == ["read", "write"]
    assert response.expires_in == 3600
    assert response.refresh_token
    assert oauth_server.is_active(response.access_token)
    assert oauth_server.is_active(response.refresh_token)
    assert resource_status(oauth_server, response.access_token) == 200
    sent = oauth_server.requests_to("/token")[-1]
    if client_auth == "client_secret_post":
        assert "Authorization" not in sent.headers
        assert sent.form["client_id"] == client_id
    else:
        assert sent.headers["Authorization"].startswith("Basic ")
        assert "client_secret" not in sent.form


def test_client_credentials_grant_gives_an_application_token_without_refresh_token(
    oauth_server,
):
    response = call(oauth_server, "client_credentials", scopes=["read"])
    assert response.refresh_token is None
    assert response.scopes == ["read"]
    assert oauth_server.token_record(response.access_token).user is None
    assert resource_status(oauth_server, response.access_token) == 200


def test_a_request_without_scopes_gets_the_servers_default_scope(oauth_server):
    response = password_token(oauth_server, scopes=[])
    assert response.scopes == ["default"]
    assert "scope" not in oauth_server.requests_to("/token")[-1].form


# --- refresh -------------------------------------------------------------------------------------


def test_refresh_with_rotation_returns_a_new_refresh_token_and_the_old_one_dies(oauth_server):
    first = password_token(oauth_server)
    second = call(oauth_server, "refresh", refresh_token=first.refresh_token)
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.scopes == ["read"]
    assert oauth_server.is_active(second.refresh_token)
    assert not oauth_server.is_active(first.refresh_token)
    assert resource_status(oauth_server, second.access_token) == 200
    with pytest.raises(TokenApiError) as caught:
        call(oauth_server, "refresh", refresh_token=first.refresh_token)
    assert caught.value.kind == "invalid_grant"
    assert caught.value.status == 400


def test_refresh_without_rotation_repeating_the_same_refresh_token(oauth_server):
    oauth_server.configure(refresh_tokens="reuse")
    first = password_token(oauth_server)
    second = call(oauth_server, "refresh", refresh_token=first.refresh_token)
    third = call(oauth_server, "refresh", refresh_token=second.refresh_token)
    assert first.refresh_token == second.refresh_token == third.refresh_token
    assert oauth_server.is_active(third.refresh_token)
    assert resource_status(oauth_server, third.access_token) == 200


def test_refresh_without_rotation_omitting_the_refresh_token(oauth_server):
    oauth_server.configure(refresh_tokens="omit")
    first = password_token(oauth_server)
    second = call(oauth_server, "refresh", refresh_token=first.refresh_token)
    # RFC 6749 §6: no new refresh token issued - the client keeps using the one it has.
    assert second.refresh_token in (None, first.refresh_token)
    assert oauth_server.is_active(first.refresh_token)
    assert resource_status(oauth_server, second.access_token) == 200
    third = call(oauth_server, "refresh", refresh_token=first.refresh_token)
    assert resource_status(oauth_server, third.access_token) == 200


# --- revocation ----------------------------------------------------------------------------------


def test_revoking_the_access_token_makes_it_inactive(oauth_server):
    response = password_token(oauth_server)
    result = call(
        oauth_server, "revoke", token=response.access_token, token_type_hint="access_token"
    )
    assert result.accepted is True
    # A conforming server sends no WSO2 Revoked* headers: nothing is claimed either way.
    assert result.revoked_access_token is None
    assert result.revoked_refresh_token is None
    assert not oauth_server.is_active(response.access_token)
    assert resource_status(oauth_server, response.access_token) == 401


def test_revoking_the_refresh_token_takes_its_access_token_along(oauth_server):
    response = password_token(oauth_server)
    result = call(
        oauth_server, "revoke", token=response.refresh_token, token_type_hint="refresh_token"
    )
    assert result.accepted is True
    assert not oauth_server.is_active(response.refresh_token)
    assert not oauth_server.is_active(response.access_token)
    assert resource_status(oauth_server, response.access_token) == 401
    sent = oauth_server.requests_to("/revoke")[-1].form
    assert sent == {"token": response.refresh_token, "token_type_hint": "refresh_token"}


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "text/plain", "text/html; charset=utf-8"],
)
def test_an_empty_200_revocation_answer_is_a_revocation_whatever_its_content_type(
    oauth_server, content_type
):
    # RFC 7009 §2.2: the server answers 200 and the content of the body is ignored by the
    # client; a real server sent its empty answer as text/html.
    oauth_server.configure(revoke_content_type=content_type)
    response = password_token(oauth_server)
    result = call(
        oauth_server, "revoke", token=response.refresh_token, token_type_hint="refresh_token"
    )
    assert result.accepted is True
    assert not oauth_server.is_active(response.access_token)


def test_revoking_an_unknown_token_is_accepted(oauth_server):
    assert call(oauth_server, "revoke", token="never-issued").accepted is True


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_auth", ["basic", "client_secret_post"])
def test_a_wrong_consumer_secret_is_invalid_client(oauth_server, client_auth):
    with pytest.raises(TokenApiError) as caught:
        password_token(oauth_server, client_auth=client_auth, client_secret="wrong")
    assert caught.value.kind == "invalid_client"
    assert caught.value.status == 401
    assert oauth_server.active_tokens() == []


def test_raw_basic_auth_with_special_characters_is_invalid_client_at_a_conforming_server(
    oauth_server,
):
    # The id and secret contain characters RFC 6749 §2.3.1 form-encodes: only "basic" sends
    # what this server expects. The portal must report the refusal as the keys' fault.
    with pytest.raises(TokenApiError) as caught:
        password_token(oauth_server, client_auth="basic_raw")
    assert caught.value.kind == "invalid_client"


def test_a_wrong_password_is_invalid_grant(oauth_server):
    with pytest.raises(TokenApiError) as caught:
        password_token(oauth_server, password="wrong")
    assert caught.value.kind == "invalid_grant"
    assert caught.value.status == 400
    assert "password" in caught.value.message


def test_an_unknown_scope_is_invalid_scope(oauth_server):
    with pytest.raises(TokenApiError) as caught:
        password_token(oauth_server, scopes=["read", "admin"])
    assert caught.value.kind == "invalid_scope"
    assert caught.value.status == 400
    assert oauth_server.active_tokens() == []


def test_a_disabled_grant_is_unsupported_grant_type(oauth_server):
    oauth_server.configure(grants={"password", "refresh_token"})
    with pytest.raises(TokenApiError) as caught:
        call(oauth_server, "client_credentials", scopes=[])
    assert caught.value.kind == "unsupported_grant_type"


def test_no_secret_reaches_the_error_text(oauth_server):
    with pytest.raises(TokenApiError) as caught:
        password_token(oauth_server, password="wrong " + USER_PASSWORD)
    text = f"{caught.value} {caught.value!r} {caught.value.detail}"
    for secret in (CLIENT_SECRET, USER_PASSWORD):
        assert secret not in text


# --- answers without expires_in; token formats ---------------------------------------------------


def test_a_token_answer_without_expires_in_is_accepted(oauth_server):
    # RFC 6749 §5.1: expires_in is RECOMMENDED, not REQUIRED. The lifetime is then unknown:
    # the client must not invent one.
    oauth_server.configure(send_expires_in=False)
    response = password_token(oauth_server)
    assert response.expires_in is None
    assert oauth_server.is_active(response.access_token)


def test_opaque_access_tokens_have_no_claims(oauth_server):
    response = password_token(oauth_server)
    assert response.jwt_claims is None


@pytest.mark.parametrize("oauth_server", [{"token_format": "jwt"}], indirect=True, ids=["jwt"])
def test_jwt_access_tokens_are_read_for_display(oauth_server):
    response = password_token(oauth_server, scopes=["read"])
    assert response.jwt_claims["sub"] == USERNAME
    assert response.jwt_claims["scope"] == "read"
    assert response.jwt_claims["client_id"] == CLIENT_ID
    assert resource_status(oauth_server, response.access_token) == 200
    refreshed = call(oauth_server, "refresh", refresh_token=response.refresh_token)
    assert refreshed.jwt_claims["jti"] != response.jwt_claims["jti"]
