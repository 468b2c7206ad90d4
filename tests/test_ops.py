"""Operational plumbing: health check, security headers, structured and redacted logs."""

import json
import logging

import pytest
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from portal.core.logging import JsonFormatter, RedactSecretsFilter, RequestIdLogFilter, redact

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_database_and_keys_are_there():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": True, "keys": True, "unopenable_values": 0},
    }
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_is_unreachable(monkeypatch):
    from django.db.backends.utils import CursorWrapper

    def broken(self, sql, params=None):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


def test_healthz_reveals_no_secret(settings):
    body = Client().get("/healthz").content.decode()
    assert settings.PORTAL_AUDIT_KEY not in body
    assert settings.PORTAL_ENCRYPTION_KEYS.split(":")[1] not in body


def test_pages_carry_the_security_headers(alice_client):
    response = alice_client.get(reverse("dashboard"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234"),
        ("header Basic d1U2MkRqbHk6a3NkU2RvZWY=", "d1U2MkRqbHk6a3NkU2RvZWY="),
        ("grant_type=password&username=u&password=hunter2secret", "hunter2secret"),
        ('{"access_token": "tok-123456789", "scope": "read"}', "tok-123456789"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl here", "c2lnbmF0dXJl"),
    ],
)
def test_redaction_masks_things_that_look_like_secrets(text, secret):
    assert secret not in redact(text)


def test_log_lines_are_json_with_request_id_and_redacted():
    record = logging.LogRecord(
        "portal.test", logging.INFO, __file__, 1, "sent %s", ("Bearer sekrit-token-99",), None
    )
    for f in (RequestIdLogFilter(), RedactSecretsFilter()):
        f.filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO"
    assert line["request_id"] == "-"
    assert "sekrit-token-99" not in line["message"]


def test_exception_tracebacks_are_redacted_too():
    try:
        raise ValueError("refresh_token=rt-verysecret-0001")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    RedactSecretsFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "rt-verysecret-0001" not in line
    assert "ValueError" in line


def test_database_outage_is_a_503_page_not_a_500(alice, monkeypatch):
    from django.db import OperationalError

    from portal.core.middleware import SessionLifetimeMiddleware

    def database_down(self, request):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(SessionLifetimeMiddleware, "__call__", database_down)
    response = Client(raise_request_exception=False).get(reverse("dashboard"))
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"Temporarily unavailable" in response.content
    assert b"could not connect" not in response.content


def test_a_real_bug_is_still_a_styled_500(alice, monkeypatch):
    from portal.core.middleware import SessionLifetimeMiddleware

    def bug(self, request):
        raise ZeroDivisionError("secret-ish internals")

    monkeypatch.setattr(SessionLifetimeMiddleware, "__call__", bug)
    response = Client(raise_request_exception=False).get(reverse("dashboard"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"secret-ish" not in response.content


def test_favicon_redirects_to_the_static_icon():
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
