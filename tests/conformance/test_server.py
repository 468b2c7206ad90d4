"""The conformance server itself, driven with plain ``requests``: it does what each knob says.

These tests make no use of the portal: they prove the yardstick before the portal is measured
with it (test_portal_client.py, test_portal_flows.py).
"""

import base64
from urllib.parse import quote_plus

import jwt
import pytest
import requests

from tests.conformance.oauth_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    PLAIN_CLIENT_ID,
    PLAIN_CLIENT_SECRET,
    USER_PASSWORD,
    USERNAME,
)


def basic(client_id=CLIENT_ID, secret=CLIENT_SECRET, *, form_encode=True) -> dict:
    """HTTP Basic client authentication; RFC 6749 §2.3.1 form-encodes id and secret first."""
    if form_encode:
        client_id, secret = quote_plus(client_id), quote_plus(secret)
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def post_auth(client_id=CLIENT_ID, secret=CLIENT_SECRET) -> dict:
    return {"client_id": client_id, "client_secret": secret}


def token(server, form: dict, headers=None) -> requests.Response:
    return requests.post(server.token_url, data=form, headers=headers or {}, timeout=10)


def password_form(**extra) -> dict:
    return {"grant_type": "password", "username": USERNAME, "password": USER_PASSWORD, **extra}


def issue(server, **extra) -> dict:
    response = token(server, password_form(**extra), basic())
    assert response.status_code == 200, response.text
    return response.json()


def resource(server, access_token: str) -> requests.Response:
    return requests.get(
        server.resource_url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )


def revoke(server, value: str, hint=None, headers=None) -> requests.Response:
    form = {"token": value, **({"token_type_hint": hint} if hint else {})}
    headers = basic() if headers is None else headers
    return requests.post(server.revoke_url, data=form, headers=headers, timeout=10)


# --- grants and client authentication ------------------------------------------------------------


def test_password_grant_with_basic_auth_issues_a_working_bearer_token(oauth_server):
    response = token(oauth_server, password_form(scope="read write"), basic())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read write"
    assert body["refresh_token"]
    assert oauth_server.is_active(body["access_token"])
    assert oauth_server.is_active(body["refresh_token"])
    answer = resource(oauth_server, body["access_token"])
    assert answer.status_code == 200
    assert answer.json() == {"user": USERNAME, "client_id": CLIENT_ID, "scopes": ["read", "write"]}


