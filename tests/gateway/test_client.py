"""The Token API client against a real local HTTP server (pytest-httpserver): successful calls,
what is sent (form, scopes, the three client-authentication styles), the credentials object
and the pooled session."""

from __future__ import annotations

import base64
import threading
from urllib.parse import parse_qs

import pytest
import requests
from django.test import override_settings

from portal.gateway import client
from portal.gateway.client import ClientCredentials, TokenApiError, TokenResponse

from .support import (
    ACCESS,
    KEY,
    OK_BODY,
    PASSWORD,
    REFRESH,
    SECRET,
    FakeGateway,
    cc_call,
    closed_port,
    jwt,
    password_call,
    received,
    refresh_call,
)

# --- Success -----------------------------------------------------------------------------------


def test_password_grant_returns_a_typed_token_response(httpserver, gateway):
    httpserver.expect_request("/token", method="POST").respond_with_json(OK_BODY)

    token = password_call(gateway, scopes=["default", "read"])

    assert isinstance(token, TokenResponse)
    assert token.access_token == ACCESS
    assert token.refresh_token == REFRESH
    assert token.token_type == "Bearer"
    assert token.expires_in == 3600
    assert token.scopes == ["default", "read"]
    assert token.id_token is None
    assert token.jwt_claims is None  # opaque token
    form = parse_qs(received(httpserver).get_data(as_text=True))
    assert form["grant_type"] == ["password"]
    assert form["username"] == ["john@johns.org@johnsorg"]
    assert form["password"] == [PASSWORD]


def test_token_response_repr_never_shows_tokens(httpserver, gateway):
    body = dict(OK_BODY, id_token=jwt({"sub": "x"}))
    httpserver.expect_request("/token").respond_with_json(body)

    text = repr(password_call(gateway))

    assert ACCESS not in text and REFRESH not in text and body["id_token"] not in text
    assert "expires_in=3600" in text


def test_granted_scopes_are_what_the_gateway_said_not_what_was_asked(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, scope="default"))

    token = password_call(gateway, scopes=["read", "admin"])

    assert token.scopes == ["default"]


def test_missing_scope_in_answer_means_the_requested_scopes(httpserver, gateway):
    body = {k: v for k, v in OK_BODY.items() if k != "scope"}
    httpserver.expect_request("/token").respond_with_json(body)

    assert password_call(gateway, scopes=["read", "write"]).scopes == ["read", "write"]


def test_a_token_answer_without_expires_in_is_accepted_with_no_lifetime(httpserver, gateway):
    # RFC 6749 §5.1: expires_in is RECOMMENDED, not REQUIRED.
    body = {k: v for k, v in OK_BODY.items() if k != "expires_in"}
    httpserver.expect_request("/token").respond_with_json(body)

    token = password_call(gateway)

    assert token.expires_in is None
    assert token.access_token == ACCESS


def test_an_integral_float_expires_in_is_read_as_seconds(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, expires_in=3600.0))

    assert password_call(gateway).expires_in == 3600


def test_jwt_access_token_claims_are_decoded_for_display(httpserver, gateway):
    claims = {"sub": "john@johns.org@johnsorg", "scope": "read", "exp": 2000000000, "jti": "j1"}
    access = jwt(claims)
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, access_token=access))

    token = password_call(gateway)

    assert token.jwt_claims == claims
    assert access not in repr(token)


def test_id_token_is_returned_when_present(httpserver, gateway):
    id_token = jwt({"sub": "john"})
    httpserver.expect_request("/token").respond_with_json(dict(OK_BODY, id_token=id_token))

    assert password_call(gateway, scopes=["openid"]).id_token == id_token


def test_client_credentials_grant_has_no_refresh_token(httpserver, gateway):
    body = {k: v for k, v in OK_BODY.items() if k != "refresh_token"}
    httpserver.expect_request("/token").respond_with_json(body)

    token = cc_call(gateway)

    assert token.refresh_token is None
    form = parse_qs(received(httpserver).get_data(as_text=True))
    assert form == {"grant_type": ["client_credentials"], "scope": ["read"]}


def test_refresh_grant_sends_the_refresh_token_and_no_scope_unless_asked(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)

    refresh_call(gateway)

    form = parse_qs(received(httpserver).get_data(as_text=True))
    assert form == {"grant_type": ["refresh_token"], "refresh_token": [REFRESH]}


def test_credentials_repr_names_the_gateway_and_hides_key_and_secret(gateway):
    credentials = ClientCredentials(gateway, KEY, SECRET)

    for text in (repr(credentials), str(credentials), f"{credentials!r}"):
        assert KEY not in text and SECRET not in text
    assert "localhost" in repr(credentials)


# --- Scope formatting ----------------------------------------------------------------------------


