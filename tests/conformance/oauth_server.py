"""A second, independently written OAuth 2.0 authorization server for conformance tests.

Why it exists: the portal's built-in sandbox gateway was written by the same people as the
portal's Token API client, from the same reading of the WSO2 documentation, so a misunderstanding
shared by both passes every sandbox test. This server is somebody else's reading of the RFCs:
the grant logic (password, client credentials, refresh token), client authentication failures,
scope checks, every error answer (status, body, ``WWW-Authenticate``), revocation (RFC 7009),
introspection (RFC 7662) and bearer-token checks at the protected resource (RFC 6750) are
oauthlib's ``oauthlib.oauth2.Server``. Ours are only:

- storage: an in-memory ``RequestValidator`` (clients, users, issued tokens). oauthlib leaves
  checking a client's id and secret to it too, so reading them from HTTP Basic (RFC 6749
  §2.3.1) or from the body (``client_secret_post``) is ours; what a failure answers is not;
- HTTP: oauthlib is transport-agnostic, so a ``ThreadingHTTPServer`` on 127.0.0.1 (ephemeral
  port) hands each request to it and writes back what it returns;
- two knobs that reshape an answer oauthlib produced, to imitate servers seen in the wild:
  leaving ``expires_in`` out of a token answer (RFC 6749 §5.1: RECOMMENDED, not REQUIRED) and
  the Content-Type of the empty revocation answer.

Configuration (:class:`ServerConfig`, changed at run time with :meth:`ConformanceServer.configure`):

``token_format``     ``"opaque"`` (oauthlib's random tokens) or ``"jwt"`` (oauthlib's RS256
                     signed-token generator; claims ``sub``, ``scope``, ``exp``, ``iat``,
                     ``jti``, ``client_id``; verify with :attr:`ConformanceServer.jwt_public_key`).
``refresh_tokens``   ``"rotate"``: every refresh answer carries a new refresh token and the old
                     one stops working; ``"reuse"``: the answer repeats the same refresh token,
                     which keeps working; ``"omit"``: the answer carries no refresh token and
                     the old one keeps working (RFC 6749 §6 allows all three).
``expires_in``       access-token lifetime in seconds (the server enforces it either way).
``send_expires_in``  False: ``expires_in`` is left out of token answers.
``grants``           which of the three grant types the token endpoint knows; any other is
                     answered ``unsupported_grant_type`` (``authorization_code``:
                     ``unauthorized_client``).
``client_auth_methods``  ``client_secret_basic`` (RFC 6749 §2.3.1: id and secret
                     form-urlencoded, then base64) and/or ``client_secret_post``.
``revoke_content_type``  Content-Type of the empty 200 revocation answer; None sends none
                     (oauthlib's own answer); ``"text/html; charset=utf-8"`` is what a real
                     server sent.

Scopes: a client may be granted only its own ``scopes``; a request naming any other scope is
refused with 400 ``invalid_scope`` (a conforming choice; WSO2 drops such scopes silently
instead). A request without ``scope`` gets the client's ``default_scopes``.

Revocation: revoking an access token revokes that token; revoking a refresh token revokes every
token of the same authorization grant (RFC 7009 §2.1), including access tokens obtained by
earlier refreshes. Unknown tokens are answered 200 like known ones.

URLs: ``/token``, ``/revoke``, ``/introspect`` (all POST, client authentication required) and
``/resource`` (GET with ``Authorization: Bearer``: 200 ``{"user", "client_id", "scopes"}`` for an
active token, 401 otherwise). Tests read the server's own truth with :meth:`is_active` and
:meth:`token_record` and every request it received in :attr:`requests`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from oauthlib import common
from oauthlib.oauth2 import RequestValidator, Server
from oauthlib.oauth2.rfc6749.grant_types import RefreshTokenGrant
from oauthlib.oauth2.rfc6749.tokens import random_token_generator

TOKEN_PATH = "/token"
REVOKE_PATH = "/revoke"
INTROSPECT_PATH = "/introspect"
RESOURCE_PATH = "/resource"

GRANTS = frozenset({"password", "client_credentials", "refresh_token"})
CLIENT_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})

# The seeded cast. The first client's id and secret contain characters that RFC 6749 §2.3.1
# form-encoding changes, so "basic" and "basic_raw" client authentication differ for it; the
# second one's are alphanumeric, as WSO2 generates them, so both styles agree.
CLIENT_ID = "conformance-client:1"
CLIENT_SECRET = "s3cret+with/odd=chars %and space"
PLAIN_CLIENT_ID = "PlainClientId0123456789abcd"
PLAIN_CLIENT_SECRET = "PlainClientSecret0123456789"
USERNAME = "alice@example.org"
USER_PASSWORD = "correct horse battery staple"
SCOPES = frozenset({"default", "read", "write"})
DEFAULT_SCOPES = ("default",)

TokenKind = Literal["access_token", "refresh_token"]


@dataclass(frozen=True)
class ServerConfig:
    """What the server does; see the module docstring for each knob."""

    token_format: Literal["opaque", "jwt"] = "opaque"
    refresh_tokens: Literal["rotate", "reuse", "omit"] = "rotate"
    expires_in: int = 3600
    send_expires_in: bool = True
    grants: frozenset[str] = GRANTS
    client_auth_methods: frozenset[str] = CLIENT_AUTH_METHODS
    revoke_content_type: str | None = None

    def __post_init__(self) -> None:
        if self.token_format not in ("opaque", "jwt"):
            raise ValueError(f"token_format {self.token_format!r}")
        if self.refresh_tokens not in ("rotate", "reuse", "omit"):
            raise ValueError(f"refresh_tokens {self.refresh_tokens!r}")
        if not set(self.grants) <= GRANTS:
            raise ValueError(f"grants {sorted(self.grants)!r}")
        if not set(self.client_auth_methods) <= CLIENT_AUTH_METHODS:
            raise ValueError(f"client_auth_methods {sorted(self.client_auth_methods)!r}")
        if self.expires_in <= 0:
            raise ValueError("expires_in must be positive")


@dataclass(frozen=True)
class Client:
    """A registered confidential client. oauthlib needs ``client_id`` on ``request.client``."""

    client_id: str
    client_secret: str = field(repr=False)
    scopes: frozenset[str] = SCOPES
    default_scopes: tuple[str, ...] = DEFAULT_SCOPES


@dataclass
class TokenRecord:
    """The server's truth about one token it issued."""

    value: str = field(repr=False)
    kind: TokenKind
    client_id: str
    user: str | None
    scopes: tuple[str, ...]
    grant_id: str
    issued_at: float
    expires_at: float | None = None
    refresh_token: str | None = field(default=None, repr=False)
    revoked: bool = False
    rotated_away: bool = False

    def is_active(self, now: float | None = None) -> bool:
        if self.revoked or self.rotated_away:
            return False
        return self.expires_at is None or (now or time.time()) < self.expires_at


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the server saw it (secrets included: this is a test server)."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


