"""The Token API client: the only module of the portal that imports ``requests``.

It speaks the WSO2 Token API described in ``wso2-token-api.md``: the password, refresh-token and
client-credentials grants at ``<gateway>/token`` and RFC 7009 revocation at ``<gateway>/revoke``.

Contract for callers (``from portal.tokens import client``; call ``client.password_grant(...)``):

- A gateway is any object with ``token_url``, ``revoke_url``, ``client_auth`` (``basic``,
  ``basic_raw`` or ``client_secret_post``) and ``ca_bundle`` (a path or empty). This module does not
  judge the URL scheme; the Gateway model does.
- Every failure raises one exception type, :class:`TokenApiError`, whose ``kind`` is machine-readable
  and whose ``message`` tells the user what to do. Neither the exception text, its repr, nor the one
  INFO log line per call ever contains a key, secret, password or token.
- Nothing is retried: a retried issuance can mint a second token (and, on WSO2, revoke the first).
- TLS verification is always on (the gateway's CA bundle or the system's); redirects are not
  followed; the response body is read up to 1 MB and no further.

Tests replace ``client.session`` (one module attribute) or point a gateway at a local server.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import http.cookiejar
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote_plus, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
MAX_DETAIL_CHARS = 200

CLIENT_AUTH_STYLES = ("basic", "basic_raw", "client_secret_post")

GRANT_PASSWORD = "password"
GRANT_REFRESH = "refresh_token"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
REVOCATION = "revoke"


class Gateway(Protocol):
    token_url: str
    revoke_url: str
    client_auth: str
    ca_bundle: str


# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenResponse:
    """A successful token response. Secret fields are left out of ``repr`` so logs never show them.

    ``scopes`` are the scopes the gateway *granted* (which may differ from the requested ones).
    ``jwt_claims`` is the access token's payload when it is a JWT, decoded without any signature
    check: for display only, never for a security decision.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int
    scopes: list[str]
    id_token: str | None = field(default=None, repr=False)
    jwt_claims: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RevokeResult:
    """The gateway accepted a revocation (HTTP 200). WSO2 answers 200 even for unknown tokens; the
    ``Revoked*`` headers, when present, say what was really revoked (None: no such header)."""

    accepted: bool
    revoked_access_token: str | None = field(default=None, repr=False)
    revoked_refresh_token: str | None = field(default=None, repr=False)
    authorized_user: str | None = None


# --- Errors -------------------------------------------------------------------------------------

KINDS = (
    "invalid_client",
    "invalid_grant",
    "invalid_scope",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_request",
    "rate_limited",
    "unavailable",
    "timeout",
    "connection",
    "tls",
    "bad_response",
)

_OAUTH_ERRORS = {
    "invalid_client",
    "invalid_grant",
    "invalid_scope",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_request",
}

_GRANT_WORDS = {
    GRANT_PASSWORD: "password",
    GRANT_REFRESH: "refresh-token",
    GRANT_CLIENT_CREDENTIALS: "client-credentials",
    REVOCATION: "revocation",
}


