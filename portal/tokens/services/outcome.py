"""What the portal records of a gateway's answer: the success of an issuance (status, granted
scopes, expiry, fingerprint, sealed tokens) and the take-back of tokens nobody will hold."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.views.decorators.debug import sensitive_variables

from portal.core import fixed_sql
from portal.gateway import client
from portal.tokens.models import Issuance, Status, TokenFormat
from portal.vault import crypto

logger = logging.getLogger(__name__)

# Lifetimes beyond this (seconds) are WSO2's "unlimited validity" and are stored as no expiry.
NEVER_EXPIRES_AFTER = 100 * 365 * 86400


_SUCCESS_FIELDS = (
    "status",
    "granted_scopes",
    "token_type",
    "token_format",
    "expires_at",
    "expiry_from_gateway",
    "access_token_fingerprint",
    "access_token_last4",
    "access_token_encrypted",
    "refresh_token_encrypted",
    "has_refresh_token",
)


def expiry(issuance: Issuance, expires_in: int | None):
    """``(expires_at, from_gateway)``. Without ``expires_in`` (RFC 6749 §5.1 only recommends it)
    the gateway's configured default lifetime applies, else the expiry is unknown (None)."""
    if expires_in is None:
        default = issuance.credential.gateway.default_token_lifetime
        if default:
            return issuance.issued_at + timedelta(seconds=default), False
        return None, False
    # WSO2 answers expires_in=9223372036854775 for tokens that never expire: no expiry then.
    if expires_in >= NEVER_EXPIRES_AFTER:
        return None, True
    return issuance.issued_at + timedelta(seconds=expires_in), True


@sensitive_variables("response", "previous_refresh_token")
def apply_success(
    issuance: Issuance,
    response: client.TokenResponse,
    *,
    previous_refresh_token: str = "",
    previous_scopes: list[str] | None = None,
) -> fixed_sql.Write:
    """Mark the issuance active with what the gateway answered, and return the row's UPDATE for
    the caller to send (with the audit event that records it). For a renewal, an answer without
    a new refresh token keeps the previous one (the server did not rotate it, RFC 6749 §6), and
    an answer without scope keeps the previously granted scopes (§5.1: omitted when unchanged)."""
    issuance.status = Status.ACTIVE
    issuance.granted_scopes = list(response.scopes) or list(previous_scopes or [])
    issuance.token_type = (response.token_type or "Bearer")[:20]
    issuance.token_format = TokenFormat.JWT if response.jwt_claims else TokenFormat.OPAQUE
    issuance.expires_at, issuance.expiry_from_gateway = expiry(issuance, response.expires_in)
    issuance.access_token_fingerprint = crypto.fingerprint(response.access_token)
    issuance.access_token_last4 = response.access_token[-4:]
    refresh_token = response.refresh_token or previous_refresh_token
    crypto.seal(issuance, "access_token_encrypted", response.access_token)
    crypto.seal(issuance, "refresh_token_encrypted", refresh_token or "")
    issuance.has_refresh_token = bool(refresh_token)
    # Every successful issuance: one fixed UPDATE (see ``core.fixed_sql``).
    return fixed_sql.update_write(issuance, [*_SUCCESS_FIELDS, "updated_at"])


@sensitive_variables("secrets", "token")
def revoke_quietly(secrets: client.ClientCredentials, token: str, hint: str) -> bool:
    """Best effort: take back a token nobody will hold. True when the gateway accepted."""
    try:
        client.revoke(secrets, token=token, token_type_hint=hint)
    except client.TokenApiError as exc:
        logger.error("could not revoke an unheld token upstream: %s", exc.kind)
        return False
    return True


@sensitive_variables("secrets", "exc")
def take_back_unheld(secrets: client.ClientCredentials, exc: client.TokenApiError) -> dict:
    """An answer the portal refused may still have carried live tokens (a malformed expiry, a
    token outside RFC 6750's characters): revoke each, refresh token first, and say how it went
    in the failure's audit event."""
    # Keyed "refresh"/"access": the audit refuses detail keys named like the tokens themselves.
    return {
        unheld.token_type_hint.removesuffix("_token"): revoke_quietly(
            secrets, unheld.token, unheld.token_type_hint
        )
        for unheld in exc.unheld_tokens
    }
