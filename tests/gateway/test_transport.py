"""Transport failures against real local servers: slow and unreachable gateways, TLS without
a trusted certificate, oversized and undecodable bodies."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
from django.test import override_settings
from werkzeug.wrappers import Response

from portal.gateway.client import TokenApiError

from .support import (
    ACCESS,
    OK_BODY,
    FakeGateway,
    assert_no_secret,
    closed_port,
    password_call,
)


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


def test_connection_refused_is_a_connection_error(caplog):
    port = closed_port()
    gateway = FakeGateway(f"http://127.0.0.1:{port}/token", f"http://127.0.0.1:{port}/revoke")
    caplog.set_level(logging.INFO, logger="portal.gateway.client")

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "connection"
    assert caught.value.__cause__ is None  # the requests exception (holding headers) is dropped
    assert_no_secret(caught.value, caplog)


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


def test_a_body_that_does_not_decompress_is_a_bad_response(httpserver, gateway):
    httpserver.expect_request("/token").respond_with_data(
        b"this is not gzip", headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )

    with pytest.raises(TokenApiError) as caught:
        password_call(gateway)

    assert caught.value.kind == "bad_response"