def _message(kind: str, grant: str, retry_after: int | None, status: int | None) -> str:
    if kind == "invalid_client":
        return (
            "The gateway rejected this credential's consumer key or secret — ask the team owner "
            "to update the credential."
        )
    if kind == "invalid_grant":
        if grant == GRANT_PASSWORD:
            return (
                "The gateway rejected the username or password. Check your API Store password "
                "(and the username the portal built for you)."
            )
        if grant == GRANT_REFRESH:
            return "This token can no longer be renewed — generate a new token."
        return (
            "The gateway refused to issue a token for this application — ask the team owner to "
            "check the application in the API Store."
        )
    if kind == "invalid_scope":
        if grant == GRANT_REFRESH:
            return (
                "The gateway refused the scopes: a renewal may only ask for scopes of the "
                "original token. Renew without changing scopes, or generate a new token."
            )
        return "The gateway refused the requested scopes. Request fewer or other scopes."
    if kind in ("unauthorized_client", "unsupported_grant_type"):
        return (
            f"The gateway does not allow the {_GRANT_WORDS.get(grant, grant)} grant for this "
            "application — enable it for the application in the API Store, or ask the team owner."
        )
    if kind == "invalid_request":
        return (
            "The gateway said the request was malformed. Try again; if it keeps happening, tell "
            "an administrator (the gateway may be configured differently from what the portal "
            "expects)."
        )
    if kind == "rate_limited":
        when = f"in {retry_after} seconds" if retry_after is not None else "in a little while"
        return f"The gateway is busy and asked us to wait. Try again {when}."
    if kind == "unavailable":
        code = f" (HTTP {status})" if status else ""
        return f"The gateway is having trouble{code}. Try again in a few minutes."
    if kind == "timeout":
        return (
            "The gateway did not answer in time. Try again in a minute; if it keeps happening, "
            "tell an administrator."
        )
    if kind == "connection":
        return (
            "The portal could not reach the gateway. Try again later; if it keeps happening, "
            "tell an administrator."
        )
    if kind == "tls":
        return (
            "The gateway's TLS certificate could not be verified, so the portal did not send "
            "anything. An administrator must fix the gateway's certificate or its CA bundle."
        )
    # bad_response
    return (
        "The gateway's answer was not a valid token response. Try again; if it keeps happening, "
        "tell an administrator."
    )


class TokenApiError(Exception):
    """The one error of the Token API client.

    ``kind`` is one of :data:`KINDS`; ``status`` the HTTP status (None when no answer arrived);
    ``message`` a user-facing sentence saying what to do; ``retry_after`` seconds for
    ``rate_limited`` when the gateway said; ``detail`` a sanitized, length-limited diagnostic (the
    gateway's ``error_description`` or what was wrong with the answer) - never branch on it.
    None of these ever holds a secret.
    """

    def __init__(
        self,
        kind: str,
        *,
        status: int | None = None,
        grant: str = "",
        message: str | None = None,
        detail: str = "",
        retry_after: int | None = None,
        error_code: str = "",
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown TokenApiError kind {kind!r}")
        self.kind = kind
        self.status = status
        self.grant = grant
        self.retry_after = retry_after
        self.detail = detail
        self.error_code = error_code
        self.message = message or _message(kind, grant, retry_after, status)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TokenApiError(kind={self.kind!r}, status={self.status!r})"


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


def _new_session() -> requests.Session:
    s = requests.Session()
    # No proxies, .netrc or CA bundle from the environment: what we call and trust is configuration.
    s.trust_env = False
    s.cookies.set_policy(_NoCookies())
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    s.headers.update({"User-Agent": "token-portal", "Accept": "application/json"})
    return s


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

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _sanitize(text: Any, secrets: tuple[str, ...]) -> str:
    """A printable, length-limited diagnostic; empty if it would reveal any of ``secrets``."""
    if not isinstance(text, str):
        return ""
    for secret in secrets:
        if secret and secret in text:
            return ""
    return _CONTROL.sub(" ", text).strip()[:MAX_DETAIL_CHARS]


@sensitive_variables("consumer_key", "consumer_secret", "pair")
def _client_auth(gateway, consumer_key: str, consumer_secret: str) -> tuple[dict, list]:
    """Headers and extra form fields for the gateway's client-authentication style."""
    style = getattr(gateway, "client_auth", "basic") or "basic"
    if style == "client_secret_post":
        return {}, [("client_id", consumer_key), ("client_secret", consumer_secret)]
    if style == "basic":
        # RFC 6749 §2.3.1: form-urlencode each part, then base64.
        pair = f"{quote_plus(consumer_key)}:{quote_plus(consumer_secret)}"
    elif style == "basic_raw":
        # WSO2's documentation: base64 of the raw "key:secret".
        pair = f"{consumer_key}:{consumer_secret}"
    else:
        raise ValueError(f"unknown client authentication style {style!r}")
    encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return {"Authorization": f"Basic {encoded}"}, []


def _scope_param(scopes) -> list[tuple[str, str]]:
    if not scopes:
        return []
    joined = " ".join(s.strip() for s in scopes if s and s.strip())
    return [("scope", joined)] if joined else []


def _retry_after(value: str | None) -> int | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value), 86400)
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):  # a gateway's header, any shape
        return None
    return max(0, min(int(seconds), 86400))