def _basic_credentials(encoded: str) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: base64 of ``urlencode(id) ":" urlencode(secret)``."""
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = pair.partition(":")
    if not colon:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


class _Validator(RequestValidator):
    """Storage for oauthlib: every decision that is not about storage stays oauthlib's."""

    def __init__(self, owner: ConformanceServer, config: ServerConfig) -> None:
        self.owner = owner
        self.config = config

    # --- clients and users ---

    def client_authentication_required(self, request, *args, **kwargs):
        return True

    def authenticate_client(self, request, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic":
            if "client_secret_basic" not in self.config.client_auth_methods:
                return False
            if request.client_secret is not None:
                return False  # RFC 6749 §2.3: one authentication method per request
            found = _basic_credentials(encoded)
        elif request.client_secret is not None and request.client_id is not None:
            if "client_secret_post" not in self.config.client_auth_methods:
                return False
            found = (request.client_id, request.client_secret)
        else:
            found = None
        if found is None:
            return False
        client = self.owner.clients.get(found[0])
        if client is None or not hmac.compare_digest(
            client.client_secret.encode(), found[1].encode()
        ):
            return False
        request.client = client
        return True

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        # Disabled grants never get here (unsupported_grant_type); this refuses oauthlib's
        # authorization-code grant, which it keeps as the handler of unknown grant types.
        return grant_type in self.config.grants

    def validate_user(self, username, password, client, request, *args, **kwargs):
        expected = self.owner.users.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            return False
        request.user = username
        return True

    # --- scopes ---

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        return list(self.owner.clients[client_id].default_scopes)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        return set(scopes) <= set(client.scopes)

    def get_original_scopes(self, refresh_token, request, *args, **kwargs):
        record = self.owner.token_record(refresh_token)
        return list(record.scopes) if record else []

    # --- tokens ---

    def save_bearer_token(self, token, request, *args, **kwargs):
        self.owner._save(token, request)

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        record = self.owner.token_record(refresh_token)
        if (
            record is None
            or record.kind != "refresh_token"
            or record.client_id != client.client_id
            or not record.is_active()
        ):
            return False
        request.user = record.user
        return True

    def rotate_refresh_token(self, request):
        return self.config.refresh_tokens == "rotate"

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        self.owner._revoke(token, client_id=request.client.client_id)

    def introspect_token(self, token, token_type_hint, request, *args, **kwargs):
        record = self.owner.token_record(token)
        if record is None or record.client_id != request.client.client_id:
            return None
        if not record.is_active():
            return None
        claims = {
            "scope": " ".join(record.scopes),
            "client_id": record.client_id,
            "token_type": "Bearer" if record.kind == "access_token" else "refresh_token",
            "iat": int(record.issued_at),
        }
        if record.user:
            claims["username"] = claims["sub"] = record.user
        if record.expires_at is not None:
            claims["exp"] = int(record.expires_at)
        return claims

    def validate_bearer_token(self, token, scopes, request):
        record = self.owner.token_record(token) if token else None
        if record is None or record.kind != "access_token" or not record.is_active():
            return False
        if not set(scopes or []) <= set(record.scopes):
            return False
        request.user = record.user
        request.client_id = record.client_id
        request.scopes = list(record.scopes)
        return True


def _jwt_generator(private_pem: bytes):
    """oauthlib's RS256 signed-token generator with the claims of a typical JWT access token."""

    def generate(request) -> str:
        request.claims = {
            "sub": request.user or request.client_id,
            "client_id": request.client_id,
            "scope": " ".join(request.scopes or []),
            "iat": int(time.time()),
            "jti": uuid.uuid4().hex,
        }
        return common.generate_signed_token(private_pem, request)

    return generate


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: ConformanceServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    # HTTP/1.0: one request per connection, so no handler thread outlives its answer.
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):
        pass

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {name: value for name, value in self.headers.items()}
        path = urlsplit(self.path).path
        self.server.owner._log(
            ReceivedRequest(method, path, headers, dict(parse_qsl(body, keep_blank_values=True)))
        )
        status, answer_headers, answer_body = self.server.owner._answer(
            method, self.path, headers, body
        )
        encoded = answer_body.encode("utf-8")
        self.send_response(status)
        for name, value in answer_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        if encoded:
            self.wfile.write(encoded)


