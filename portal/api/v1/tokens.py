"""Tokens: issue, list, read, renew, revoke - the generate, history and detail pages' services
behind the API's door. Thin: ``api.access`` for the object, the schema (or the pages' own filter
form) for the input, one service call, the answer."""

import uuid
from datetime import date
from typing import Literal

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status

from portal.api import access
from portal.api.v1.errors import FieldInvalid, IssuanceFailed, Problem
from portal.api.v1.schemas import (
    IssuedTokenOut,
    TokenIn,
    TokenOut,
    TokenPage,
    token_out,
)
from portal.api.v1.schemas import Problem as ProblemSchema
from portal.api.v1.schemas import ValidationProblem as ValidationSchema
from portal.teams.models import Role
from portal.tokens import selectors
from portal.tokens import services as token_services
from portal.tokens.forms import HistoryFilterForm
from portal.tokens.models import Grant, Issuance
from portal.tokens.models import Status as IssuanceStatus
from portal.vault import selectors as vault_selectors
from portal.vault import services as vault_services

router = Router(tags=["tokens"])

_IDEMPOTENCY_NAMESPACE = uuid.UUID("0b8f5a3e-6a51-4f47-9d1e-2f4a4f0a7c11")

_ERRORS = {401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema}
_ACTION_ERRORS = {
    **_ERRORS,
    400: ProblemSchema,
    409: ProblemSchema,
    422: ValidationSchema,
    429: ProblemSchema,
    500: ProblemSchema,
    502: ProblemSchema,
    503: ProblemSchema,
    504: ProblemSchema,
}


def _idempotency_key(principal, header: str | None, scope: str) -> uuid.UUID | None:
    """The service's idempotency UUID for a client's ``Idempotency-Key`` (an RFC 8941 string,
    quoted or not): per API key and per action, so two clients - or one client's issue and
    renew - can never meet on one key."""
    if header is None:
        return None
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not 1 <= len(value) <= 255 or not value.isprintable():
        raise Problem("malformed-request", "Idempotency-Key must be 1 to 255 printable characters.")
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{principal.key.pk}:{scope}:{value}")


def _expires_in(issuance: Issuance) -> int | None:
    if issuance.expires_at is None:
        return None
    return max(0, int((issuance.expires_at - timezone.now()).total_seconds()))


def _issued(request, response: HttpResponse, issuance: Issuance, *, replay: bool = False):
    """The answer to an issue or a renewal: 201 with the access token (once), or - an idempotent
    replay - 200 without it; a failed attempt is a problem document, one still in flight 409."""
    if issuance.status == IssuanceStatus.FAILED:
        raise IssuanceFailed(issuance)
    if issuance.status == IssuanceStatus.PENDING:
        raise Problem(
            "idempotency-in-progress",
            "The first request with this Idempotency-Key is still being answered.",
            retry_after=1,
            token_id=str(issuance.pk),
        )
    # Shown once: a replay - or a concurrent twin that lost the race - gets no token.
    revealed = (
        None
        if replay
        else token_services.token_reveal_once(user=request.auth.user, issuance=issuance)
    )
    response["Location"] = reverse("api-v1:token", kwargs={"issuance_id": issuance.pk})
    if replay:
        response["Idempotent-Replayed"] = "true"
    body = token_out(
        issuance,
        IssuedTokenOut,
        access_token=revealed.access_token if revealed else None,
        expires_in=_expires_in(issuance),
    )
    return Status(200 if replay else 201, body)


def _username_for(principal, credential) -> str:
    """The gateway username the generate page would suggest; "" when it cannot be built."""
    org_key = ""
    if vault_selectors.gateway_uses_org_key(credential.gateway):
        try:
            org_key = vault_services.credential_org_key(credential=credential, actor=principal.user)
        except vault_services.CredentialUnreadable:
            return ""
    return vault_selectors.gateway_compose_username(
        gateway=credential.gateway, user=principal.user, org_key=org_key
    )


def _same_request(existing: Issuance, *, credential, grant: str, username: str, scopes) -> bool:
    return (
        existing.credential_id == credential.pk
        and existing.grant_type == grant
        and list(existing.requested_scopes or []) == list(scopes)
        and (grant != Grant.PASSWORD or existing.upstream_username == username)
    )


