"""The Token API client against a real local HTTP server (pytest-httpserver).

Every case of the contract's error table (wso2-token-api.md), transport failures, malformed
answers, the three client-authentication styles and revocation - and, throughout, that no secret
reaches an exception's text or the log.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.utils import format_datetime
from urllib.parse import parse_qs

import pytest
import requests
from django.test import override_settings
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from portal.tokens import client
from portal.tokens.client import RevokeResult, TokenApiError, TokenResponse

KEY = "wU62Dj+y"
SECRET = "p+q:r%s t"
PASSWORD = "hunter2 secret+pw"
REFRESH = "refresh-token-value-0123456789"
ACCESS = "opaque-access-token-value-987654"
SECRETS = (KEY, SECRET, PASSWORD, REFRESH, ACCESS)

OK_BODY = {
    "access_token": ACCESS,
    "refresh_token": REFRESH,
    "scope": "default read",
    "token_type": "Bearer",
    "expires_in": 3600,
}


@dataclass
class FakeGateway:
    """The duck type the client needs (the real one is vault.Gateway)."""

    token_url: str
    revoke_url: str
    client_auth: str = "basic"
    ca_bundle: str = ""


@pytest.fixture
def gateway(httpserver: HTTPServer) -> FakeGateway:
    return FakeGateway(httpserver.url_for("/token"), httpserver.url_for("/revoke"))


def password_call(gateway, scopes=("read",)):
    return client.password_grant(
        gateway=gateway,
        consumer_key=KEY,
        consumer_secret=SECRET,
        username="john@johns.org@johnsorg",
        password=PASSWORD,
        scopes=list(scopes),
    )


def refresh_call(gateway, scopes=None):
    return client.refresh_grant(
        gateway=gateway,
        consumer_key=KEY,
        consumer_secret=SECRET,
        refresh_token=REFRESH,
        scopes=scopes,
    )


def cc_call(gateway, scopes=("read",)):
    return client.client_credentials_grant(
        gateway=gateway, consumer_key=KEY, consumer_secret=SECRET, scopes=list(scopes)
    )


def revoke_call(gateway, token=REFRESH, hint="refresh_token"):
    return client.revoke(
        gateway=gateway,
        consumer_key=KEY,
        consumer_secret=SECRET,
        token=token,
        token_type_hint=hint,
    )


def received(httpserver: HTTPServer):
    """The one request the server received."""
    assert len(httpserver.log) == 1
    return httpserver.log[0][0]


def assert_no_secret(exc: TokenApiError, caplog=None) -> None:
    texts = [str(exc), repr(exc), exc.message, exc.detail, exc.error_code]
    if caplog is not None:
        texts.append(caplog.text)
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


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


def test_unknown_client_auth_style_is_refused_before_any_call(httpserver, gateway):
    gateway.client_auth = "digest"

    with pytest.raises(ValueError):
        password_call(gateway)
    assert httpserver.log == []


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
    caplog.set_level(logging.INFO, logger="portal.tokens.client")

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
    ["missing", -1, "3600", None, 12.5, True],
    ids=["missing", "negative", "string", "null", "fraction", "bool"],
)
def test_bad_expires_in_is_a_bad_response(httpserver, gateway, expires_in):
    body = dict(OK_BODY)
    if expires_in == "missing":
        del body["expires_in"]
    else:
        body["expires_in"] = expires_in
    httpserver.expect_request("/token").respond_with_json(body)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "expires_in" in caught.value.detail


def test_a_5_mb_body_is_refused(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data(b"x" * (5 * 1024 * 1024))

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "1 MB" in caught.value.detail


def test_a_5_mb_body_without_content_length_is_cut_off_at_1_mb(httpserver, gateway):
    sent = []

    def stream(request):
        def chunks():
            for _ in range(80):
                sent.append(1)
                yield b"x" * 65536

        return Response(chunks(), content_type="application/json")

    httpserver.expect_request("/token").respond_with_handler(stream)

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
    assert "1 MB" in caught.value.detail


# --- Transport failures --------------------------------------------------------------------------


@override_settings(PORTAL_TOKEN_TIMEOUT=0.3)
def test_a_server_slower_than_the_read_timeout_is_a_timeout(httpserver, gateway):
    release = threading.Event()

    def slow(request):
        release.wait(timeout=2.0)
        return Response(json.dumps(OK_BODY), content_type="application/json")

    httpserver.expect_request("/token").respond_with_handler(slow)

    started = time.monotonic()
    try:
        with pytest.raises(TokenApiError) as caught:
            password_call(gateway)
        elapsed = time.monotonic() - started
    finally:
        # Let the (single-threaded) server finish before the next test clears its log.
        release.set()
        deadline = time.monotonic() + 3
        while not httpserver.log and time.monotonic() < deadline:
            time.sleep(0.01)

    assert caught.value.kind == "timeout"
    assert caught.value.status is None
    assert elapsed < 1.5
    assert "did not answer in time" in caught.value.message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_a_connection_error(caplog):
    port = _closed_port()
    gateway = FakeGateway(f"http://127.0.0.1:{port}/token", f"http://127.0.0.1:{port}/revoke")
    caplog.set_level(logging.INFO, logger="portal.tokens.client")

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "connection"
    assert caught.value.__cause__ is None  # the requests exception (holding headers) is dropped
    assert_no_secret(caught.value, caplog)


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A certificate for localhost/127.0.0.1 that no CA vouches for, and its key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_server(self_signed):
    cert_path, key_path = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_self_signed_https_gateway_is_a_tls_error_without_fallback(https_server):
    https_server.expect_request("/token").respond_with_json(OK_BODY)
    gateway = FakeGateway(https_server.url_for("/token"), https_server.url_for("/revoke"))

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "tls"
    assert "certificate" in caught.value.message
    assert https_server.log == []  # nothing was sent, and no retry without verification


def test_the_gateways_ca_bundle_is_trusted(https_server, self_signed):
    https_server.expect_request("/token").respond_with_json(OK_BODY)
    gateway = FakeGateway(
        https_server.url_for("/token"),
        https_server.url_for("/revoke"),
        ca_bundle=str(self_signed[0]),
    )

    assert password_call(gateway).access_token == ACCESS


# --- Revocation ----------------------------------------------------------------------------------


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
    assert len(detail) <= client.MAX_DETAIL_CHARS
    assert "\n" not in detail and "\x00" not in detail
    assert detail.startswith("bad scope")


def test_each_call_logs_one_info_line_without_secrets(httpserver, gateway, caplog):
    httpserver.expect_request("/token").respond_with_json(OK_BODY)
    caplog.set_level(logging.DEBUG)

    password_call(gateway)

    lines = [r for r in caplog.records if r.name == "portal.tokens.client"]
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
    caplog.set_level(logging.INFO, logger="portal.tokens.client")

    with pytest.raises(TokenApiError):
        password_call(gateway)

    (record,) = [r for r in caplog.records if r.name == "portal.tokens.client"]
    assert "status=401" in record.getMessage()
    assert "outcome=invalid_client" in record.getMessage()


def test_token_api_error_text_and_repr_are_only_kind_status_and_message():
    exc = TokenApiError("invalid_client", status=401, detail="Client credentials are invalid.")

    assert str(exc) == exc.message
    assert repr(exc) == "TokenApiError(kind='invalid_client', status=401)"


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
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setattr(client, "session", None)  # a fresh session reads the environment now
    httpserver.expect_request("/token").respond_with_json(OK_BODY)

    assert password_call(gateway).access_token == ACCESS
    assert client.get_session().trust_env is False


class RecordingSession:
    def __init__(self):
        self.calls = []

    def post(self, url, **kwargs):
        self.calls.append((url, kwargs))
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


def test_a_body_that_does_not_decompress_is_a_bad_response(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data(
        b"this is not gzip", headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"


@pytest.mark.parametrize("header", ["Mon, 1 Jan 10000000000000000000 00:00:00 GMT", "soon", "-5"])
def test_absurd_retry_after_is_ignored_not_a_crash(httpserver, gateway, header):
    httpserver.expect_request("/revoke").respond_with_data(
        "busy", status=503, headers={"Retry-After": header}
    )

    with pytest.raises(TokenApiError) as caught:
        revoke_call(gateway)

    assert caught.value.kind in ("rate_limited", "unavailable")
