"""Slow gateways against real local raw-socket servers: one deadline bounds a whole call
(connect, headers and body), and one slow gateway cannot take every thread of the process.

A socket timeout bounds each wait for bytes, not the call: these servers send a header line or a
body byte just inside the read timeout, forever. Timings are asserted with a generous margin;
what matters is that the call ends near the deadline instead of when the server gives up.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable

import pytest
from django.test import override_settings

from portal.gateway import client
from portal.gateway.client import TokenApiError

from .support import OK_BODY, SECRETS, FakeGateway, password_call, revoke_call

TIMEOUT = 1.0
DRIP = 0.25  # well inside the read timeout: a per-read timeout never fires
MARGIN = 1.0  # the call must end by TIMEOUT + MARGIN; the servers below would go on for 20 s
SERVER_GIVES_UP = 20.0


class RawServer:
    """A TCP server on 127.0.0.1 whose every connection is handled by ``handle(conn, stop)``
    in its own thread. ``stop`` is set when the test ends; handlers poll it between sends."""

    def __init__(
        self, handle: Callable[[socket.socket, threading.Event], None], read_request: bool = True
    ) -> None:
        self.handle = handle
        self.read_request = read_request
        self.stop = threading.Event()
        self.accepted = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def gateway(self, host: str = "127.0.0.1") -> FakeGateway:
        return FakeGateway(self.url("/token", host), self.url("/revoke", host))

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            try:
                if self.read_request:
                    _read_request(conn)
                self.handle(conn, self.stop)
            except OSError:
                pass  # the client hung up: that is what these tests want

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=2)
        for thread in self.threads:
            thread.join(timeout=2)


def _read_request(conn: socket.socket) -> bytes:
    """The request head and its Content-Length worth of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _drip(conn: socket.socket, stop: threading.Event, piece: bytes) -> None:
    given_up = time.monotonic() + SERVER_GIVES_UP
    while not stop.is_set() and time.monotonic() < given_up:
        conn.sendall(piece)
        stop.wait(DRIP)


def trickle_header_lines(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    _drip(conn, stop, b"X-Slow: still here\r\n")


def trickle_body_bytes(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
    )
    _drip(conn, stop, b" ")


def trickle_body_without_length(conn: socket.socket, stop: threading.Event) -> None:
    # Read until close: when the portal gives up, what it has read must not count as an answer.
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")
    _drip(conn, stop, b" ")


@pytest.fixture
def raw_server():
    servers: list[RawServer] = []

    def start(handle, read_request: bool = True) -> RawServer:
        server = RawServer(handle, read_request)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _timed(call) -> tuple[TokenApiError, float]:
    started = time.monotonic()
    with pytest.raises(TokenApiError) as caught:
        call()
    return caught.value, time.monotonic() - started


@override_settings(PORTAL_TOKEN_TIMEOUT=TIMEOUT, PORTAL_TOKEN_CONNECT_TIMEOUT=TIMEOUT)
@pytest.mark.parametrize(
    "handle",
    [trickle_header_lines, trickle_body_bytes, trickle_body_without_length],
    ids=["header-lines", "body-bytes", "body-until-close"],
)
def test_a_trickling_token_endpoint_is_cut_off_at_the_deadline(raw_server, handle, caplog):
    server = raw_server(handle)

    exc, elapsed = _timed(lambda: password_call(server.gateway()))

    assert exc.kind == "timeout"
    assert "did not answer in time" in exc.message
    assert elapsed < TIMEOUT + MARGIN, f"the call took {elapsed:.1f} s"
    for secret in SECRETS:
        assert secret not in caplog.text


@override_settings(PORTAL_TOKEN_TIMEOUT=TIMEOUT, PORTAL_TOKEN_CONNECT_TIMEOUT=TIMEOUT)
@pytest.mark.parametrize(
    "handle", [trickle_header_lines, trickle_body_bytes], ids=["header-lines", "body-bytes"]
)
def test_a_trickling_https_token_endpoint_is_cut_off_at_the_deadline(
    raw_server, self_signed, handle
):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)

    def over_tls(conn, stop):
        with context.wrap_socket(conn, server_side=True) as tls:
            _read_request(tls)
            handle(tls, stop)

    server = raw_server(over_tls, read_request=False)
    gateway = FakeGateway(
        f"https://localhost:{server.port}/token", "", ca_bundle=str(self_signed[0])
    )

    exc, elapsed = _timed(lambda: password_call(gateway))

    assert exc.kind == "timeout"
    assert elapsed < TIMEOUT + MARGIN, f"the call took {elapsed:.1f} s"


@override_settings(PORTAL_TOKEN_TIMEOUT=TIMEOUT, PORTAL_TOKEN_CONNECT_TIMEOUT=TIMEOUT)
@pytest.mark.parametrize(
    "handle",
    [trickle_header_lines, trickle_body_without_length],
    ids=["header-lines", "body-until-close"],
)
def test_a_revocation_cut_off_at_the_deadline_is_a_timeout_not_an_empty_answer(raw_server, handle):
    # Cut off, a trickled answer looks like a 200 with an empty body - which is a revocation.
    # It must be reported as what it is: no answer in time.
    server = raw_server(handle)

    exc, elapsed = _timed(lambda: revoke_call(server.gateway()))

    assert exc.kind == "timeout"
    assert elapsed < TIMEOUT + MARGIN