@router.post(
    "",
    response={201: IssuedTokenOut, 200: IssuedTokenOut, **_ACTION_ERRORS},
    url_name="tokens_issue",
    summary="Generate a token",
)
@sensitive_variables("payload", "password")
def issue(
    request,
    payload: TokenIn,
    response: HttpResponse,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Generate a token with one of the key's credentials (client-credentials or password grant;
    the password is used for this call only and never stored). The access token is in this
    answer only (201). With an ``Idempotency-Key``, a repeated request returns the first one's
    token record (200, ``Idempotent-Replayed: true``, without the access token) - never a second
    token."""
    principal = request.auth
    credential = access.credential_get_for_key(principal, payload.credential, need=Role.ISSUER)
    if not credential.allows_grant(payload.grant):
        raise FieldInvalid(
            "grant",
            f"This credential allows {', '.join(credential.allowed_grants)} only.",
        )
    scopes = payload.scopes if payload.scopes is not None else list(credential.default_scopes or [])
    username, password = "", ""
    if payload.grant == Grant.PASSWORD:
        password = payload.password.get_secret_value() if payload.password else ""
        if not password:
            raise FieldInvalid("password", "The password grant needs your API Store password.")
        username = (payload.username or "").strip() or _username_for(principal, credential)
        if not username:
            raise FieldInvalid("username", "Give the username the gateway knows you by.")
    key = _idempotency_key(principal, idempotency_key, "issue")
    if key is not None:
        existing = (
            Issuance.objects.select_related("credential", "issued_by")
            .filter(idempotency_key=key)
            .first()
        )
        if existing is not None:
            if not _same_request(
                existing,
                credential=credential,
                grant=payload.grant,
                username=username,
                scopes=scopes,
            ):
                raise Problem(
                    "idempotency-key-mismatch",
                    "This Idempotency-Key was first used for a different request.",
                )
            return _issued(request, response, existing, replay=True)
    issuance = token_services.token_issue(
        user=principal.user,
        credential=credential,
        grant_type=payload.grant,
        upstream_username=username,
        password=password,
        scopes=scopes,
        idempotency_key=key,
    )
    return _issued(request, response, issuance)


class TokenFilters(Schema):
    credential: uuid.UUID | None = Field(None, description="A credential's id.")
    member: int | None = Field(None, description="Issued by this user (id).")
    status: (
        Literal["active", "expiring_soon", "expired", "renewed", "revoked", "failed", "pending"]
        | None
    ) = None
    scope: str | None = Field(None, max_length=200, description="Requested or granted.")
    date_from: date | None = Field(None, description="Issued on or after this day (inclusive).")
    date_to: date | None = Field(None, description="Issued on or before this day (inclusive).")
    cursor: str | None = Field(None, max_length=80, description="``next_cursor`` of a page.")
    limit: int = Field(selectors.PAGE_SIZE, ge=1, le=100)


@router.get("", response={200: TokenPage, 422: ValidationSchema, **_ERRORS}, url_name="tokens")
def history(request, response: HttpResponse, filters: Query[TokenFilters]):
    """The team's token history, newest first, with the history page's filters; keyset pages
    (``next_cursor``, also a ``Link: rel="next"`` header)."""
    principal = request.auth
    data = {
        name: str(value)
        for name, value in filters.model_dump(exclude={"limit", "cursor"}).items()
        if value is not None
    }
    if filters.cursor:
        data["before"] = filters.cursor
    if filters.credential is not None and not principal.covers(filters.credential):
        raise FieldInvalid("credential", "Select a valid choice.")
    form = HistoryFilterForm(data, team=principal.team)
    if not form.is_valid():
        errors = [
            {"field": "cursor" if name in ("before", "__all__") else name, "message": message}
            for name, messages in form.errors.items()
            for message in messages
        ]
        raise Problem("validation", "The request has invalid fields.", errors=errors)
    qs = selectors.issuance_list_for_team(team=principal.team, filters=form.filters())
    if principal.credential_ids is not None:
        qs = qs.filter(credential_id__in=principal.credential_ids)
    page = selectors.history_page(qs, before=form.cleaned_data.get("before"), size=filters.limit)
    next_cursor = page.older.encode() if page.older else None
    if next_cursor:
        params = request.GET.copy()
        params["cursor"] = next_cursor
        response["Link"] = f'<{request.path}?{params.urlencode()}>; rel="next"'
    return TokenPage(items=[token_out(i) for i in page.issuances], next_cursor=next_cursor)


@router.get("/{issuance_id}", response={200: TokenOut, **_ERRORS}, url_name="token")
def detail(request, issuance_id: str):
    """One token's record (never the token itself)."""
    return token_out(access.issuance_get_for_key(request.auth, issuance_id))


@router.post(
    "/{issuance_id}/renew",
    response={201: IssuedTokenOut, 200: IssuedTokenOut, **_ACTION_ERRORS},
    url_name="token_renew",
)
def renew(
    request,
    issuance_id: str,
    response: HttpResponse,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Renew one of your tokens with its refresh token: a new token (201, shown in this answer
    only); the old one becomes ``renewed``. ``gateway-rejected-grant`` means: generate anew."""
    principal = request.auth
    issuance = access.issuance_get_for_key_manager(principal, issuance_id)
    key = _idempotency_key(principal, idempotency_key, f"renew:{issuance.pk}")
    if key is not None:
        existing = (
            Issuance.objects.select_related("credential", "issued_by")
            .filter(idempotency_key=key)
            .first()
        )
        if existing is not None:
            return _issued(request, response, existing, replay=True)
    new = token_services.token_renew(user=principal.user, issuance=issuance, idempotency_key=key)
    return _issued(request, response, new)


@router.post(
    "/{issuance_id}/revoke",
    response={200: TokenOut, **_ACTION_ERRORS},
    url_name="token_revoke",
)
def revoke(request, issuance_id: str):
    """Revoke one of your tokens at the gateway (RFC 7009). Gateways may accept a revoked token
    until their cache expires (often up to 15 minutes)."""
    issuance = access.issuance_get_for_key_manager(request.auth, issuance_id)
    return token_out(token_services.token_revoke(user=request.auth.user, issuance=issuance))