def _b64url_json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def decode_jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a three-part base64url token, or None. No signature check: display only."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        claims = _b64url_json(parts[1])
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return claims if isinstance(claims, dict) else None


class _Answer:
    """What came back: status, headers and at most MAX_BODY_BYTES of body."""

    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None


def _read_limited(response: requests.Response, deadline: float, grant: str) -> bytes:
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
        # A gateway that drips bytes forever must not hold the request forever.
        if time.monotonic() > deadline:
            raise TokenApiError("timeout", status=response.status_code, grant=grant)
        chunks.append(chunk)
    return b"".join(chunks)


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


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
            _host(self.url),
            self.grant,
            self.status if self.status is not None else "-",
            outcome,
            (time.monotonic() - self.started) * 1000,
        )


@sensitive_variables("headers", "extra", "form", "consumer_key", "consumer_secret")
def _post(
    *,
    gateway,
    url: str,
    grant: str,
    form: list[tuple[str, str]],
    consumer_key: str,
    consumer_secret: str,
    log: _CallLog,
) -> _Answer:
    """POST the form with client authentication and read at most MAX_BODY_BYTES of the answer.

    Transport failures raise TokenApiError; an HTTP answer of any status is returned as _Answer.
    The requests exception is not chained (``from None``): it holds the prepared request, whose
    headers carry the client credentials.
    """
    headers, extra = _client_auth(gateway, consumer_key, consumer_secret)
    connect_timeout = float(settings.PORTAL_TOKEN_CONNECT_TIMEOUT)
    read_timeout = float(settings.PORTAL_TOKEN_TIMEOUT)
    deadline = time.monotonic() + connect_timeout + read_timeout
    try:
        with get_session().post(
            url,
            data=form + extra,
            headers=headers,
            timeout=(connect_timeout, read_timeout),
            verify=getattr(gateway, "ca_bundle", "") or True,
            allow_redirects=False,
            stream=True,
        ) as response:
            log.status = response.status_code
            body = _read_limited(response, deadline, grant)
            return _Answer(response.status_code, response.headers, body)
    except TokenApiError:
        raise
    except requests.exceptions.ContentDecodingError:
        raise TokenApiError(
            "bad_response",
            status=log.status,
            grant=grant,
            detail="The answer could not be decoded.",
        ) from None
    except requests.exceptions.SSLError:
        raise TokenApiError("tls", grant=grant) from None
    except requests.exceptions.Timeout:
        raise TokenApiError("timeout", status=log.status, grant=grant) from None
    except requests.exceptions.ConnectionError as exc:
        # A read timeout while streaming the body arrives wrapped in a ConnectionError.
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            raise TokenApiError("timeout", status=log.status, grant=grant) from None
        raise TokenApiError("connection", status=log.status, grant=grant) from None
    except requests.exceptions.RequestException:
        raise TokenApiError("connection", status=log.status, grant=grant) from None


