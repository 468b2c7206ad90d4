"""RFC 7009 revocation against a local server: what counts as a revocation and what is
recorded of it."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from werkzeug.wrappers import Response

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


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=utf-8", "text/html", "application/json", "text/plain", None],
)
@pytest.mark.parametrize("body", ["", "\r\n"], ids=["empty", "blank-line"])
def test_an_empty_200_is_a_revocation_whatever_its_content_type(
    httpserver, gateway, content_type, body
):
    # RFC 7009 §2.2: the body of a successful revocation is empty; conforming servers label it
    # with any content type (Django's default is text/html).
    headers = {"Content-Type": content_type} if content_type else {}
    httpserver.expect_request("/revoke").respond_with_response(
        Response(body, status=200, headers=headers)
    )

    result = revoke_call(gateway, token=ACCESS, hint=None)

    assert result.accepted is True
    assert result.revoked_access_token is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<!DOCTYPE html><html><body>Bad gateway</body></html>", "text/plain"),
        ("Service Unavailable", "text/plain"),
        ("Service Unavailable", "text/html; charset=utf-8"),
        ('{"error": "invalid_request"}', "application/json"),
        ('["revoked"]', "application/json"),
        ("<result>ok</result>", "application/xml"),
    ],
    ids=["html-as-text", "plain-text", "text-as-html", "json-error", "json-list", "xml"],
)
def test_a_non_empty_200_that_is_not_a_revocation_answer_is_a_bad_response(
    httpserver, gateway, body, content_type
):
    httpserver.expect_request("/revoke").respond_with_data(
        body, status=200, content_type=content_type
    )

    with pytest.raises(TokenApiError) as caught:
        revoke_call(gateway, token=ACCESS, hint=None)

    assert caught.value.kind == "bad_response"
    assert caught.value.status == 200


def test_revoked_headers_are_recorded_with_an_html_labelled_empty_body(httpserver, gateway):
    httpserver.expect_request("/revoke").respond_with_data(
        "", status=200, content_type="text/html", headers={"RevokedRefreshToken": REFRESH}
    )

    assert revoke_call(gateway).revoked_refresh_token == REFRESH


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
