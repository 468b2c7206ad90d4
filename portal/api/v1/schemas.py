"""The API's request and response shapes (pydantic, through django-ninja's ``Schema``), and the
functions that fill the response shapes from the portal's models - explicitly, field by field,
so nothing reaches a response by accident (no ciphertext, fingerprint keys or digests)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, SecretStr, field_validator

from portal.tokens.models import Issuance
from portal.vault.forms import SCOPE_RE


class Problem(Schema):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(examples=["/api/v1/problems/not-found"])
    title: str
    status: int
    detail: str = ""
    instance: str = ""


class FieldError(Schema):
    field: str
    message: str


class ValidationProblem(Problem):
    errors: list[FieldError]


class TeamOut(Schema):
    id: uuid.UUID
    name: str


class KeyOut(Schema):
    id: uuid.UUID
    name: str
    role: Literal["issuer", "viewer"]
    team: TeamOut
    expires_at: datetime
    credentials: list[str] | None = Field(
        description="Names of the credentials the key is restricted to; null: all of the team's."
    )


class MeOut(Schema):
    username: str
    display_name: str
    email: str
    api_store_email: str
    key: KeyOut


class CredentialOut(Schema):
    id: uuid.UUID
    name: str
    gateway: str
    consumer_key: str = Field(description="Masked, as on the pages (first and last 4 characters).")
    default_scopes: list[str]
    grants: list[str]
    last_used_at: datetime | None


class CredentialRef(Schema):
    id: uuid.UUID
    name: str


class Failure(Schema):
    kind: str
    message: str


class TokenOut(Schema):
    id: uuid.UUID
    status: Literal["pending", "active", "expiring_soon", "expired", "renewed", "revoked", "failed"]
    credential: CredentialRef
    grant: str
    username: str = Field(description="The gateway username (password grant).")
    issued_by: str | None
    requested_scopes: list[str]
    granted_scopes: list[str]
    scopes_not_granted: list[str]
    token_type: str
    token_format: str
    issued_at: datetime
    expires_at: datetime | None
    access_token_last4: str
    renewed_from: uuid.UUID | None
    renewable: bool
    revoked_at: datetime | None
    revoked_by: str | None
    failure: Failure | None


class IssuedTokenOut(TokenOut):
    access_token: str | None = Field(
        description="The access token, in this response only (null when the token belongs to "
        "someone else, or on an idempotent replay)."
    )
    expires_in: int | None = Field(description="Seconds until the token expires, if it does.")


class TokenPage(Schema):
    items: list[TokenOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page.")


class AuditEventOut(Schema):
    seq: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    outcome: str
    target_type: str
    target_id: str
    ip: str
    user_agent: str
    request_id: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(Schema):
    items: list[AuditEventOut]
    next_cursor: str | None


class TokenIn(Schema):
    credential: str = Field(description="The credential's id or name.", max_length=80)
    grant: Literal["client_credentials", "password"] = "client_credentials"
    scopes: list[str] | None = Field(
        default=None, description="Default: the credential's default scopes.", max_length=50
    )
    username: str | None = Field(
        default=None,
        max_length=255,
        description="Password grant: the gateway username; default: built from the gateway's "
        "template and your API Store email, as on the generate page.",
    )
    password: SecretStr | None = Field(
        default=None,
        max_length=1024,
        description="Password grant: your API Store password, used for this call only and "
        "never stored.",
    )

    @field_validator("scopes")
    @classmethod
    def _scopes_are_tokens(cls, scopes):
        for scope in scopes or []:
            if not SCOPE_RE.match(scope):
                raise ValueError(f"{scope!r} is not a scope (one word of printable characters).")
        return list(dict.fromkeys(scopes)) if scopes is not None else None


# --- From models -------------------------------------------------------------------------------


def _name(user) -> str | None:
    return user.get_username() if user is not None else None


def token_out(issuance: Issuance, cls=TokenOut, **extra) -> TokenOut:
    failure = (
        Failure(kind=issuance.failure_kind, message=issuance.failure_message)
        if issuance.failure_kind
        else None
    )
    return cls(
        id=issuance.pk,
        status=issuance.display_status,
        credential=CredentialRef(id=issuance.credential_id, name=issuance.credential.name),
        grant=issuance.grant_type,
        username=issuance.upstream_username,
        issued_by=_name(issuance.issued_by),
        requested_scopes=list(issuance.requested_scopes or []),
        granted_scopes=list(issuance.granted_scopes or []),
        scopes_not_granted=issuance.scopes_not_granted if issuance.status != "failed" else [],
        token_type=issuance.token_type,
        token_format=issuance.token_format,
        issued_at=issuance.issued_at,
        expires_at=issuance.expires_at,
        access_token_last4=issuance.access_token_last4,
        renewed_from=issuance.renewed_from_id,
        renewable=issuance.can_be_renewed,
        revoked_at=issuance.revoked_at,
        revoked_by=_name(issuance.revoked_by) if issuance.revoked_by_id else None,
        failure=failure,
        **extra,
    )


def credential_out(credential) -> CredentialOut:
    return CredentialOut(
        id=credential.pk,
        name=credential.name,
        gateway=credential.gateway.name,
        consumer_key=credential.masked_key,
        default_scopes=list(credential.default_scopes or []),
        grants=credential.allowed_grants,
        last_used_at=credential.last_used_at,
    )
