"""Values and helpers shared by the client's tests: awkward secrets (characters that need
encoding), the gateway duck type, one helper per call, and the no-secret assertion."""

from __future__ import annotations

import base64
import json
import socket
from dataclasses import dataclass

from pytest_httpserver import HTTPServer

from portal.gateway import client
from portal.gateway.client import ClientCredentials, TokenApiError

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
    introspection_url: str | None = ""


def credentials(gateway, key=KEY, secret=SECRET) -> ClientCredentials:
    return ClientCredentials(gateway, key, secret)


def password_call(gateway, scopes=("read",)):
    return client.password_grant(
        credentials(gateway),
        username="john@johns.org@johnsorg",
        password=PASSWORD,
        scopes=list(scopes),
    )


def refresh_call(gateway, scopes=None):
    return client.refresh_grant(credentials(gateway), refresh_token=REFRESH, scopes=scopes)


def cc_call(gateway, scopes=("read",)):
    return client.client_credentials_grant(credentials(gateway), scopes=list(scopes))


def revoke_call(gateway, token=REFRESH, hint="refresh_token"):
    return client.revoke(credentials(gateway), token, token_type_hint=hint)


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


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
