"""A stub WSO2 Token API for the load test: fast, counting, and able to misbehave on demand.

    .venv/bin/python -m benchmarks.load.stub_gateway [--port 0] [--delay-ms 50] [--hang-seconds 3]
        [--trickle-seconds 2] [--trickle-steps 4]

Prints ``PORT <n>`` on its first line, then serves on 127.0.0.1 only until killed.

It speaks WSO2's Token API as the portal's client expects it (password, refresh-token and
client-credentials grants at ``/token``, RFC 7009 at ``/revoke`` with WSO2's ``Revoked*``
headers, Basic client authentication) and remembers every token it issued, so the harness can check afterwards that
the portal recorded each of them:

- every successful ``/token`` answer is an **issuance**: a new access token (JWT-shaped, as APIM
  3.x/4.x issue by default) and, except for client credentials, a new refresh token;
- a refresh-token grant rotates: the old token becomes ``rotated`` (WSO2 invalidates the old
  access and refresh token) and a new one is issued;
- a revocation of a live token (by its access or its refresh token) makes it ``revoked``;
  unknown or dead tokens get WSO2's answer, 200 without headers;
- each token remembers when it was issued and when its state last changed (wall clock), so the
  harness can tell which disagreements fall inside a database outage.

Fault modes, switched at run time through the control endpoint (they apply to ``/token`` and
``/revoke`` alike; nothing is issued or revoked by a faulty answer):

- ``503``: 503 with ``Retry-After`` and an HTML body (a gateway asking callers to back off);
- ``hang``: hold the request ``--hang-seconds`` (longer than the portal's read timeout), then
  answer 504 to nobody;
- ``html``: 200 with an HTML page instead of JSON (a proxy's error page);
- ``trickle``: a share of the requests (``share``, the others are served as usual) get an
  answer that never lets a read timeout fire: alternately one header line every
  ``--trickle-seconds`` (``trickle_headers``: a 502 page after ``--trickle-steps`` lines) or
  the headers at once and then the body one byte every ``--trickle-seconds``
  (``trickle_body``: a 200 HTML page, its first ``--trickle-steps`` bytes one by one).

Every faulty answer is counted as ``fault_<endpoint>_<shape>`` (``fault_token_trickle_body``).
Control endpoints (never delayed, never faulty): ``GET /_stub/state`` (counters and mode),
``GET /_stub/tokens`` (every token's state), ``POST /_stub/mode`` with a JSON body
``{"mode": "ok"|"503"|"hang"|"html"|"trickle", "delay_ms": 50, "share": 0.25}``.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from benchmarks.load.stub_faults import FaultyAnswers

CONSUMER_KEY = "loadConsumerKey0123456789abcd"
CONSUMER_SECRET = "loadConsumerSecret0123456789abcd"
USER_PASSWORD = "stub-api-store-password"
MODES = ("ok", "503", "hang", "html", "trickle")
ACCESS_TOKEN_LIFETIME = 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class StubState:
    """Every token the stub issued and what became of it; counters of every answer."""

    def __init__(
        self,
        *,
        delay_ms: float,
        hang_seconds: float,
        trickle_seconds: float = 2.0,
        trickle_steps: int = 4,
    ) -> None:
        self.lock = threading.Lock()
        self.mode = "ok"
        self.delay = delay_ms / 1000
        self.hang_seconds = hang_seconds
        self.trickle_seconds = trickle_seconds
        self.trickle_steps = trickle_steps
        self.trickle_share = 0.25
        self.trickle_seen = 0  # requests that arrived in trickle mode
        # access token -> {"refresh": str|None, "state": live|rotated|revoked, "grant": str}
        self.tokens: dict[str, dict] = {}
        self.by_refresh: dict[str, str] = {}
        self.counts: Counter[str] = Counter()

    def mint(self, *, grant: str, subject: str, scopes: list[str]) -> dict:
        now = int(time.time())
        claims = {
            "sub": subject or "application",
            "aud": CONSUMER_KEY,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "jti": str(uuid.uuid4()),
            "consumerKey": CONSUMER_KEY,
            "keytype": "PRODUCTION",
        }
        access = ".".join(
            (
                _b64(b'{"typ":"JWT","alg":"RS256"}'),
                _b64(json.dumps(claims, separators=(",", ":")).encode()),
                _b64(secrets.token_bytes(32)),
            )
        )
        refresh = None if grant == "client_credentials" else secrets.token_hex(16)
        with self.lock:
            self.tokens[access] = {
                "refresh": refresh,
                "state": "live",
                "grant": grant,
                "subject": subject,
                "scopes": scopes,
                "issued_at": time.time(),
                "changed_at": None,
            }
            if refresh:
                self.by_refresh[refresh] = access
            self.counts["issued"] += 1
            self.counts[f"issued_{grant}"] += 1
        body = {
            "access_token": access,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
        }
        if refresh:
            body["refresh_token"] = refresh
        return body


class Handler(FaultyAnswers, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StubWSO2/1.0"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds ~40 ms
    # to every answer on loopback, which would swamp the figures being measured.
    disable_nagle_algorithm = True
    state: StubState  # set on a subclass by make_server()

    def log_message(self, *args) -> None:  # quiet: the harness reads counters, not logs
        pass

    # --- plumbing ---------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, *, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data, headers: dict | None = None) -> None:
        self._send(status, json.dumps(data).encode(), ctype="application/json", headers=headers)

    def _error(self, status: int, error: str, description: str, headers=None) -> None:
        self._json(status, {"error": error, "error_description": description}, headers)

    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8", "replace") if length else ""

    def _client_ok(self, form: dict[str, str]) -> bool:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                pair = base64.b64decode(auth[6:]).decode()
            except ValueError:
                return False
            key, _, secret = pair.partition(":")
        else:
            key, secret = form.get("client_id", ""), form.get("client_secret", "")
        return key == CONSUMER_KEY and secret == CONSUMER_SECRET

    # --- endpoints -------------------------------------------------------------------------------

    def do_GET(self) -> None:
        state = self.state
        if self.path == "/_stub/state":
            with state.lock:
                live = sum(1 for t in state.tokens.values() if t["state"] == "live")
                data = {
                    "mode": state.mode,
                    "delay_ms": state.delay * 1000,
                    "counts": dict(state.counts),
                    "live": live,
                }
            self._json(200, data)
        elif self.path == "/_stub/tokens":
            with state.lock:
                data = [
                    {
                        "access_token": a,
                        "state": t["state"],
                        "grant": t["grant"],
                        "issued_at": t["issued_at"],
                        "changed_at": t["changed_at"],
                    }
                    for a, t in state.tokens.items()
                ]
            self._json(200, data)
        else:
            self._error(404, "not_found", "No such endpoint.")

    def do_POST(self) -> None:
        state = self.state
        raw = self._read_body()
        if self.path == "/_stub/mode":
            try:
                wanted = json.loads(raw or "{}")
            except ValueError:
                wanted = {}
            self._set_mode(wanted if isinstance(wanted, dict) else {})
            return
        form = dict(parse_qsl(raw, keep_blank_values=True))
        if self.path not in ("/token", "/revoke"):
            self._error(404, "not_found", "No such endpoint.")
            return
        endpoint = self.path.strip("/")
        with state.lock:
            state.counts[f"calls_{endpoint}"] += 1
        if self._fault(endpoint):
            return
        if state.delay:
            time.sleep(state.delay)
        if not self._client_ok(form):
            self._error(
                401,
                "invalid_client",
                "Client credentials are invalid.",
                headers={"WWW-Authenticate": "Basic"},
            )
            return
        if endpoint == "token":
            self._token(form)
        else:
            self._revoke(form)

    def _set_mode(self, wanted: dict) -> None:
        state = self.state
        mode = wanted.get("mode", state.mode)
        if mode not in MODES:
            self._error(400, "invalid_request", f"mode must be one of {MODES}")
            return
        with state.lock:
            state.mode = mode
            if "delay_ms" in wanted:
                state.delay = float(wanted["delay_ms"]) / 1000
            if "share" in wanted:
                state.trickle_share = float(wanted["share"])
            state.counts[f"mode_set_{mode}"] += 1
        self._json(200, {"mode": state.mode, "delay_ms": state.delay * 1000})

    def _token(self, form: dict[str, str]) -> None:
        state = self.state
        grant = form.get("grant_type", "")
        requested = form.get("scope", "").split()
        # Like WSO2: scopes the user may not have are dropped silently ("admin" here).
        granted = [s for s in requested if s != "admin"] or ["default"]
        if grant == "password":
            if not form.get("username") or form.get("password") != USER_PASSWORD:
                self._error(
                    400, "invalid_grant", f"Authentication failed for {form.get('username')}"
                )
                return
            self._json(200, state.mint(grant=grant, subject=form["username"], scopes=granted))
        elif grant == "client_credentials":
            self._json(200, state.mint(grant=grant, subject="", scopes=granted))
        elif grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            with state.lock:
                access = state.by_refresh.get(refresh)
                old = state.tokens.get(access) if access else None
                if old is None or old["state"] != "live":
                    state.counts["refresh_invalid"] += 1
                    old = None
                else:
                    old["state"] = "rotated"
                    old["changed_at"] = time.time()
                    state.counts["rotated"] += 1
            if old is None:
                self._error(400, "invalid_grant", "Persisted access token data not found")
                return
            body = state.mint(grant=grant, subject=old["subject"], scopes=old["scopes"])
            self._json(200, body)
        else:
            self._error(400, "unsupported_grant_type", "Unsupported grant_type value")

    def _revoke(self, form: dict[str, str]) -> None:
        state = self.state
        token = form.get("token", "")
        headers = {}
        with state.lock:
            access = state.by_refresh.get(token) or (token if token in state.tokens else None)
            entry = state.tokens.get(access) if access else None
            if entry is not None and entry["state"] == "live":
                entry["state"] = "revoked"
                entry["changed_at"] = time.time()
                state.counts["revoked"] += 1
                headers = {"RevokedAccessToken": access, "AuthorizedUser": entry["subject"]}
                if entry["refresh"]:
                    headers["RevokedRefreshToken"] = entry["refresh"]
            else:
                state.counts["revoke_noop"] += 1
        # WSO2 answers 200 with an empty body, revoked or not.
        self._send(200, b"", ctype="text/plain", headers=headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def make_server(*, port: int = 0, delay_ms: float = 0, hang_seconds: float = 3.0, **trickle):
    """A stub bound to 127.0.0.1 with fresh state (``server.RequestHandlerClass.state``;
    ``trickle``: ``trickle_seconds``, ``trickle_steps``); call ``serve_forever()`` (in a thread,
    for tests) and ``shutdown()``."""
    handler = type("StubHandler", (Handler,), {})
    handler.state = StubState(delay_ms=delay_ms, hang_seconds=hang_seconds, **trickle)
    return Server(("127.0.0.1", port), handler)


def serve(*, port: int, **options) -> None:
    server = make_server(port=port, **options)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--delay-ms", type=float, default=50.0)
    parser.add_argument("--hang-seconds", type=float, default=3.0)
    parser.add_argument("--trickle-seconds", type=float, default=2.0)
    parser.add_argument("--trickle-steps", type=int, default=4)
    args = parser.parse_args(argv)
    serve(
        port=args.port,
        delay_ms=args.delay_ms,
        hang_seconds=args.hang_seconds,
        trickle_seconds=args.trickle_seconds,
        trickle_steps=args.trickle_steps,
    )


if __name__ == "__main__":
    sys.exit(main())
