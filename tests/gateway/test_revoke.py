"""RFC 7009 revocation against a local server: what counts as a revocation and what is
recorded of it."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from portal.gateway.client import RevokeResult, TokenApiError

from .support import (
    ACCESS,
    REFRESH,
    FakeGateway,
    received,
    revoke_call,
)


def test_revocation_reports_what_the_revoked_headers_said(httpserver, gateway):
    httpserver.expect_request("/revoke", method="POST").respond_with_data(
        "",
        status=200,
        headers={
            "RevokedAccessToken": ACCESS,
            "RevokedRefreshToken": REFRESH,
            "AuthorizedUser": "john@johns.org@johnsorg",
        },
    )

    result = revoke_call(gateway)

    assert result == RevokeResult(
        accepted=True,
        revoked_access_token=ACCESS,
        revoked_refresh_token=REFRESH,
        authorized_user="john@johns.org@johnsorg",
    )
    assert ACCESS not in repr(result) and REFRESH not in repr(result)
    request = received(httpserver)
    assert parse_qs(request.get_data(as_text=True)) == {
        "token": [REFRESH],
        "token_type_hint": ["refresh_token"],
    }
    assert request.headers["Authorization"].startswith("Basic ")


def test_revocation_without_headers_is_plain_acceptance(httpserver, gateway):
    httpserver.expect_request("/revoke").respond_with_data("", status=200)

    result = revoke_call(gateway, token=ACCESS, hint=None)

    assert result.accepted is True
    assert result.revoked_access_token is None
    assert result.revoked_refresh_token is None
    assert result.authorized_user is None
    assert parse_qs(received(httpserver).get_data(as_text=True)) == {"token": [ACCESS]}


def test_revocation_answered_by_an_html_page_is_not_a_revocation(httpserver, gateway):
    httpserver.expect_request("/revoke").respond_with_data(
        "<html><body><h1>Service temporarily unavailable</h1></body></html>",
        status=200,
        content_type="text/html",
    )

    with pytest.raises(TokenApiError) as caught:
        revoke_call(gateway, token=ACCESS, hint=None)

    assert caught.value.kind == "bad_response"


def test_revocation_with_a_json_body_is_still_acceptance(httpserver, gateway):
    httpserver.expect_request("/revoke").respond_with_json({}, status=200)

    assert revoke_call(gateway, token=ACCESS, hint=None).accepted is True


def test_revocation_with_wrong_keys_is_invalid_client(httpserver, gateway):
    httpserver.expect_request("/revoke").respond_with_json(
        {"error": "invalid_client", "error_description": "Client Authentication failed."},
        status=401,
    )

    with pytest.raises(TokenApiError) as caught:
        revoke_call(gateway)

    assert caught.value.kind == "invalid_client"


def test_revocation_needs_a_revoke_url():
    gateway = FakeGateway("http://127.0.0.1:1/token", "")

    with pytest.raises(TokenApiError) as caught:
        revoke_call(gateway)

    assert caught.value.kind == "invalid_request"
    assert "revocation URL" in caught.value.message
