"""The Token API client: the only module of the portal that imports ``requests``.

It speaks a gateway's OAuth 2.0 Token API as docs/token-api.md describes it: the password,
refresh-token and client-credentials grants at the token URL, RFC 7009 revocation at the revoke
URL and, where a gateway offers it, RFC 7662 introspection. Keeping the HTTP session, timeouts,
client authentication and the reading of answers in one place means one place decides what
reaches a gateway and what the portal believes of its answers.

Contract for callers (``from portal.gateway import client``; call ``client.password_grant(...)``;
the calls are ``password_grant``, ``refresh_grant``, ``client_credentials_grant``, ``revoke`` and
``introspect``, and their types are at hand as ``client.TokenResponse`` and so on):

- Every call takes one :class:`ClientCredentials` (the gateway and an application's consumer key
  and secret; the vault builds it from a stored credential). A gateway is any object with
  ``token_url``, ``revoke_url``, ``client_auth`` (``basic``, ``basic_raw`` or
  ``client_secret_post``), ``ca_bundle`` (a path or empty) and optionally ``introspection_url``.
  This module does not judge the URL scheme; the Gateway model does.
- Every failure raises one exception type, :class:`TokenApiError`, whose ``kind`` is machine-readable
  and whose ``message`` tells the user what to do. Neither the exception text, its repr, nor the one
  INFO log line per call ever contains a key, secret, password or token.
- Nothing is retried: a retried issuance can mint a second token (and, on WSO2, revoke the first).
- TLS verification is always on (the gateway's CA bundle or the system's); redirects are not
  followed; the response body is read up to 1 MB and no further.
- One deadline (``PORTAL_TOKEN_TIMEOUT``) bounds each call as a whole - connecting, headers and
  body - however slowly a gateway drips its answer; at most ``PORTAL_GATEWAY_MAX_CONCURRENT``
  calls per process wait on one gateway, the next is ``busy`` at once (see ``limits``).

Tests replace ``client.session`` (one module attribute) or point a gateway at a local server.
"""

from __future__ import annotations

import base64
import functools
import http.cookiejar
import logging
import threading
import time
import traceback
from urllib.parse import quote_plus, urlencode, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter

from portal.gateway import connections, limits
from portal.gateway.answers import (
    Answer,
    IntrospectionResult,
    RevokeResult,
    TokenResponse,
    parse_introspection,
    parse_revocation,
    parse_token,
    raise_for_error,
)
from portal.gateway.credentials import ClientCredentials, host_of
from portal.gateway.errors import NO_INTROSPECTION_URL_MESSAGE, NO_REVOKE_URL_MESSAGE, TokenApiError
from portal.gateway.errors import UnheldToken as UnheldToken  # for callers: client.UnheldToken
from portal.gateway.protocol import INTROSPECTION, REVOCATION, Grant

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


# --- The session --------------------------------------------------------------------------------

_session_lock = threading.Lock()
#: The process-wide pooled session, created on first use. Tests may replace this attribute.
session: requests.Session | None = None


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The session is shared by every user of the process: a cookie set by a gateway for one
    user's call must never ride along on another's."""

    def set_ok(self, cookie, request):
        return False

    def return_ok(self, cookie, request):
        return False


class _Adapter(HTTPAdapter):
    """Pools whose connections obey each call's deadline (``connections``)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(connections.POOL_CLASSES)


def _new_session() -> requests.Session:
    s = requests.Session()
    # No proxies, .netrc or CA bundle from the environment: what we call and trust is configuration.
    s.trust_env = False
    s.cookies.set_policy(_NoCookies())
    adapter = _Adapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s


# Every call's headers besides client authentication. Calls are prepared here and handed to
# ``Session.send`` (see ``_post``), so the session's own default headers are not used.
_HEADERS = {
    "User-Agent": "token-portal",
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded",
}


def get_session() -> requests.Session:
    """The pooled session (thread-safe lazy creation)."""
    global session
    current = session
    if current is None:
        with _session_lock:
            if session is None:
                session = _new_session()
            current = session
    return current