def test_scopes_are_joined_with_single_spaces(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)

    password_call(gateway, scopes=["read", "update", "openid"])

    body = received(httpserver).get_data(as_text=True)
    assert "scope=read+update+openid" in body
    assert parse_qs(body)["scope"] == ["read update openid"]


def test_empty_scopes_are_omitted(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)

    password_call(gateway, scopes=[])

    assert "scope" not in parse_qs(received(httpserver).get_data(as_text=True))


def test_refresh_with_scopes_sends_them(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)

    refresh_call(gateway, scopes=["read"])

    assert parse_qs(received(httpserver).get_data(as_text=True))["scope"] == ["read"]


# --- Client authentication styles ----------------------------------------------------------------


def test_basic_style_form_encodes_key_and_secret_before_base64(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)
    gateway.client_auth = "basic"

    password_call(gateway)

    request = received(httpserver)
    expected = base64.b64encode(b"wU62Dj%2By:p%2Bq%3Ar%25s+t").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in request.get_data(as_text=True)


def test_basic_raw_style_encodes_the_raw_pair(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)
    gateway.client_auth = "basic_raw"

    password_call(gateway)

    expected = base64.b64encode(b"wU62Dj+y:p+q:r%s t").decode()
    assert received(httpserver).headers["Authorization"] == f"Basic {expected}"


def test_client_secret_post_puts_key_and_secret_in_the_body(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)
    gateway.client_auth = "client_secret_post"

    password_call(gateway)

    request = received(httpserver)
    assert "Authorization" not in request.headers
    body = request.get_data(as_text=True)
    assert "client_id=wU62Dj%2By" in body
    assert "client_secret=p%2Bq%3Ar%25s+t" in body
    form = parse_qs(body)
    assert form["client_id"] == [KEY] and form["client_secret"] == [SECRET]


def test_requests_are_form_encoded_and_ask_for_json(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)

    password_call(gateway)

    headers = received(httpserver).headers
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Accept"] == "application/json"


def test_the_body_is_the_form_as_requests_encodes_one_and_the_client_names_itself(
    httpserver, gateway
):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)
    gateway.client_auth = "client_secret_post"
    username, password = "zoë+1@example.org", "p&w=d ü%/?#"

    client.password_grant(
        ClientCredentials(gateway, KEY, SECRET),
        username=username,
        password=password,
        scopes=["read", "wr/ite"],
    )

    form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
        ("scope", "read wr/ite"),
        ("client_id", KEY),
        ("client_secret", SECRET),
    ]
    expected = requests.Request("POST", "http://gateway.invalid/", data=form).prepare()
    request = received(httpserver)
    assert request.get_data() == expected.body.encode()
    assert request.headers["Content-Length"] == str(len(expected.body))
    assert request.headers["User-Agent"] == "token-portal"


def test_unknown_client_auth_style_is_refused_before_any_call(httpserver, gateway):
    gateway.client_auth = "digest"

    with pytest.raises(ValueError):
        password_call(gateway)
    assert httpserver.log == []


# --- The session ---------------------------------------------------------------------------------


def test_nothing_is_retried(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data("oops", status=502)

    with pytest.raises(TokenApiError):
        password_call(gateway)

    assert len(httpserver.log) == 1


def test_gateway_cookies_are_never_sent_back(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json(
        OK_BODY, headers={"Set-Cookie": "gw=session-of-user-a; Path=/"}
    )

    password_call(gateway)
    password_call(gateway)

    assert all("Cookie" not in entry[0].headers for entry in httpserver.log)


def test_proxy_settings_from_the_environment_are_ignored(httpserver, gateway, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setattr(client, "session", None)  # a fresh session reads the environment now
    httpserver.expect_request("/token").respond_with_json(OK_BODY)

    assert password_call(gateway).access_token == ACCESS
    assert client.get_session().trust_env is False


class RecordingSession:
    def __init__(self):
        self.calls = []

    def send(self, request, **kwargs):  # the client sends requests it prepared itself
        self.calls.append((request.url, kwargs))
        raise requests.exceptions.ConnectionError("refused")


@override_settings(PORTAL_TOKEN_CONNECT_TIMEOUT=1.5, PORTAL_TOKEN_TIMEOUT=7.0)
def test_tests_can_replace_the_session_and_every_call_verifies_tls_with_timeouts(monkeypatch):
    fake = RecordingSession()
    monkeypatch.setattr(client, "session", fake)
    gateway = FakeGateway("https://gw.example/token", "https://gw.example/revoke")

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "connection"
    (url, kwargs) = fake.calls[0]
    assert url == "https://gw.example/token"
    assert kwargs["verify"] is True
    assert kwargs["timeout"] == (1.5, 7.0)
    assert kwargs["allow_redirects"] is False
    assert kwargs["stream"] is True


def test_the_session_is_created_once_even_from_many_threads(monkeypatch):
    monkeypatch.setattr(client, "session", None)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(client.get_session())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(s) for s in seen}) == 1
    assert client.session is seen[0]