@sensitive_variables("secrets")
def _raise_for_error(answer: _Answer, grant: str, secrets: tuple[str, ...]) -> None:
    """Map a non-2xx answer to TokenApiError (branching on ``error``, never on its description)."""
    status = answer.status
    data = answer.json()
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, str) else ""
    description = data.get("error_description") if isinstance(data, dict) else None
    detail = _sanitize(description, secrets)
    code = _sanitize(error, secrets)[:64]

    retry_after = _retry_after(answer.headers.get("Retry-After"))
    if status == 429 or (status == 503 and retry_after is not None):
        raise TokenApiError(
            "rate_limited", status=status, grant=grant, retry_after=retry_after, detail=detail
        )
    if status >= 500:
        raise TokenApiError("unavailable", status=status, grant=grant, detail=detail)
    if error in _OAUTH_ERRORS:
        raise TokenApiError(error, status=status, grant=grant, detail=detail, error_code=code)
    if status == 401:
        # A 401 without an OAuth body (an HTML page from a proxy, say) is still the client's keys.
        raise TokenApiError("invalid_client", status=status, grant=grant, detail=detail)
    if 300 <= status < 400:
        detail = "The gateway answered with a redirect; its token URL is probably wrong."
    elif not detail:
        detail = f"HTTP {status}" + (f" with error {code!r}" if code else " without an OAuth error")
    raise TokenApiError("bad_response", status=status, grant=grant, detail=detail, error_code=code)


def _parse_token(answer: _Answer, grant: str, requested: list[str]) -> TokenResponse:
    def bad(why: str) -> TokenApiError:
        return TokenApiError("bad_response", status=answer.status, grant=grant, detail=why)

    data = answer.json()
    if not isinstance(data, dict):
        raise bad("The answer is not a JSON object (an HTML error page, perhaps).")
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise bad("The answer has no access_token.")
    expires_in = data.get("expires_in")
    if isinstance(expires_in, float) and expires_in.is_integer():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        raise bad("The answer's expires_in is missing or not an integer.")
    if expires_in < 0:
        raise bad("The answer's expires_in is negative.")
    token_type = data.get("token_type", "Bearer")
    if not isinstance(token_type, str) or not token_type:
        raise bad("The answer's token_type is not a string.")
    scope = data.get("scope")
    if scope is None:
        # RFC 6749 §5.1: scope may be omitted when it is exactly the requested one.
        scopes = list(requested)
    elif isinstance(scope, str):
        scopes = scope.split()
    elif isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        scopes = [s for s in scope if s]
    else:
        raise bad("The answer's scope is neither a string nor a list.")
    refresh_token = data.get("refresh_token")
    if refresh_token is not None and not isinstance(refresh_token, str):
        raise bad("The answer's refresh_token is not a string.")
    id_token = data.get("id_token")
    if id_token is not None and not isinstance(id_token, str):
        raise bad("The answer's id_token is not a string.")
    return TokenResponse(
        access_token=access_token,
        refresh_token=refresh_token or None,
        token_type=token_type,
        expires_in=expires_in,
        scopes=scopes,
        id_token=id_token or None,
        jwt_claims=decode_jwt_claims(access_token),
    )


@sensitive_variables("consumer_key", "consumer_secret", "form", "secrets")
def _token_call(
    *,
    gateway,
    grant: str,
    form: list[tuple[str, str]],
    consumer_key: str,
    consumer_secret: str,
    requested: list[str],
    secrets: tuple[str, ...],
) -> TokenResponse:
    with _CallLog(gateway.token_url, grant) as log:
        answer = _post(
            gateway=gateway,
            url=gateway.token_url,
            grant=grant,
            form=form,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            log=log,
        )
        if answer.status != 200:
            _raise_for_error(answer, grant, secrets)
        return _parse_token(answer, grant, requested)


# --- The calls ----------------------------------------------------------------------------------


@sensitive_variables("consumer_key", "consumer_secret", "password", "form")
def password_grant(
    *,
    gateway: Gateway,
    consumer_key: str,
    consumer_secret: str,
    username: str,
    password: str,
    scopes: list[str],
) -> TokenResponse:
    """A user token (resource-owner password grant). ``username`` as the gateway expects it."""
    requested = list(scopes or [])
    form = [
        ("grant_type", GRANT_PASSWORD),
        ("username", username),
        ("password", password),
        *_scope_param(requested),
    ]
    return _token_call(
        gateway=gateway,
        grant=GRANT_PASSWORD,
        form=form,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        requested=requested,
        secrets=(consumer_key, consumer_secret, password),
    )


