"""Every error of the API as an RFC 9457 problem (``application/problem+json``).

Each failure kind has one stable ``type``: the relative URI ``/api/v1/problems/<slug>``, the
same string on every deployment (clients compare it as a string) and, resolved against the
portal's address, a page that describes it. The kinds are data (``PROBLEMS``), as the gateway's
user messages are; how a gateway or service failure maps to one is ``FAILURE_PROBLEMS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers

TYPE_PREFIX = "/api/v1/problems/"
CONTENT_TYPE = "application/problem+json"
REALM = "token-portal"
# When the portal itself asks a client to wait and nobody said how long.
DEFAULT_RETRY_AFTER = 30


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str
    retry: bool = False  # answered with Retry-After

    @property
    def type(self) -> str:
        return TYPE_PREFIX + self.slug


_TYPES = [
    ProblemType(
        "unauthenticated",
        401,
        "Missing or invalid API key",
        "Send a valid, unexpired API key as 'Authorization: Bearer tpk_…'. The answer carries a "
        "WWW-Authenticate: Bearer header; 'reason' says what was wrong: missing, malformed, "
        "unknown, expired, revoked or inactive (the key's creator left the team or lost the "
        "key's role). Session cookies are not accepted.",
    ),
    ProblemType(
        "forbidden",
        403,
        "Not allowed with this API key",
        "The object is in the key's team, but the key's role does not allow the action (a viewer "
        "key issues nothing; an issuer key renews and revokes only its creator's tokens).",
    ),
    ProblemType(
        "not-found",
        404,
        "Not found",
        "No such object for this key: it does not exist, belongs to another team, or to a "
        "credential the key is not allowed to use. The API never tells these apart.",
    ),
    ProblemType(
        "method-not-allowed", 405, "Method not allowed", "See the Allow header for the methods."
    ),
    ProblemType(
        "malformed-request",
        400,
        "Malformed request",
        "The request body is not valid JSON, or a header is not in the expected form.",
    ),
    ProblemType(
        "validation",
        422,
        "Invalid fields",
        "One or more fields are invalid; 'errors' lists each with its 'field' and a 'message'.",
    ),
    ProblemType(
        "rate-limited",
        429,
        "Too many tokens",
        "The portal's per-person or per-team limit of token requests per minute was reached. "
        "Wait for Retry-After seconds.",
        retry=True,
    ),
    ProblemType(
        "idempotency-key-mismatch",
        422,
        "Idempotency-Key reused for a different request",
        "An Idempotency-Key gives one token for one request. This key was first used with a "
        "different credential, grant or scopes (or for another action); send a new key.",
    ),
    ProblemType(
        "idempotency-in-progress",
        409,
        "Request with this Idempotency-Key still in progress",
        "The first request with this Idempotency-Key has not finished yet. Retry after "
        "Retry-After seconds to get its result.",
        retry=True,
    ),
    ProblemType(
        "action-refused",
        409,
        "Action refused",
        "The portal refused the action in the token's or credential's current state (e.g. "
        "renewing a token without a refresh token, revoking a token that is no longer active, "
        "using an archived credential). 'detail' says why.",
    ),
    ProblemType(
        "gateway-rejected-password",
        400,
        "The gateway rejected the username or password",
        "The gateway answered invalid_grant to the password grant. Check the API Store password "
        "and the username. The failed attempt is recorded ('token_id').",
    ),
    ProblemType(
        "gateway-rejected-grant",
        409,
        "The gateway refused the grant",
        "The gateway answered invalid_grant: for a renewal, the refresh token is no longer "
        "valid - generate a new token.",
    ),
    ProblemType(
        "gateway-rejected-scope",
        400,
        "The gateway refused the scopes",
        "The gateway answered invalid_scope. Request fewer or other scopes.",
    ),
    ProblemType(
        "gateway-grant-not-allowed",
        400,
        "The gateway does not allow this grant",
        "The gateway answered unauthorized_client or unsupported_grant_type: the application "
        "is not enabled for this grant. Use another grant or ask the team owner.",
    ),
    ProblemType(
        "gateway-rejected-credential",
        502,
        "The gateway rejected the credential",
        "The gateway answered invalid_client: the stored consumer key or secret is wrong. A team "
        "owner must update the credential.",
    ),
    ProblemType(
        "gateway-bad-request",
        502,
        "The gateway called the request malformed",
        "The gateway answered invalid_request. Try again; tell an administrator if it persists.",
    ),
    ProblemType(
        "gateway-busy",
        503,
        "The gateway is busy",
        "The gateway asked the portal to slow down (HTTP 429 or 503 with Retry-After). Wait for "
        "Retry-After seconds and try again.",
        retry=True,
    ),
    ProblemType(
        "gateway-unavailable",
        503,
        "The gateway is unavailable",
        "The gateway could not be reached or answered with a server error. Try again later.",
        retry=True,
    ),
    ProblemType(
        "gateway-timeout",
        504,
        "The gateway did not answer in time",
        "No answer within the portal's timeout. The attempt is recorded as failed; try again.",
    ),
    ProblemType(
        "gateway-tls",
        502,
        "The gateway's certificate could not be verified",
        "Nothing was sent. An administrator must fix the gateway's certificate or CA bundle.",
    ),
    ProblemType(
        "gateway-bad-response",
        502,
        "The gateway's answer was not a valid token response",
        "Try again; tell an administrator if it persists.",
    ),
    ProblemType(
        "recording-failed",
        503,
        "The token could not be recorded",
        "The gateway issued a token but the portal could not record it, so it revoked it again "
        "at once. Nothing was lost; try again after Retry-After seconds.",
        retry=True,
    ),
    ProblemType(
        "stored-secret-unreadable",
        500,
        "A stored secret cannot be decrypted",
        "The credential or token was encrypted under a key the portal no longer has. A team "
        "owner must enter the credential again, or generate a new token.",
    ),
    ProblemType(
        "audit-unavailable",
        503,
        "The audit trail cannot be written",
        "The action was not performed because it could not be recorded. Try again later.",
        retry=True,
    ),
    ProblemType(
        "internal-error",
        500,
        "Internal error",
        "Something unexpected went wrong; the request id (X-Request-ID) helps an administrator.",
    ),
]

PROBLEMS: dict[str, ProblemType] = {p.slug: p for p in _TYPES}

# A failed token action's kind (``TokenApiError.kind`` recorded on the issuance, or a service's
# ``TokenActionError.kind``) -> the problem slug; ``(kind, grant)`` entries come first.
FAILURE_PROBLEMS: dict[tuple[str, str | None], str] = {
    ("invalid_grant", "password"): "gateway-rejected-password",
    ("invalid_grant", None): "gateway-rejected-grant",
    ("invalid_scope", None): "gateway-rejected-scope",
    ("unauthorized_client", None): "gateway-grant-not-allowed",
    ("unsupported_grant_type", None): "gateway-grant-not-allowed",
    ("invalid_client", None): "gateway-rejected-credential",
    ("invalid_request", None): "gateway-bad-request",
    ("rate_limited", None): "gateway-busy",
    ("busy", None): "gateway-busy",
    ("unavailable", None): "gateway-unavailable",
    ("connection", None): "gateway-unavailable",
    ("timeout", None): "gateway-timeout",
    ("tls", None): "gateway-tls",
    ("bad_response", None): "gateway-bad-response",
    ("recording_failed", None): "recording-failed",
    ("recording_failed_not_revoked", None): "recording-failed",
    ("credential_unreadable", None): "stored-secret-unreadable",
    ("token_unreadable", None): "stored-secret-unreadable",
    ("unreadable", None): "stored-secret-unreadable",
    ("internal_error", None): "internal-error",
    ("refused", None): "action-refused",
    ("already_final", None): "action-refused",
}


def problem_for_failure(kind: str, *, grant: str = "") -> ProblemType:
    slug = FAILURE_PROBLEMS.get((kind, grant)) or FAILURE_PROBLEMS.get((kind, None))
    return PROBLEMS[slug or "internal-error"]


def problem_response(
    slug: str,
    detail: str = "",
    *,
    instance: str = "",
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
    **extensions,
) -> HttpResponse:
    """The problem document of ``slug`` as a response; ``extensions`` become extra members."""
    problem = PROBLEMS[slug]
    body = {"type": problem.type, "title": problem.title, "status": problem.status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extensions.items() if v is not None})
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, default=str),
        status=problem.status,
        content_type=CONTENT_TYPE,
    )
    if problem.retry:
        response["Retry-After"] = str(retry_after if retry_after else DEFAULT_RETRY_AFTER)
    if problem.status == 401:
        response["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
    for name, value in (headers or {}).items():
        response[name] = value
    add_never_cache_headers(response)
    return response
