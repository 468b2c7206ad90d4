"""Every case of the contract's error table (docs/token-api.md) and every malformed answer
becomes the right ``TokenApiError`` kind with the right message - and no secret reaches an
exception's text or the log."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from email.utils import format_datetime

import pytest
from django.views.debug import ExceptionReporter

from portal.gateway import client, errors
from portal.gateway.client import TokenApiError

from .support import (
    KEY,
    OK_BODY,
    PASSWORD,
    REFRESH,
    SECRET,
    SECRETS,
    assert_no_secret,
    cc_call,
    credentials,
    password_call,
    refresh_call,
    revoke_call,
)

# --- The contract's error table ------------------------------------------------------------------

ERROR_CASES = [
    # (status, body, headers, call, kind, words in the message)
    (
        401,
        {"error": "invalid_client", "error_description": "Client credentials are invalid."},
        {"WWW-Authenticate": "Basic"},
        password_call,
        "invalid_client",
        "consumer key or secret",
    ),
    (
        401,
        {"error": "invalid_client", "error_description": "Application is inactive"},
        {},
        cc_call,
        "invalid_client",
        "ask the team owner",
    ),
    (
        400,
        {"error": "invalid_grant", "error_description": "Authentication failed for john"},
        {},
        password_call,
        "invalid_grant",
        "username or password",
    ),
    (
        400,
        {"error": "invalid_grant", "error_description": "Persisted access token data not found"},
        {},
        refresh_call,
        "invalid_grant",
        "generate a new token",
    ),
    (
        400,
        {"error": "invalid_scope", "error_description": "Invalid scope"},
        {},
        refresh_call,
        "invalid_scope",
        "scopes",
    ),
    (
        400,
        {"error": "unauthorized_client", "error_description": "grant type not allowed"},
        {},
        cc_call,
        "unauthorized_client",
        "client-credentials grant",
    ),
    (
        400,
        {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"},
        {},
        password_call,
        "unsupported_grant_type",
        "password grant",
    ),
    (
        400,
        {"error": "invalid_request", "error_description": "Missing parameters"},
        {},
        password_call,
        "invalid_request",
        "malformed",
    ),
]


@pytest.mark.parametrize(
    ("status", "body", "headers", "call", "kind", "words"),
    ERROR_CASES,
    ids=[f"{c[4]}-{c[3].__name__}" for c in ERROR_CASES],
)
def test_each_oauth_error_of_the_contract_maps_to_its_kind(
    httpserver, gateway, caplog, status, body, headers, call, kind, words
):
    httpserver.expect_request("/token").respond_with_json(body, status=status, headers=headers)
    caplog.set_level(logging.INFO, logger="portal.gateway.client")

    with pytest.raises(TokenApiError) as caught:
        call(gateway)

    exc = caught.value
    assert exc.kind == kind
    assert exc.status == status
    assert words in exc.message
    assert exc.detail == body["error_description"]
    assert_no_secret(exc, caplog)


def test_kind_follows_error_never_error_description(httpserver, gateway):
    body = {"error": "invalid_grant", "error_description": "invalid_client: Client invalid"}
    httpserver.expect_request("/token").respond_with_json(body, status=400)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "invalid_grant"


def test_401_without_an_oauth_body_is_invalid_client(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data(
        "<html>Unauthorized</html>", status=401, content_type="text/html"
    )

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "invalid_client"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_gateway_trouble_with_an_html_page_is_unavailable(httpserver, gateway, status):
    httpserver.expect_request("/token").respond_with_data(
        "<html><body>Bad Gateway</body></html>", status=status, content_type="text/html"
    )

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "unavailable"
    assert caught.value.status == status
    assert "Try again" in caught.value.message


def test_503_with_retry_after_is_rate_limited_with_the_delay(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data(
        "busy", status=503, headers={"Retry-After": "120"}
    )

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after == 120
    assert "120 seconds" in caught.value.message


def test_retry_after_as_an_http_date_is_converted_to_seconds(httpserver, gateway):
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
    httpserver.expect_request("/revoke").respond_with_data(
        "", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )

    with pytest.raises(TokenApiError) as caught:
        revoke_call(gateway)

    assert caught.value.kind == "rate_limited"
    assert 80 <= caught.value.retry_after <= 90


def test_429_is_rate_limited_even_without_retry_after(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_json({"error": "throttled"}, status=429)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after is None


def test_an_unexpected_4xx_is_a_bad_response(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data("Not Found", status=404)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert caught.value.status == 404


def test_redirects_are_not_followed(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_json(OK_BODY)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "redirect" in caught.value.detail
    assert [entry[0].path for entry in httpserver.log] == ["/token"]


def test_every_kind_has_a_message_for_any_call():
    for kind in errors.KINDS:
        for grant in ("password", "refresh_token", "client_credentials", "revoke", ""):
            message = TokenApiError(kind, grant=grant, status=502, retry_after=5).message
            assert message and "{" not in message


@pytest.mark.parametrize(
    ("kind", "grant", "words"),
    [
        ("invalid_grant", "password", "username or password"),
        ("invalid_grant", "refresh_token", "generate a new token"),
        ("invalid_grant", "client_credentials", "check the application in the API Store"),
        ("invalid_scope", "refresh_token", "scopes of the original token"),
        ("invalid_scope", "password", "Request fewer or other scopes"),
        ("unauthorized_client", "revoke", "the revocation grant"),
    ],
)
def test_a_grant_may_have_its_own_message_and_falls_back_to_the_kinds(kind, grant, words):
    assert words in TokenApiError(kind, grant=grant).message


def test_messages_fill_in_the_delay_and_the_http_status():
    assert errors.user_message("rate_limited", retry_after=30).endswith("Try again in 30 seconds.")
    assert "in a little while" in errors.user_message("rate_limited")
    assert "(HTTP 502)" in errors.user_message("unavailable", status=502)
    assert "(HTTP" not in errors.user_message("unavailable")


def test_an_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        TokenApiError("teapot")


# --- Malformed success answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Service temporarily down</body></html>", "text/html"),
        ("access_token=abc&expires_in=3600", "text/plain"),
        ('["a", "list"]', "application/json"),
        ("", "application/json"),
    ],
    ids=["html", "not-json", "json-list", "empty"],
)
def test_200_that_is_not_a_json_object_is_a_bad_response(httpserver, gateway, body, content_type):
    httpserver.expect_request("/token").respond_with_data(body, content_type=content_type)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert caught.value.status == 200


def test_200_json_without_access_token_is_a_bad_response(httpserver, gateway):
    body = {k: v for k, v in OK_BODY.items() if k != "access_token"}
    httpserver.expect_request("/token").respond_with_json(body)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "access_token" in caught.value.detail


@pytest.mark.parametrize(
    "expires_in",
    [-1, "3600", None, 12.5, True, "soon"],
    ids=["negative", "string", "null", "fraction", "bool", "word"],
)
def test_bad_expires_in_is_a_bad_response(httpserver, gateway, expires_in):
    body = dict(OK_BODY, expires_in=expires_in)
    httpserver.expect_request("/token").respond_with_json(body)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "expires_in" in caught.value.detail


# --- No secrets anywhere; one log line -----------------------------------------------------------


def test_an_error_description_echoing_a_secret_is_not_kept(httpserver, gateway, caplog):
    body = {"error": "invalid_grant", "error_description": f"Authentication failed: {PASSWORD}"}
    httpserver.expect_request("/token").respond_with_json(body, status=400)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.detail == ""
    assert_no_secret(caught.value, caplog)


def test_error_detail_is_sanitized_and_length_limited(httpserver, gateway):
    body = {"error": "invalid_scope", "error_description": "bad\r\nscope\x00" + "y" * 1000}
    httpserver.expect_request("/token").respond_with_json(body, status=400)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    detail = caught.value.detail
    assert len(detail) <= errors.MAX_DETAIL_CHARS
    assert "\n" not in detail and "\x00" not in detail
    assert detail.startswith("bad scope")


def test_each_call_logs_one_info_line_without_secrets(httpserver, gateway, caplog):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)
    caplog.set_level(logging.DEBUG)

    password_call(gateway)

    lines = [r for r in caplog.records if r.name == "portal.gateway.client"]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert lines[0].levelno == logging.INFO
    assert "host=localhost" in message and "grant=password" in message
    assert "status=200" in message and "duration_ms=" in message
    for secret in SECRETS:
        assert secret not in caplog.text
    assert "Basic " not in caplog.text


def test_a_failed_call_logs_its_kind(httpserver, gateway, caplog):
    httpserver.expect_request("/token").respond_with_json({"error": "invalid_client"}, status=401)
    caplog.set_level(logging.INFO, logger="portal.gateway.client")

    with pytest.raises(TokenApiError):
        password_call(gateway)

    (record,) = [r for r in caplog.records if r.name == "portal.gateway.client"]
    assert "status=401" in record.getMessage()
    assert "outcome=invalid_client" in record.getMessage()


def test_token_api_error_text_and_repr_are_only_kind_status_and_message():
    exc = TokenApiError("invalid_client", status=401, detail="Client credentials are invalid.")

    assert str(exc) == exc.message
    assert repr(exc) == "TokenApiError(kind='invalid_client', status=401)"


@pytest.mark.parametrize("header", ["Mon, 1 Jan 10000000000000000000 00:00:00 GMT", "soon", "-5"])
def test_absurd_retry_after_is_ignored_not_a_crash(httpserver, gateway, header):
    httpserver.expect_request("/revoke").respond_with_data(
        "busy", status=503, headers={"Retry-After": header}
    )

    with pytest.raises(TokenApiError) as caught:
        revoke_call(gateway)

    assert caught.value.kind in ("rate_limited", "unavailable")


class ExplodingSession:
    """Fails deep inside the call with an error the client does not expect."""

    def send(self, request, **kwargs):  # the client sends requests it prepared itself
        raise RuntimeError("unexpected")


# Constants inline, so that no frame of the test itself holds a secret in a local variable.
CALLS_WITH_SECRETS = {
    "password": lambda g: client.password_grant(
        credentials(g), username="john", password=PASSWORD, scopes=[]
    ),
    "refresh": lambda g: client.refresh_grant(credentials(g), refresh_token=REFRESH),
    "client_credentials": lambda g: client.client_credentials_grant(credentials(g), scopes=[]),
    "revoke": lambda g: client.revoke(credentials(g), REFRESH, token_type_hint="refresh_token"),
}


@pytest.mark.parametrize("call", CALLS_WITH_SECRETS.values(), ids=CALLS_WITH_SECRETS.keys())
def test_an_error_report_of_a_failed_call_shows_no_secret(monkeypatch, gateway, call):
    monkeypatch.setattr(client, "session", ExplodingSession())

    with pytest.raises(RuntimeError) as caught:
        call(gateway)
    report = ExceptionReporter(None, caught.type, caught.value, caught.tb).get_traceback_html()

    assert "_post" in report  # the report does cover the client's frames
    for secret in SECRETS:
        assert secret not in report
    assert base64.b64encode(f"{KEY}:{SECRET}".encode()).decode() not in report


def test_an_error_report_from_client_authentication_shows_no_secret(gateway):
    gateway.client_auth = "digest"

    with pytest.raises(ValueError) as caught:
        password_call(gateway)
    report = ExceptionReporter(None, caught.type, caught.value, caught.tb).get_traceback_html()

    assert "_client_auth" in report
    for secret in SECRETS:
        assert secret not in report
