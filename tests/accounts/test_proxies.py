"""Client addresses and request ids are taken from forwarding headers only when the connection
comes from a trusted proxy (PORTAL_TRUSTED_PROXIES); anyone else's headers are ignored."""

import io
import logging

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.core.logging import RequestIdLogFilter
from portal.core.middleware import client_ip

pytestmark = pytest.mark.django_db


def _ip(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def test_without_trusted_proxies_forwarded_addresses_are_ignored(settings):
    settings.PORTAL_TRUSTED_PROXIES = []
    assert _ip("198.51.100.4", "203.0.113.9") == "198.51.100.4"


def test_a_direct_client_cannot_forge_its_address(settings):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert _ip("198.51.100.4", "203.0.113.9") == "198.51.100.4"


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("10.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # first entry forged
        ("10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),  # two proxies
        ("10.0.0.1", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "10.0.0.7", "10.0.0.7"),  # an internal client
        ("10.0.0.1", "not-an-address, 10.0.0.2", "10.0.0.2"),  # garbage: last good hop
        ("10.0.0.1", "203.0.113.9:5151", "203.0.113.9"),
        ("10.0.0.1", "[2001:db8::5]:443", "2001:db8::5"),
        ("::ffff:10.0.0.1", "203.0.113.9", "203.0.113.9"),
    ],
)
def test_the_client_is_the_first_untrusted_address_from_the_right(
    settings, remote, forwarded, expected
):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8:ffff::1"]
    assert _ip(remote, forwarded) == expected


def test_forged_forwarded_addresses_do_not_escape_the_login_lockout(alice, settings):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.1"]
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    statuses = [
        client.post(
            reverse("accounts:login"),
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="198.51.100.4",  # not our proxy: its header is the attacker's
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        ).status_code
        for i in range(4)
    ]
    assert statuses[2:] == [429, 429]


def test_forged_addresses_behind_our_proxy_do_not_escape_the_lockout(alice, settings):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.1"]
    settings.AXES_FAILURE_LIMIT = 3
    statuses = [
        Client()
        .post(
            reverse("accounts:login"),
            {"username": "nobody", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.9",
        )
        .status_code
        for i in range(3)
    ]
    assert statuses[-1] == 429


def test_request_ids_are_honoured_only_from_trusted_proxies(settings):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.1"]
    trusted = Client().get("/healthz", REMOTE_ADDR="10.0.0.1", HTTP_X_REQUEST_ID="proxy-id-1234")
    assert trusted["X-Request-ID"] == "proxy-id-1234"
    direct = Client().get("/healthz", REMOTE_ADDR="198.51.100.4", HTTP_X_REQUEST_ID="forged-id-99")
    assert direct["X-Request-ID"] != "forged-id-99"
    assert len(direct["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    "bad", ["<script>", "short", "x" * 65, "id with spaces 1234", "ïd-ünicode-1"]
)
def test_malformed_request_ids_are_replaced(settings, bad):
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.1"]
    response = Client().get("/healthz", REMOTE_ADDR="10.0.0.1", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


def test_4xx_log_lines_carry_the_request_id(db):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        response = Client().get("/no-such-page/")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 404
    lines = [line for line in stream.getvalue().splitlines() if "Not Found" in line]
    assert lines, stream.getvalue()
    assert all(line.startswith(response["X-Request-ID"] + " ") for line in lines)


def test_a_malformed_trusted_proxy_setting_is_a_check_error(settings):
    from portal.core.checks import trusted_proxies_are_addresses

    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.example.com"]
    errors = trusted_proxies_are_addresses(None)
    assert [e.id for e in errors] == ["portal.E002"]
    assert "proxy.example.com" in errors[0].msg
