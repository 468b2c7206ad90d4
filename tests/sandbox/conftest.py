"""Sandbox fixtures: the example application and user of WSO2's documentation, seeded in the
sandbox."""

import base64
import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from portal.sandbox import services
from tests import factories

# The example values (tests/factories.py), by the short names these tests use.
KEY = factories.CONSUMER_KEY
SECRET = factories.CONSUMER_SECRET
USERNAME = factories.UPSTREAM_USERNAME
PASSWORD = factories.UPSTREAM_PASSWORD
USER_SCOPES = "default read update"
APP_SCOPES = "default read update write openid"


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


def basic(key: str = KEY, secret: str = SECRET) -> str:
    """What ``$(printf %s 'key:secret' | base64 -w0)`` gives."""
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


class RawHttp:
    """Raw HTTP to the live server (http.client), not through the portal's client."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method: str, path: str, body: str | bytes | None = None, headers=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def post_form(self, path: str, body: str, authorization: str | None = None, **headers):
        headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        if authorization is not None:
            headers["Authorization"] = authorization
        return self.request("POST", path, body, headers)

    def token(self, body: str, authorization: str | None = None):
        return self.post_form(
            "/sandbox/token", body, authorization if authorization is not None else basic()
        )

    def revoke(self, body: str, authorization: str | None = None):
        return self.post_form(
            "/sandbox/revoke", body, authorization if authorization is not None else basic()
        )

    def echo(self, token: str | None = None, authorization: str | None = None):
        headers = {}
        if authorization is not None:
            headers["Authorization"] = authorization
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("GET", "/sandbox/api/echo", headers=headers)


@pytest.fixture
def seeded(db):
    """The example application and user in the sandbox's tables."""
    return services.sandbox_seed(
        consumer_key=KEY,
        consumer_secret=SECRET,
        username=USERNAME,
        password=PASSWORD,
        app_name="Example app",
        app_scopes=APP_SCOPES,
        user_scopes=USER_SCOPES,
    )


@pytest.fixture
def raw(live_server, seeded) -> RawHttp:
    return RawHttp(live_server.url)


@pytest.fixture
def password_token(raw):
    """A token answer from the password grant, scopes ``read update``."""
    answer = raw.token(
        f"grant_type=password&username={USERNAME}&password={PASSWORD}&scope=read update"
    )
    assert answer.status == 200, answer.body
    return answer.json()