@sensitive_variables("consumer_key", "consumer_secret", "refresh_token", "form")
def refresh_grant(
    *,
    gateway: Gateway,
    consumer_key: str,
    consumer_secret: str,
    refresh_token: str,
    scopes: list[str] | None = None,
) -> TokenResponse:
    """Renew with a refresh token. Refresh tokens rotate: store the new one, forget the old."""
    requested = list(scopes or [])
    form = [
        ("grant_type", GRANT_REFRESH),
        ("refresh_token", refresh_token),
        *_scope_param(requested),
    ]
    return _token_call(
        gateway=gateway,
        grant=GRANT_REFRESH,
        form=form,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        requested=requested,
        secrets=(consumer_key, consumer_secret, refresh_token),
    )


@sensitive_variables("consumer_key", "consumer_secret", "form")
def client_credentials_grant(
    *,
    gateway: Gateway,
    consumer_key: str,
    consumer_secret: str,
    scopes: list[str],
) -> TokenResponse:
    """An application token (no user); gateways return no refresh token for it."""
    requested = list(scopes or [])
    form = [("grant_type", GRANT_CLIENT_CREDENTIALS), *_scope_param(requested)]
    return _token_call(
        gateway=gateway,
        grant=GRANT_CLIENT_CREDENTIALS,
        form=form,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        requested=requested,
        secrets=(consumer_key, consumer_secret),
    )


def _looks_like_a_web_page(answer: _Answer) -> bool:
    content_type = (answer.headers.get("Content-Type") or "").lower()
    return "html" in content_type or answer.body.lstrip()[:1] == b"<"


@sensitive_variables("consumer_key", "consumer_secret", "token", "form", "secrets")
def revoke(
    *,
    gateway: Gateway,
    consumer_key: str,
    consumer_secret: str,
    token: str,
    token_type_hint: str | None = None,
) -> RevokeResult:
    """RFC 7009 revocation. Prefer revoking the refresh token: it takes its access token along.

    Any 2xx is acceptance (WSO2 answers 200 even for unknown tokens); the ``Revoked*`` headers,
    when sent, say what was revoked. Errors raise TokenApiError like the token calls.
    """
    secrets = (consumer_key, consumer_secret, token)
    if not getattr(gateway, "revoke_url", ""):
        raise TokenApiError(
            "invalid_request",
            grant=REVOCATION,
            message="This gateway has no revocation URL configured — tell an administrator.",
        )
    form = [("token", token)]
    if token_type_hint:
        form.append(("token_type_hint", token_type_hint))
    with _CallLog(gateway.revoke_url, REVOCATION) as log:
        answer = _post(
            gateway=gateway,
            url=gateway.revoke_url,
            grant=REVOCATION,
            form=form,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            log=log,
        )
        if not 200 <= answer.status < 300:
            _raise_for_error(answer, REVOCATION, secrets)
        if _looks_like_a_web_page(answer):
            # A proxy's error page with status 200 is not the gateway saying "revoked": RFC 7009
            # servers (WSO2 included) answer with an empty body. Claiming success here would
            # leave a live token recorded as revoked.
            raise TokenApiError(
                "bad_response",
                status=answer.status,
                grant=REVOCATION,
                detail="200 with an HTML page instead of an empty revocation answer",
            )
    return RevokeResult(
        accepted=True,
        revoked_access_token=answer.headers.get("RevokedAccessToken") or None,
        revoked_refresh_token=answer.headers.get("RevokedRefreshToken") or None,
        authorized_user=answer.headers.get("AuthorizedUser") or None,
    )
