"""RFC 7662 introspection against a local server: whether a token is still active, for gateways
that offer an introspection endpoint."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer

from portal.gateway import client
from portal.gateway.client import IntrospectionResult, TokenApiError

from .support import ACCESS, REFRESH, SECRETS, FakeGateway, assert_no_secret, credentials, received


@pytest.fixture
def gateway(httpserver: HTTPServer) -> FakeGateway:
    return FakeGateway(
        httpserver.url_for("/token"),
        httpserver.url_for("/revoke"),
        introspection_url=httpserver.url_for("/introspect"),
    )


def introspect_call(gateway, token=ACCESS, hint=None):
    return client.introspect(credentials(gateway), token, token_type_hint=hint)


def test_an_active_token_is_reported_with_its_expiry_scope_and_type(httpserver, gateway):
    httpserver.expect_request("/introspect", method="POST").respond_with_json(
        {
            "active": True,
            "exp": 2000000000,
            "scope": "default read",
            "token_type": "Bearer",
            "client_id": "wU62Dj+y",
            "username": "john@johns.org@johnsorg",
        }
    )

    result = introspect_call(gateway, hint="access_token")

    assert result == IntrospectionResult(
        active=True, exp=2000000000, scope="default read", token_type="Bearer"
    )
    assert result.scopes == ["default", "read"]
    request = received(httpserver)
    assert parse_qs(request.get_data(as_text=True)) == {
        "token": [ACCESS],
        "token_type_hint": ["access_token"],
    }
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["Accept"] == "application/json"


def test_only_active_is_required(httpserver, gateway):
    httpserver.expect_request("/introspect").respond_with_json({"active": True})

    result = introspect_call(gateway)

    assert result == IntrospectionResult(active=True)
    assert result.exp is None and result.scope is None and result.token_type is None
    assert result.scopes == []
    assert parse_qs(received(httpserver).get_data(as_text=True)) == {"token": [ACCESS]}


def test_an_inactive_token_says_nothing_more(httpserver, gateway):
    # RFC 7662 §2.2: for an inactive token the other members are not to be relied on.
    httpserver.expect_request("/introspect").respond_with_json(
        {"active": False, "exp": "garbage", "scope": 42}
    )

    assert introspect_call(gateway, token=REFRESH, hint="refresh_token") == IntrospectionResult(
        active=False
    )


def test_bearer_in_any_case_is_recorded_as_bearer(httpserver, gateway):
    httpserver.expect_request("/introspect").respond_with_json(
        {"active": True, "token_type": "bearer", "exp": 2000000000.0}
    )

    result = introspect_call(gateway)

    assert (result.token_type, result.exp) == ("Bearer", 2000000000)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"active": "true"},
        {"active": 1},
        {"active": None},
        {"active": True, "exp": "tomorrow"},
        {"active": True, "exp": -1},
        {"active": True, "exp": True},
        {"active": True, "exp": 1.5},
        {"active": True, "scope": ["read"]},
        {"active": True, "token_type": "Bearer\nX: y"},
        ["active"],
    ],
    ids=[
        "no-active",
        "active-string",
        "active-number",
        "active-null",
        "exp-string",
        "exp-negative",
        "exp-bool",
        "exp-fraction",
        "scope-list",
        "token-type-newline",
        "not-an-object",
    ],
)
def test_an_answer_that_is_not_an_introspection_answer_is_a_bad_response(httpserver, gateway, body):
    httpserver.expect_request("/introspect").respond_with_json(body)

    with pytest.raises(TokenApiError) as caught:
        introspect_call(gateway)

    assert caught.value.kind == "bad_response"
    assert caught.value.grant == "introspect"


def test_an_html_page_is_a_bad_response(httpserver, gateway):
    httpserver.expect_request("/introspect").respond_with_data(
        "<html><body>Service unavailable</body></html>", content_type="text/html"
    )

    with pytest.raises(TokenApiError) as caught:
        introspect_call(gateway)

    assert caught.value.kind == "bad_response"


def test_wrong_client_keys_are_invalid_client(httpserver, gateway, caplog):
    httpserver.expect_request("/introspect").respond_with_json(
        {"error": "invalid_client", "error_description": "Client Authentication failed."},
        status=401,
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(TokenApiError) as caught:
        introspect_call(gateway)

    assert caught.value.kind == "invalid_client"
    assert_no_secret(caught.value, caplog)
    (line,) = [r for r in caplog.records if r.name == "portal.gateway.client"]
    assert "grant=introspect" in line.getMessage()
    assert "outcome=invalid_client" in line.getMessage()


@pytest.mark.parametrize(("status", "kind"), [(503, "unavailable"), (429, "rate_limited")])
def test_gateway_trouble_is_reported_like_the_other_calls(httpserver, gateway, status, kind):
    httpserver.expect_request("/introspect").respond_with_data("busy", status=status)

    with pytest.raises(TokenApiError) as caught:
        introspect_call(gateway)

    assert caught.value.kind == kind


def test_an_error_description_echoing_the_token_is_not_kept(httpserver, gateway, caplog):
    httpserver.expect_request("/introspect").respond_with_json(
        {"error": "invalid_request", "error_description": f"bad token {ACCESS}"}, status=400
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(TokenApiError) as caught:
        introspect_call(gateway)

    assert caught.value.kind == "invalid_request"
    assert caught.value.detail == ""
    for secret in SECRETS:
        assert secret not in caplog.text


@pytest.mark.parametrize("url", ["", None])
def test_introspection_needs_an_introspection_url(httpserver, url):
    gateway = FakeGateway(httpserver.url_for("/token"), "", introspection_url=url)

    with pytest.raises(TokenApiError) as caught:
        introspect_call(gateway)

    assert caught.value.kind == "invalid_request"
    assert "introspection URL" in caught.value.message
    assert httpserver.log == []


def test_a_gateway_without_the_attribute_has_no_introspection(httpserver):
    class OldGateway:
        token_url = httpserver.url_for("/token")
        revoke_url = ""
        client_auth = "basic"
        ca_bundle = ""

    with pytest.raises(TokenApiError) as caught:
        introspect_call(OldGateway())

    assert caught.value.kind == "invalid_request"