class ConformanceServer:
    """oauthlib behind real HTTP. Start with :meth:`running` (a context manager) or
    :meth:`start` / :meth:`stop`; change behaviour at any time with :meth:`configure`."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.clients: dict[str, Client] = {}
        self.users: dict[str, str] = {}
        self.requests: list[ReceivedRequest] = []
        self._tokens: dict[str, TokenRecord] = {}
        self._lock = threading.RLock()
        self._private_pem: bytes | None = None
        self.jwt_public_key: bytes | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add_client(CLIENT_ID, CLIENT_SECRET)
        self.add_client(PLAIN_CLIENT_ID, PLAIN_CLIENT_SECRET)
        self.add_user(USERNAME, USER_PASSWORD)
        self.config = config or ServerConfig()
        self._oauth = self._build(self.config)

    # --- set-up ---

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        *,
        scopes=SCOPES,
        default_scopes=DEFAULT_SCOPES,
    ) -> Client:
        client = Client(client_id, client_secret, frozenset(scopes), tuple(default_scopes))
        with self._lock:
            self.clients[client_id] = client
        return client

    def add_user(self, username: str, password: str) -> None:
        with self._lock:
            self.users[username] = password

    def configure(self, **changes) -> ServerConfig:
        """Replace knobs of :class:`ServerConfig` (the rest stay); takes effect at once.
        Issued tokens are kept."""
        for name in ("grants", "client_auth_methods"):
            if name in changes:
                changes[name] = frozenset(changes[name])
        config = dataclasses.replace(self.config, **changes)
        oauth = self._build(config)
        with self._lock:
            self.config = config
            self._oauth = oauth
        return config

    def _build(self, config: ServerConfig) -> Server:
        validator = _Validator(self, config)
        if config.token_format == "jwt":
            generator = _jwt_generator(self._signing_key())
        else:
            generator = random_token_generator
        oauth = Server(
            validator,
            token_expires_in=config.expires_in,
            token_generator=generator,
            # Refresh tokens stay opaque whatever the access tokens are.
            refresh_token_generator=random_token_generator,
        )
        # Answer an exception in storage with 500 server_error, as a server would.
        oauth.catch_errors = True
        if config.refresh_tokens == "omit":
            oauth.refresh_grant = RefreshTokenGrant(validator, issue_new_refresh_tokens=False)
            oauth.grant_types["refresh_token"] = oauth.refresh_grant
        for grant in GRANTS - config.grants:
            # Unknown grant types reach oauthlib's default handler: unsupported_grant_type.
            del oauth.grant_types[grant]
        # The device-code grant is no part of this server.
        oauth.grant_types.pop("urn:ietf:params:oauth:grant-type:device_code", None)
        return oauth

    def _signing_key(self) -> bytes:
        if self._private_pem is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._private_pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            self.jwt_public_key = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        return self._private_pem

    # --- running ---

    def start(self) -> None:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        # A short poll interval: stop() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="conformance-oauth-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = self._thread = None

    @contextmanager
    def running(self) -> Iterator[ConformanceServer]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    @property
    def revoke_url(self) -> str:
        return self.url + REVOKE_PATH

    @property
    def introspect_url(self) -> str:
        return self.url + INTROSPECT_PATH

    @property
    def resource_url(self) -> str:
        return self.url + RESOURCE_PATH

    # --- the server's truth ---

    def token_record(self, token: str) -> TokenRecord | None:
        """A copy of what the server knows about ``token`` (None: never issued here)."""
        with self._lock:
            record = self._tokens.get(token)
            return dataclasses.replace(record) if record else None

    def is_active(self, token: str) -> bool:
        """True while ``token`` was issued here and is neither revoked, rotated away nor expired."""
        record = self.token_record(token)
        return record is not None and record.is_active()

    def active_tokens(self, kind: TokenKind | None = None) -> list[TokenRecord]:
        with self._lock:
            records = [dataclasses.replace(r) for r in self._tokens.values()]
        return [r for r in records if r.is_active() and (kind is None or r.kind == kind)]

    def requests_to(self, path: str) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # --- called by the validator and the handler ---

    def _save(self, token: dict, request) -> None:
        now = time.time()
        client_id = request.client.client_id
        new_refresh = token.get("refresh_token")
        with self._lock:
            old_refresh = None
            if request.grant_type == "refresh_token":
                old_refresh = self._tokens[request.refresh_token]
                grant_id = old_refresh.grant_id
                if new_refresh and new_refresh != old_refresh.value:
                    old_refresh.rotated_away = True
            else:
                grant_id = uuid.uuid4().hex
            refresh_value = new_refresh or (old_refresh.value if old_refresh else None)
            if new_refresh and new_refresh not in self._tokens:
                # RFC 6749 §6: a new refresh token has exactly the old one's scope.
                scopes = old_refresh.scopes if old_refresh else tuple(request.scopes or ())
                self._tokens[new_refresh] = TokenRecord(
                    value=new_refresh,
                    kind="refresh_token",
                    client_id=client_id,
                    user=request.user,
                    scopes=scopes,
                    grant_id=grant_id,
                    issued_at=now,
                )
            self._tokens[token["access_token"]] = TokenRecord(
                value=token["access_token"],
                kind="access_token",
                client_id=client_id,
                user=request.user,
                scopes=tuple(request.scopes or ()),
                grant_id=grant_id,
                issued_at=now,
                expires_at=now + int(token["expires_in"]),
                refresh_token=refresh_value,
            )

    def _revoke(self, token: str, *, client_id: str) -> None:
        with self._lock:
            record = self._tokens.get(token)
            # RFC 7009 §2.2: a token of another client or an unknown one changes nothing.
            if record is None or record.client_id != client_id:
                return
            record.revoked = True
            if record.kind == "refresh_token":
                # RFC 7009 §2.1: the access tokens of the same grant go with it.
                for other in self._tokens.values():
                    if other.grant_id == record.grant_id:
                        other.revoked = True

    def _log(self, received: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(received)

    def _answer(self, method: str, target: str, headers: dict, body: str):
        with self._lock:
            oauth, config = self._oauth, self.config
        uri = self.url + target
        path = urlsplit(target).path
        if method == "POST" and path == TOKEN_PATH:
            answer_headers, answer, status = oauth.create_token_response(uri, "POST", body, headers)
            if status == 200 and not config.send_expires_in:
                data = json.loads(answer)
                data.pop("expires_in", None)
                answer = json.dumps(data)
            return status, answer_headers, answer
        if method == "POST" and path == REVOKE_PATH:
            answer_headers, answer, status = oauth.create_revocation_response(
                uri, "POST", body, headers
            )
            if status == 200 and config.revoke_content_type:
                answer_headers = {**answer_headers, "Content-Type": config.revoke_content_type}
            return status, answer_headers, answer
        if method == "POST" and path == INTROSPECT_PATH:
            answer_headers, answer, status = oauth.create_introspect_response(
                uri, "POST", body, headers
            )
            return status, answer_headers, answer
        if method == "GET" and path == RESOURCE_PATH:
            valid, request = oauth.verify_request(uri, "GET", None, headers, scopes=[])
            if not valid:
                # RFC 6750 §3.1: no error code when the request carried no token at all.
                presented = "Authorization" in request.headers or request.access_token
                challenge = 'Bearer realm="conformance"'
                if presented:
                    challenge += ', error="invalid_token"'
                return 401, {"WWW-Authenticate": challenge}, ""
            data = {"user": request.user, "client_id": request.client_id, "scopes": request.scopes}
            return 200, {"Content-Type": "application/json"}, json.dumps(data)
        return 404, {"Content-Type": "application/json"}, json.dumps({"error": "not_found"})