# --- Helpers ------------------------------------------------------------------------------------


@sensitive_variables("credentials", "key", "secret", "pair", "encoded")
def _client_auth(credentials: ClientCredentials) -> tuple[dict, list]:
    """Headers and extra form fields for the gateway's client-authentication style."""
    key, secret = credentials.consumer_key, credentials.consumer_secret
    style = getattr(credentials.gateway, "client_auth", "basic") or "basic"
    if style == "client_secret_post":
        return {}, [("client_id", key), ("client_secret", secret)]
    if style == "basic":
        # RFC 6749 §2.3.1: form-urlencode each part, then base64.
        pair = f"{quote_plus(key)}:{quote_plus(secret)}"
    elif style == "basic_raw":
        # WSO2's documentation: base64 of the raw "key:secret".
        pair = f"{key}:{secret}"
    else:
        raise ValueError(f"unknown client authentication style {style!r}")
    encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return {"Authorization": f"Basic {encoded}"}, []


def _scope_param(scopes) -> list[tuple[str, str]]:
    if not scopes:
        return []
    joined = " ".join(s.strip() for s in scopes if s and s.strip())
    return [("scope", joined)] if joined else []


@sensitive_variables("token", "form")
def _token_form(token: str, token_type_hint: str | None) -> list[tuple[str, str]]:
    """The body of a revocation or introspection request (RFC 7009 §2.1, RFC 7662 §2.1)."""
    form = [("token", token)]
    if token_type_hint:
        form.append(("token_type_hint", str(token_type_hint)))
    return form