def test_client_credentials_with_client_secret_post_has_no_user_and_no_refresh_token(
    oauth_server,
):
    response = token(oauth_server, {"grant_type": "client_credentials", **post_auth()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    assert resource(oauth_server, body["access_token"]).json()["user"] is None
    sent = oauth_server.requests_to("/token")[-1]
    assert "Authorization" not in sent.headers
    assert sent.form["client_secret"] == CLIENT_SECRET


def test_basic_auth_is_form_decoded_so_raw_special_characters_are_refused(oauth_server):
    raw = token(oauth_server, password_form(), basic(form_encode=False))
    assert raw.status_code == 401
    assert raw.json()["error"] == "invalid_client"
    # With an alphanumeric key and secret the raw and the form-encoded styles agree.
    plain = basic(PLAIN_CLIENT_ID, PLAIN_CLIENT_SECRET, form_encode=False)
    assert token(oauth_server, password_form(), plain).status_code == 200


@pytest.mark.parametrize(
    "headers, form",
    [
        (basic(secret="wrong"), {}),
        ({}, post_auth(secret="wrong")),
        ({}, {}),
        (basic(), post_auth()),  # two authentication methods at once (RFC 6749 §2.3)
    ],
    ids=["basic-wrong-secret", "post-wrong-secret", "no-authentication", "two-methods"],
)
def test_bad_client_authentication_is_401_invalid_client(oauth_server, headers, form):
    response = token(oauth_server, password_form(**form), headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_a_disabled_client_authentication_method_is_401(oauth_server):
    oauth_server.configure(client_auth_methods={"client_secret_basic"})
    response = token(oauth_server, {"grant_type": "client_credentials", **post_auth()})
    assert response.status_code == 401
    assert token(oauth_server, {"grant_type": "client_credentials"}, basic()).status_code == 200


def test_wrong_password_is_400_invalid_grant(oauth_server):
    response = token(oauth_server, password_form(password="wrong"), basic())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert oauth_server.active_tokens() == []


@pytest.mark.parametrize("grant", ["password", "client_credentials", "refresh_token"])
def test_a_disabled_grant_is_400_unsupported_grant_type(oauth_server, grant):
    refresh_token = issue(oauth_server)["refresh_token"]
    oauth_server.configure(grants={"password", "client_credentials", "refresh_token"} - {grant})
    form = {
        "password": password_form(),
        "client_credentials": {"grant_type": "client_credentials"},
        "refresh_token": {"grant_type": "refresh_token", "refresh_token": refresh_token},
    }[grant]
    response = token(oauth_server, form, basic())
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_an_unknown_grant_is_400_unsupported_grant_type(oauth_server):
    response = token(oauth_server, {"grant_type": "urn:example:magic"}, basic())
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_the_authorization_code_grant_is_refused(oauth_server):
    form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": "http://a.test/"}
    response = token(oauth_server, form, basic())
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


# --- scopes --------------------------------------------------------------------------------------


def test_an_unknown_scope_is_refused_with_invalid_scope_not_dropped(oauth_server):
    response = token(oauth_server, password_form(scope="read admin"), basic())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert oauth_server.active_tokens() == []


def test_a_request_without_scope_gets_the_default_scope(oauth_server):
    body = issue(oauth_server)
    assert body["scope"] == "default"
    assert oauth_server.token_record(body["access_token"]).scopes == ("default",)


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(oauth_server):
    refresh_token = issue(oauth_server, scope="read write")["refresh_token"]
    oauth_server.configure(refresh_tokens="reuse")
    wider = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": "default"}
    response = token(oauth_server, wider, basic())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    narrower = {**wider, "scope": "read"}
    assert token(oauth_server, narrower, basic()).json()["scope"] == "read"


# --- refresh tokens ------------------------------------------------------------------------------


def refresh(server, refresh_token: str) -> requests.Response:
    return token(server, {"grant_type": "refresh_token", "refresh_token": refresh_token}, basic())


def test_rotating_refresh_tokens_replace_the_old_one(oauth_server):
    first = issue(oauth_server, scope="read")
    response = refresh(oauth_server, first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == "read"
    assert not oauth_server.is_active(first["refresh_token"])
    assert oauth_server.is_active(second["refresh_token"])
    again = refresh(oauth_server, first["refresh_token"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_reused_refresh_tokens_come_back_unchanged_and_keep_working(oauth_server):
    oauth_server.configure(refresh_tokens="reuse")
    first = issue(oauth_server)
    for _ in range(2):
        answer = refresh(oauth_server, first["refresh_token"])
        assert answer.status_code == 200
        assert answer.json()["refresh_token"] == first["refresh_token"]
    assert oauth_server.is_active(first["refresh_token"])


def test_omitted_refresh_tokens_leave_the_old_one_working(oauth_server):
    oauth_server.configure(refresh_tokens="omit")
    first = issue(oauth_server)
    answer = refresh(oauth_server, first["refresh_token"])
    assert answer.status_code == 200
    assert "refresh_token" not in answer.json()
    assert oauth_server.is_active(first["refresh_token"])
    assert refresh(oauth_server, first["refresh_token"]).status_code == 200
    # The new access token belongs to the same grant as the refresh token it came from.
    new = oauth_server.token_record(answer.json()["access_token"])
    assert new.refresh_token == first["refresh_token"]


# --- token formats and expires_in ----------------------------------------------------------------


def test_opaque_tokens_are_not_jwts(oauth_server):
    access_token = issue(oauth_server)["access_token"]
    assert access_token.count(".") == 0
    assert access_token.isalnum()


def test_jwt_access_tokens_are_signed_and_carry_the_usual_claims(oauth_server):
    oauth_server.configure(token_format="jwt")
    body = issue(oauth_server, scope="read")
    claims = jwt.decode(body["access_token"], oauth_server.jwt_public_key, algorithms=["RS256"])
    assert claims["sub"] == USERNAME
    assert claims["scope"] == "read"
    assert claims["client_id"] == CLIENT_ID
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]
    assert body["refresh_token"].count(".") == 0  # refresh tokens stay opaque
    assert resource(oauth_server, body["access_token"]).status_code == 200


def test_expires_in_can_be_left_out_while_the_token_still_expires(oauth_server):
    oauth_server.configure(send_expires_in=False, expires_in=120)
    body = issue(oauth_server)
    assert "expires_in" not in body
    record = oauth_server.token_record(body["access_token"])
    assert record.expires_at - record.issued_at == 120


def test_a_token_is_inactive_from_its_expiry_on(oauth_server):
    oauth_server.configure(expires_in=1)
    access_token = issue(oauth_server)["access_token"]
    record = oauth_server.token_record(access_token)
    assert not record.is_active(now=record.expires_at)


# --- revocation (RFC 7009) -----------------------------------------------------------------------


def test_revoking_an_access_token_answers_an_empty_200_and_the_token_stops_working(oauth_server):
    body = issue(oauth_server)
    response = revoke(oauth_server, body["access_token"], "access_token")
    assert response.status_code == 200
    assert response.content == b""
    assert "Content-Type" not in response.headers  # oauthlib's own answer
    assert not oauth_server.is_active(body["access_token"])
    assert resource(oauth_server, body["access_token"]).status_code == 401
    # Revoking an access token leaves its refresh token alone.
    assert oauth_server.is_active(body["refresh_token"])


def test_revoking_a_refresh_token_revokes_the_access_tokens_of_its_grant(oauth_server):
    first = issue(oauth_server)
    second = refresh(oauth_server, first["refresh_token"]).json()
    other = issue(oauth_server)  # another grant: untouched
    assert revoke(oauth_server, second["refresh_token"], "refresh_token").status_code == 200
    for value in (first["access_token"], second["access_token"], second["refresh_token"]):
        assert not oauth_server.is_active(value)
    assert resource(oauth_server, second["access_token"]).status_code == 401
    assert oauth_server.is_active(other["access_token"])


@pytest.mark.parametrize(
    "oauth_server",
    [{"revoke_content_type": "text/html; charset=utf-8"}, {"revoke_content_type": "text/plain"}],
    indirect=True,
    ids=["text-html", "text-plain"],
)
def test_the_empty_revocation_answer_can_carry_any_content_type(oauth_server):
    body = issue(oauth_server)
    response = revoke(oauth_server, body["refresh_token"])
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["Content-Type"] == oauth_server.config.revoke_content_type
    assert not oauth_server.is_active(body["access_token"])


def test_revoking_an_unknown_or_foreign_token_is_still_200(oauth_server):
    assert revoke(oauth_server, "never-issued").status_code == 200
    mine = issue(oauth_server)["access_token"]
    plain = basic(PLAIN_CLIENT_ID, PLAIN_CLIENT_SECRET)
    assert revoke(oauth_server, mine, headers=plain).status_code == 200
    assert oauth_server.is_active(mine)  # another client cannot revoke it


def test_revocation_needs_client_authentication(oauth_server):
    access_token = issue(oauth_server)["access_token"]
    response = revoke(oauth_server, access_token, headers=basic(secret="wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert oauth_server.is_active(access_token)


# --- introspection (RFC 7662) and the protected resource -----------------------------------------


def introspect(server, value: str, headers=None) -> requests.Response:
    headers = basic() if headers is None else headers
    return requests.post(server.introspect_url, data={"token": value}, headers=headers, timeout=10)


def test_introspection_tells_active_from_revoked(oauth_server):
    body = issue(oauth_server, scope="read")
    answer = introspect(oauth_server, body["access_token"]).json()
    assert answer["active"] is True
    assert answer["scope"] == "read"
    assert answer["username"] == USERNAME
    assert answer["client_id"] == CLIENT_ID
    assert introspect(oauth_server, body["refresh_token"]).json()["active"] is True
    revoke(oauth_server, body["refresh_token"])
    assert introspect(oauth_server, body["access_token"]).json() == {"active": False}
    assert introspect(oauth_server, "never-issued").json() == {"active": False}


def test_introspection_needs_client_authentication(oauth_server):
    access_token = issue(oauth_server)["access_token"]
    assert introspect(oauth_server, access_token, headers={}).status_code == 401


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic Zm9vOmJhcg=="])
def test_the_resource_refuses_requests_without_a_valid_bearer_token(oauth_server, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(oauth_server.resource_url, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_reconfiguring_keeps_issued_tokens(oauth_server):
    access_token = issue(oauth_server)["access_token"]
    oauth_server.configure(token_format="jwt", refresh_tokens="omit")
    assert resource(oauth_server, access_token).status_code == 200
