"""Reading a gateway's answers: what a call returns, and when an answer is an error.

Every answer is judged by the RFCs first (RFC 6749 §5 for token answers, RFC 7009 §2.2 for
revocation, RFC 7662 §2.2 for introspection) and WSO2's habits second, so the portal keeps a true record against any conforming
server. Nothing here touches the network: the client hands over status, headers and body.
"""

from __future__ import annotations

import email.utils
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.views.decorators.debug import sensitive_variables

from portal.gateway.errors import OAUTH_KINDS, TokenApiError, UnheldToken, sanitize_detail
from portal.gateway.jwt import decode_jwt_claims
from portal.gateway.protocol import (
    AUTHORIZED_USER_HEADER,
    BEARER,
    REVOKED_ACCESS_TOKEN_HEADER,
    REVOKED_REFRESH_TOKEN_HEADER,
    TOKEN_PATTERN,
    TOKEN_TYPE_PATTERN,
    TokenTypeHint,
)


@dataclass(frozen=True)
class TokenResponse:
    """A successful token response. Secret fields are left out of ``repr`` so logs never show them.

    ``scopes`` are the scopes the gateway *granted* (which may differ from the requested ones).
    ``expires_in`` is the access token's lifetime in seconds, or None when the gateway did not
    say (RFC 6749 §5.1 recommends it but does not require it).
    ``jwt_claims`` is the access token's payload when it is a JWT, decoded without any signature
    check: for display only, never for a security decision.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int | None
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


@dataclass(frozen=True)
class IntrospectionResult:
    """What an introspection endpoint says of a token (RFC 7662 §2.2): ``active``, and for an
    active token its expiry (``exp``, seconds since the epoch), ``scope`` (space-separated) and
    ``token_type`` when the server says. Nothing is reported of an inactive token."""

    active: bool
    exp: int | None = None
    scope: str | None = None
    token_type: str | None = None

    @property
    def scopes(self) -> list[str]:
        return (self.scope or "").split()


class Answer:
    """What came back: status, headers and at most the client's size limit of body."""

    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None


def retry_after_seconds(value: str | None) -> int | None:
    """Retry-After as seconds (at most a day): either delta-seconds or an HTTP date."""
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


@sensitive_variables("answer", "secrets", "data", "description")
def raise_for_error(answer: Answer, grant: str, secrets: tuple[str, ...]) -> None:
    """Map a non-2xx answer to TokenApiError (branching on ``error``, never on its description).

    ``secrets`` are the values of the call that must never reach a diagnostic."""
    status = answer.status
    data = answer.json()
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, str) else ""
    description = data.get("error_description") if isinstance(data, dict) else None
    detail = sanitize_detail(description, secrets)
    code = sanitize_detail(error, secrets)[:64]

    retry_after = retry_after_seconds(answer.headers.get("Retry-After"))
    if status == 429 or (status == 503 and retry_after is not None):
        raise TokenApiError(
            "rate_limited", status=status, grant=grant, retry_after=retry_after, detail=detail
        )
    if status >= 500:
        raise TokenApiError("unavailable", status=status, grant=grant, detail=detail)
    if error in OAUTH_KINDS:
        raise TokenApiError(error, status=status, grant=grant, detail=detail, error_code=code)
    if status == 401:
        # A 401 without an OAuth body (an HTML page from a proxy, say) is still the client's keys.
        raise TokenApiError("invalid_client", status=status, grant=grant, detail=detail)
    if 300 <= status < 400:
        detail = "The gateway answered with a redirect; its token URL is probably wrong."
    elif not detail:
        detail = f"HTTP {status}" + (f" with error {code!r}" if code else " without an OAuth error")
    raise TokenApiError("bad_response", status=status, grant=grant, detail=detail, error_code=code)


@sensitive_variables("data", "value", "found")
def _unheld(data: dict) -> tuple[UnheldToken, ...]:
    """The tokens an answer carries, refresh token first (revoking it takes its access token
    along on most servers): what the gateway issued whether or not the portal accepts it."""
    found = []
    for hint in (TokenTypeHint.REFRESH_TOKEN, TokenTypeHint.ACCESS_TOKEN):
        value = data.get(hint.value)
        if isinstance(value, str) and value:
            found.append(UnheldToken(hint.value, value))
    return tuple(found)