def trickle_tls_handshake(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(65536)  # the ClientHello
    # A handshake record announcing 16 KB, then one byte of it at a time.
    conn.sendall(b"\x16\x03\x03\x40\x00")
    _drip(conn, stop, b"\x00")


@override_settings(PORTAL_TOKEN_TIMEOUT=TIMEOUT, PORTAL_TOKEN_CONNECT_TIMEOUT=TIMEOUT)
def test_a_trickled_tls_handshake_ends_at_the_deadline(raw_server):
    server = raw_server(trickle_tls_handshake, read_request=False)
    https = FakeGateway(f"https://127.0.0.1:{server.port}/token", "")

    exc, elapsed = _timed(lambda: password_call(https))

    assert exc.kind == "timeout"
    assert elapsed < TIMEOUT + MARGIN


@override_settings(PORTAL_TOKEN_TIMEOUT=TIMEOUT, PORTAL_TOKEN_CONNECT_TIMEOUT=TIMEOUT)
def test_a_connection_cut_off_by_the_deadline_is_not_reused(raw_server):
    slow = raw_server(trickle_body_bytes)
    exc, _ = _timed(lambda: password_call(slow.gateway()))
    assert exc.kind == "timeout"

    body = json.dumps(OK_BODY).encode()

    def answer(conn, stop):
        # One answer per connection, and it says so: without "Connection: close" the client may
        # pool the socket and send the next call on it before the server's close arrives.
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    fast = raw_server(answer)
    assert password_call(fast.gateway()).access_token == OK_BODY["access_token"]
    assert password_call(fast.gateway()).access_token == OK_BODY["access_token"]


def _keep_alive_answers(conn, stop):
    body = json.dumps(OK_BODY).encode()
    while not stop.is_set():
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        if not _read_request(conn):
            return


@override_settings(PORTAL_TOKEN_TIMEOUT=TIMEOUT, PORTAL_TOKEN_CONNECT_TIMEOUT=TIMEOUT)
def test_calls_that_end_in_time_keep_their_pooled_connection(raw_server):
    server = raw_server(_keep_alive_answers)

    for _ in range(5):
        assert password_call(server.gateway()).access_token == OK_BODY["access_token"]
    time.sleep(TIMEOUT + 0.2)  # past every deadline: nothing shuts the pooled socket down
    assert password_call(server.gateway()).access_token == OK_BODY["access_token"]

    assert server.accepted == 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@override_settings(PORTAL_TOKEN_TIMEOUT=0.5, PORTAL_TOKEN_CONNECT_TIMEOUT=0.5)
def test_deadlines_leave_no_descriptors_behind(raw_server):
    slow = raw_server(trickle_body_without_length)
    fast = raw_server(_keep_alive_answers)
    password_call(fast.gateway())
    before = len(os.listdir("/proc/self/fd"))

    for _ in range(3):
        exc, _ = _timed(lambda: password_call(slow.gateway()))
        assert exc.kind == "timeout"
        password_call(fast.gateway())

    # The servers run in this process too: give their handlers a moment to see the hang-ups.
    deadline = time.monotonic() + 3
    while len(os.listdir("/proc/self/fd")) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(os.listdir("/proc/self/fd")) <= before


def _held_until(release: threading.Event):
    body = json.dumps(OK_BODY).encode()

    def handle(conn, stop):
        release.wait(timeout=10)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    return handle


@override_settings(PORTAL_GATEWAY_MAX_CONCURRENT=2, PORTAL_TOKEN_TIMEOUT=10)
def test_calls_beyond_the_per_gateway_limit_are_busy_at_once(raw_server):
    release, other_release = threading.Event(), threading.Event()
    server = raw_server(_held_until(release))
    other = raw_server(_held_until(other_release))  # another gateway (another port)
    results: list = []

    def call(gateway):
        try:
            results.append(password_call(gateway).access_token)
        except TokenApiError as exc:
            results.append(exc.kind)

    waiting = [threading.Thread(target=call, args=(server.gateway(),)) for _ in range(2)]
    try:
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 5
        while server.accepted < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.accepted == 2

        exc, elapsed = _timed(lambda: password_call(server.gateway()))
        assert exc.kind == "busy"
        assert exc.message == (
            "The gateway is busy with other requests from the portal. Try again in a moment."
        )
        assert elapsed < 0.5
        assert server.accepted == 2  # the third call never reached the gateway
        exc, _ = _timed(lambda: revoke_call(server.gateway()))
        assert exc.kind == "busy"

        # Another gateway is not held up by this one's calls.
        other_call = threading.Thread(target=call, args=(other.gateway(),))
        other_call.start()
        deadline = time.monotonic() + 5
        while other.accepted < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert other.accepted == 1
        other_release.set()
        other_call.join(timeout=5)
    finally:
        release.set()
        other_release.set()
        for thread in waiting:
            thread.join(timeout=5)

    assert results.count(OK_BODY["access_token"]) == 3
    # The slots are free again.
    assert password_call(server.gateway()).access_token == OK_BODY["access_token"]


@override_settings(
    PORTAL_GATEWAY_MAX_CONCURRENT=1, PORTAL_TOKEN_TIMEOUT=0.5, PORTAL_TOKEN_CONNECT_TIMEOUT=0.5
)
def test_a_call_that_failed_gives_its_slot_back(raw_server):
    server = raw_server(trickle_header_lines)

    for _ in range(3):
        exc, _ = _timed(lambda: password_call(server.gateway()))
        assert exc.kind == "timeout"


@override_settings(PORTAL_GATEWAY_MAX_CONCURRENT=0, PORTAL_TOKEN_TIMEOUT=10)
def test_a_limit_of_zero_means_no_limit(raw_server):
    release = threading.Event()
    server = raw_server(_held_until(release))
    threads = [
        threading.Thread(target=lambda: password_call(server.gateway()), daemon=True)
        for _ in range(10)
    ]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 5
        while server.accepted < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.accepted == 10
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=5)


def test_the_session_is_still_one_replaceable_attribute(monkeypatch):
    monkeypatch.setattr(client, "session", None)
    assert client.get_session() is client.session
