"""The one error of the Token API client, and what the portal tells people about it.

Callers branch on ``TokenApiError.kind``; people read ``TokenApiError.message``. The sentences
are data (``MESSAGES``, keyed by kind and grant, with a fallback per kind) so the wording of every
outcome can be read and reviewed in one place, and a new kind cannot silently fall through to
another kind's advice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from portal.gateway.protocol import INTROSPECTION, REVOCATION, ErrorCode, Grant

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
    "busy",
)

# An OAuth error code of RFC 6749 §5.2 is its own kind.
OAUTH_KINDS = frozenset(code.value for code in ErrorCode)

# How a message names the call, e.g. "the client-credentials grant".
GRANT_WORDS = {
    Grant.PASSWORD.value: "password",
    Grant.REFRESH_TOKEN.value: "refresh-token",
    Grant.CLIENT_CREDENTIALS.value: "client-credentials",
    REVOCATION: "revocation",
    INTROSPECTION: "introspection",
}

_GRANT_NOT_ALLOWED = (
    "The gateway does not allow the {grant_words} grant for this application — enable it for "
    "the application in the API Store, or ask the team owner."
)

#: (kind, grant) -> the user-facing sentence; grant None is the kind's message for any call.
#: Placeholders: {grant_words} (GRANT_WORDS), {when} (from Retry-After), {http_status}.
MESSAGES: dict[tuple[str, str | None], str] = {
    ("invalid_client", None): (
        "The gateway rejected this credential's consumer key or secret — ask the team owner "
        "to update the credential."
    ),
    ("invalid_grant", Grant.PASSWORD.value): (
        "The gateway rejected the username or password. Check your API Store password "
        "(and the username the portal built for you)."
    ),
    ("invalid_grant", Grant.REFRESH_TOKEN.value): (
        "This token can no longer be renewed — generate a new token."
    ),
    ("invalid_grant", None): (
        "The gateway refused to issue a token for this application — ask the team owner to "
        "check the application in the API Store."
    ),
    ("invalid_scope", Grant.REFRESH_TOKEN.value): (
        "The gateway refused the scopes: a renewal may only ask for scopes of the "
        "original token. Renew without changing scopes, or generate a new token."
    ),
    ("invalid_scope", None): (
        "The gateway refused the requested scopes. Request fewer or other scopes."
    ),
    ("unauthorized_client", None): _GRANT_NOT_ALLOWED,
    ("unsupported_grant_type", None): _GRANT_NOT_ALLOWED,
    ("invalid_request", None): (
        "The gateway said the request was malformed. Try again; if it keeps happening, tell "
        "an administrator (the gateway may be configured differently from what the portal "
        "expects)."
    ),
    ("rate_limited", None): "The gateway is busy and asked us to wait. Try again {when}.",
    ("unavailable", None): (
        "The gateway is having trouble{http_status}. Try again in a few minutes."
    ),
    ("timeout", None): (
        "The gateway did not answer in time. Try again in a minute; if it keeps happening, "
        "tell an administrator."
    ),
    ("connection", None): (
        "The portal could not reach the gateway. Try again later; if it keeps happening, "
        "tell an administrator."
    ),
    ("tls", None): (
        "The gateway's TLS certificate could not be verified, so the portal did not send "
        "anything. An administrator must fix the gateway's certificate or its CA bundle."
    ),
    ("bad_response", None): (
        "The gateway's answer was not a valid token response. Try again; if it keeps "
        "happening, tell an administrator."
    ),
    ("busy", None): (
        "The gateway is busy with other requests from the portal. Try again in a moment."
    ),
}

NO_REVOKE_URL_MESSAGE = "This gateway has no revocation URL configured — tell an administrator."
NO_INTROSPECTION_URL_MESSAGE = (
    "This gateway has no introspection URL configured, so the portal cannot ask whether a token "
    "is still active."
)


def user_message(
    kind: str, grant: str = "", *, retry_after: int | None = None, status: int | None = None
) -> str:
    """The sentence for ``kind`` on a call of ``grant``: the grant's own, else the kind's."""
    template = MESSAGES.get((kind, grant)) or MESSAGES[(kind, None)]
    return template.format(
        grant_words=GRANT_WORDS.get(grant, grant),
        when=f"in {retry_after} seconds" if retry_after is not None else "in a little while",
        http_status=f" (HTTP {status})" if status else "",
    )


MAX_DETAIL_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def sanitize_detail(text: Any, secrets: tuple[str, ...]) -> str:
    """A printable, length-limited diagnostic; empty if it would reveal any of ``secrets``."""
    if not isinstance(text, str):
        return ""
    for secret in secrets:
        if secret and secret in text:
            return ""
    return _CONTROL.sub(" ", text).strip()[:MAX_DETAIL_CHARS]


@dataclass(frozen=True)
class UnheldToken:
    """A token the gateway issued in an answer the portal refused: nobody holds it, so the
    caller should revoke it. The token never appears in a repr."""

    token_type_hint: str
    token: str = field(repr=False)


class TokenApiError(Exception):
    """The one error of the Token API client.

    ``kind`` is one of :data:`KINDS`; ``status`` the HTTP status (None when no answer arrived);
    ``grant`` the call (a grant type, ``revoke`` or ``introspect``); ``message`` a user-facing sentence saying
    what to do; ``retry_after`` seconds for ``rate_limited`` when the gateway said; ``detail`` a
    sanitized, length-limited diagnostic (the gateway's ``error_description`` or what was wrong
    with the answer) - never branch on it; ``error_code`` the gateway's ``error`` value.
    None of these ever holds a secret.

    ``unheld_tokens`` (refresh token first) are tokens the gateway issued in an answer the
    portal refused; they are live upstream and nobody holds them, so the caller revokes them.
    They appear in no text, repr or log line of the error.
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
        unheld_tokens: tuple[UnheldToken, ...] = (),
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown TokenApiError kind {kind!r}")
        self.kind = kind
        self.status = status
        self.grant = str(grant)
        self.retry_after = retry_after
        self.detail = detail
        self.error_code = error_code
        self.unheld_tokens = tuple(unheld_tokens)
        self.message = message or user_message(
            kind, self.grant, retry_after=retry_after, status=status
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TokenApiError(kind={self.kind!r}, status={self.status!r})"