@sensitive_variables("answer", "data", "access_token", "refresh_token", "id_token", "unheld")
def parse_token(answer: Answer, grant: str, requested: list[str]) -> TokenResponse:
    """A 200 token answer (RFC 6749 §5.1) as a TokenResponse, or ``bad_response``.

    A refused answer that carried tokens raises with them as ``unheld_tokens``: the gateway
    issued them, so the caller must revoke them."""
    unheld: tuple[UnheldToken, ...] = ()

    def bad(why: str) -> TokenApiError:
        return TokenApiError(
            "bad_response", status=answer.status, grant=grant, detail=why, unheld_tokens=unheld
        )

    data = answer.json()
    if not isinstance(data, dict):
        raise bad("The answer is not a JSON object (an HTML error page, perhaps).")
    unheld = _unheld(data)
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise bad("The answer has no access_token.")
    if not TOKEN_PATTERN.fullmatch(access_token):
        raise bad("The answer's access_token has characters a bearer token may not have.")
    # RFC 6749 §5.1: expires_in is RECOMMENDED; absent means the lifetime is not known.
    expires_in = data.get("expires_in")
    if "expires_in" in data:
        if isinstance(expires_in, float) and expires_in.is_integer():
            expires_in = int(expires_in)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int):
            raise bad("The answer's expires_in is not an integer.")
        if expires_in < 0:
            raise bad("The answer's expires_in is negative.")
    token_type = data.get("token_type", BEARER)
    if not isinstance(token_type, str) or not TOKEN_TYPE_PATTERN.fullmatch(token_type):
        raise bad("The answer's token_type is not a plain token type name.")
    token_type = _token_type(token_type)
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
    if refresh_token and not TOKEN_PATTERN.fullmatch(refresh_token):
        raise bad("The answer's refresh_token has characters a token may not have.")
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


def _token_type(value: str) -> str:
    # Case-insensitive (RFC 6749 §5.1); Bearer is recorded one way.
    return BEARER if value.lower() == BEARER.lower() else value


def parse_introspection(answer: Answer, grant: str) -> IntrospectionResult:
    """A 200 introspection answer (RFC 7662 §2.2) as an IntrospectionResult, or ``bad_response``.

    ``active`` is required and must be a boolean; ``exp``, ``scope`` and ``token_type`` are
    read when present and must have their RFC types."""

    def bad(why: str) -> TokenApiError:
        return TokenApiError("bad_response", status=answer.status, grant=grant, detail=why)

    data = answer.json()
    if not isinstance(data, dict):
        raise bad("The answer is not a JSON object (an HTML error page, perhaps).")
    active = data.get("active")
    if not isinstance(active, bool):
        raise bad("The answer's active is missing or not a boolean.")
    if not active:
        # An inactive token's other members are not to be relied on (RFC 7662 §2.2).
        return IntrospectionResult(active=False)
    exp = data.get("exp")
    if isinstance(exp, float) and exp.is_integer():
        exp = int(exp)
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, int) or exp < 0):
        raise bad("The answer's exp is not a time in whole seconds.")
    scope = data.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise bad("The answer's scope is not a string.")
    token_type = data.get("token_type")
    if token_type is not None:
        if not isinstance(token_type, str) or not TOKEN_TYPE_PATTERN.fullmatch(token_type):
            raise bad("The answer's token_type is not a plain token type name.")
        token_type = _token_type(token_type)
    return IntrospectionResult(active=True, exp=exp, scope=scope, token_type=token_type)


@sensitive_variables("answer", "data")  # the Revoked* headers are tokens
def parse_revocation(answer: Answer, grant: str) -> RevokeResult:
    """A 2xx revocation answer (RFC 7009 §2.2) as a RevokeResult, or ``bad_response``.

    A revocation answers with an empty body, whatever Content-Type it is labelled with (some
    servers say text/html); a JSON object that is not an error is accepted too. Anything else -
    a proxy's HTML error page, plain text - is not the server saying "revoked", and claiming
    success would leave a live token recorded as revoked.
    """
    body = answer.body.strip()
    if body:
        data = answer.json()
        if not isinstance(data, dict) or "error" in data:
            page = body[:1] == b"<" or "html" in (answer.headers.get("Content-Type") or "").lower()
            raise TokenApiError(
                "bad_response",
                status=answer.status,
                grant=grant,
                detail=f"{answer.status} with "
                + ("an HTML page" if page else "a body that is not a revocation answer")
                + " instead of an empty revocation answer",
            )
    return RevokeResult(
        accepted=True,
        revoked_access_token=answer.headers.get(REVOKED_ACCESS_TOKEN_HEADER) or None,
        revoked_refresh_token=answer.headers.get(REVOKED_REFRESH_TOKEN_HEADER) or None,
        authorized_user=answer.headers.get(AUTHORIZED_USER_HEADER) or None,
    )