@sensitive_variables("chunks", "chunk")
def _read_limited(response: requests.Response, grant: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TokenApiError(
            "bad_response",
            status=response.status_code,
            grant=grant,
            detail="The answer is larger than 1 MB.",
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise TokenApiError(
                "bad_response",
                status=response.status_code,
                grant=grant,
                detail="The answer is larger than 1 MB.",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _gateway_key(url: str) -> str:
    """Calls in flight are counted per server: host and port of the URL called."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    except ValueError:
        return url


class _CallLog:
    """Logs one INFO line per call - host, grant, status, outcome, duration; never a secret."""

    def __init__(self, url: str, grant: str) -> None:
        self.url, self.grant = url, grant
        self.status: int | None = None
        self.started = time.monotonic()

    def __enter__(self) -> _CallLog:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            outcome = "ok"
        elif isinstance(exc, TokenApiError):
            outcome = exc.kind
            self.status = exc.status if exc.status is not None else self.status
        else:
            outcome = "error"
        logger.info(
            "token api call host=%s grant=%s status=%s outcome=%s duration_ms=%d",
            host_of(self.url),
            self.grant,
            self.status if self.status is not None else "-",
            outcome,
            (time.monotonic() - self.started) * 1000,
        )


@functools.lru_cache(maxsize=256)
def _prepared_url(url: str) -> str:
    """``url`` as requests prepares it (IDNA host, quoting): the same text for every call to a
    gateway, so worked out once per URL. Raises as ``PreparedRequest.prepare_url`` does."""
    request = requests.PreparedRequest()
    request.prepare_url(url, None)
    return request.url


@sensitive_variables("form", "headers", "request")
def _prepare(url: str, form: list[tuple[str, str]], headers: dict) -> requests.PreparedRequest:
    """The POST of ``form`` with ``headers`` besides ``_HEADERS``, ready for ``Session.send``.

    Built here rather than by ``Session.post``, which merges the session's cookies, headers,
    hooks and environment settings into every request: a third of the client's CPU per call,
    for nothing the portal uses (no cookies are kept, the environment is not trusted, the
    headers are ``_HEADERS``). The steps are ``Request.prepare``'s, in its order, except that the
    URL comes from ``_prepared_url``: going through ``Request`` and parsing the URL again cost
    three times as much as the rest. The form is encoded as requests encodes one (a test holds
    it to that)."""
    request = requests.PreparedRequest()
    request.prepare_method("POST")
    request.url = _prepared_url(url)
    request.prepare_headers({**_HEADERS, **headers})
    request.prepare_cookies(None)
    request.prepare_body(urlencode(form), None)
    request.prepare_auth(None, request.url)
    request.prepare_hooks(None)
    return request


@sensitive_variables("credentials", "headers", "extra", "form", "request", "body")
def _post(
    credentials: ClientCredentials,
    *,
    url: str,
    grant: str,
    form: list[tuple[str, str]],
    log: _CallLog,
) -> Answer:
    """POST the form with client authentication and read at most MAX_BODY_BYTES of the answer,
    all within one deadline, holding one of the gateway's call slots.

    Transport failures raise TokenApiError; an HTTP answer of any status is returned as Answer.
    The requests exception is not chained (``from None``): it holds the prepared request, whose
    headers carry the client credentials.
    """
    headers, extra = _client_auth(credentials)
    connect_timeout = float(settings.PORTAL_TOKEN_CONNECT_TIMEOUT)
    timeout = float(settings.PORTAL_TOKEN_TIMEOUT)
    try:
        with (
            limits.call_slot(_gateway_key(url), int(settings.PORTAL_GATEWAY_MAX_CONCURRENT)),
            limits.Deadline(timeout) as deadline,
        ):
            try:
                request = _prepare(url, form + extra, headers)
                with get_session().send(
                    request,
                    timeout=(connect_timeout, timeout),
                    verify=getattr(credentials.gateway, "ca_bundle", "") or True,
                    allow_redirects=False,
                    stream=True,
                ) as response:
                    log.status = response.status_code
                    body = _read_limited(response, grant)
            except requests.exceptions.RequestException as exc:
                raise _transport_error(exc, grant, log.status, deadline.expired) from None
            except TokenApiError:
                raise
            except Exception as exc:
                # A bug below us. The frames of its traceback hold the request (the form, the
                # Authorization header) and an error report would show them: keep only where.
                raise RuntimeError(f"unexpected error in the HTTP client: {_where(exc)}") from None
            if not deadline.finish():
                # Cut off by the deadline: what was read may look like a whole (empty) answer.
                raise TokenApiError("timeout", status=log.status, grant=grant)
            return Answer(response.status_code, response.headers, body)
    except limits.GatewayBusy:
        raise TokenApiError("busy", grant=grant) from None


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    place = f" at {last.filename}:{last.lineno} in {last.name}" if last else ""
    return type(exc).__name__ + place


def _transport_error(
    exc: requests.exceptions.RequestException, grant: str, status: int | None, cut_off: bool
) -> TokenApiError:
    if cut_off:
        # The deadline shut the socket down; whatever broke next is the gateway being too slow.
        return TokenApiError("timeout", status=status, grant=grant)
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        detail = "The answer could not be decoded."
        return TokenApiError("bad_response", status=status, grant=grant, detail=detail)
    if isinstance(exc, requests.exceptions.SSLError):
        return TokenApiError("tls", grant=grant)
    if isinstance(exc, requests.exceptions.Timeout):
        return TokenApiError("timeout", status=status, grant=grant)
    # A read timeout while streaming the body arrives wrapped in a ConnectionError.
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3.exceptions.ReadTimeoutError):
        return TokenApiError("timeout", status=status, grant=grant)
    return TokenApiError("connection", status=status, grant=grant)


@sensitive_variables("credentials", "form", "secrets", "answer")
def _token_call(
    credentials: ClientCredentials,
    *,
    grant: str,
    form: list[tuple[str, str]],
    requested: list[str],
    secrets: tuple[str, ...],
) -> TokenResponse:
    """One token request; ``secrets`` are the call's own secrets besides the client's."""
    secrets = (credentials.consumer_key, credentials.consumer_secret, *secrets)
    url = credentials.gateway.token_url
    with _CallLog(url, grant) as log:
        answer = _post(credentials, url=url, grant=grant, form=form, log=log)
        if answer.status != 200:
            raise_for_error(answer, grant, secrets)
        return parse_token(answer, grant, requested)


# --- The calls ----------------------------------------------------------------------------------


@sensitive_variables("credentials", "password", "form")
def password_grant(
    credentials: ClientCredentials, *, username: str, password: str, scopes: list[str]
) -> TokenResponse:
    """A user token (resource-owner password grant). ``username`` as the gateway expects it."""
    requested = list(scopes or [])
    form = [
        ("grant_type", Grant.PASSWORD.value),
        ("username", username),
        ("password", password),
        *_scope_param(requested),
    ]
    return _token_call(
        credentials,
        grant=Grant.PASSWORD.value,
        form=form,
        requested=requested,
        secrets=(password,),
    )


@sensitive_variables("credentials", "refresh_token", "form")
def refresh_grant(
    credentials: ClientCredentials, *, refresh_token: str, scopes: list[str] | None = None
) -> TokenResponse:
    """Renew with a refresh token. Refresh tokens rotate: store the new one, forget the old."""
    requested = list(scopes or [])
    form = [
        ("grant_type", Grant.REFRESH_TOKEN.value),
        ("refresh_token", refresh_token),
        *_scope_param(requested),
    ]
    return _token_call(
        credentials,
        grant=Grant.REFRESH_TOKEN.value,
        form=form,
        requested=requested,
        secrets=(refresh_token,),
    )


@sensitive_variables("credentials", "form")
def client_credentials_grant(credentials: ClientCredentials, *, scopes: list[str]) -> TokenResponse:
    """An application token (no user); gateways return no refresh token for it."""
    requested = list(scopes or [])
    form = [("grant_type", Grant.CLIENT_CREDENTIALS.value), *_scope_param(requested)]
    return _token_call(
        credentials,
        grant=Grant.CLIENT_CREDENTIALS.value,
        form=form,
        requested=requested,
        secrets=(),
    )


@sensitive_variables("credentials", "token", "form", "secrets", "answer")
def revoke(
    credentials: ClientCredentials, token: str, token_type_hint: str | None = None
) -> RevokeResult:
    """RFC 7009 revocation. Prefer revoking the refresh token: it takes its access token along.

    A 2xx with an empty body (any Content-Type) is acceptance - WSO2 answers so even for unknown
    tokens; a page or other text instead is ``bad_response``. The ``Revoked*`` headers, when sent,
    say what was revoked; they are never required. Errors raise TokenApiError like the token
    calls.
    """
    secrets = (credentials.consumer_key, credentials.consumer_secret, token)
    url = getattr(credentials.gateway, "revoke_url", "")
    if not url:
        raise TokenApiError("invalid_request", grant=REVOCATION, message=NO_REVOKE_URL_MESSAGE)
    form = _token_form(token, token_type_hint)
    with _CallLog(url, REVOCATION) as log:
        answer = _post(credentials, url=url, grant=REVOCATION, form=form, log=log)
        if not 200 <= answer.status < 300:
            raise_for_error(answer, REVOCATION, secrets)
        return parse_revocation(answer, REVOCATION)


@sensitive_variables("credentials", "token", "form", "secrets", "answer")
def introspect(
    credentials: ClientCredentials, token: str, token_type_hint: str | None = None
) -> IntrospectionResult:
    """RFC 7662 introspection: is ``token`` still active, and until when? Only for gateways with
    an ``introspection_url`` (without one this raises ``invalid_request``). Errors raise
    TokenApiError like the other calls."""
    secrets = (credentials.consumer_key, credentials.consumer_secret, token)
    url = getattr(credentials.gateway, "introspection_url", "") or ""
    if not url:
        raise TokenApiError(
            "invalid_request", grant=INTROSPECTION, message=NO_INTROSPECTION_URL_MESSAGE
        )
    form = _token_form(token, token_type_hint)
    with _CallLog(url, INTROSPECTION) as log:
        answer = _post(credentials, url=url, grant=INTROSPECTION, form=form, log=log)
        if answer.status != 200:
            raise_for_error(answer, INTROSPECTION, secrets)
        return parse_introspection(answer, INTROSPECTION)
