"""What every token service shares: the error a person is shown, the messages, the audit
details of an issuance and the failure of a pending one."""

from typing import Any

from django.db import transaction

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.tokens.models import Issuance, Status

TOKEN_UNREADABLE_MESSAGE = (
    "The stored token cannot be decrypted (its encryption key may have been removed). "
    "Generate a new token instead."
)
GATEWAY_CACHE_NOTE = (
    "Gateways may keep accepting a revoked token until their cache expires (often up to 15 "
    "minutes)."
)


class TokenActionError(Exception):
    """An action could not be carried out; ``message`` is safe to show to the user."""

    def __init__(self, message: str, *, kind: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class RateLimited(TokenActionError):
    pass


def audit_details(issuance: Issuance, **extra) -> dict[str, Any]:
    """What every audit event about ``issuance`` says, plus ``extra`` (a token appears only as
    its fingerprint)."""
    details = {
        "name": issuance.name,
        "credential": issuance.credential.name,
        "grant": issuance.grant_type,
        "username": issuance.upstream_username,
        "requested_scopes": list(issuance.requested_scopes or []),
    }
    details.update(extra)
    return details


def mark_failed(
    issuance: Issuance,
    *,
    kind: str,
    message: str,
    actor,
    action=Action.TOKEN_FAILED,
    details: dict[str, Any] | None = None,
):
    """Mark a pending issuance failed and audit it (with ``details`` added), in one transaction."""
    with transaction.atomic():
        issuance.status = Status.FAILED
        issuance.failure_kind = kind[:40]
        issuance.failure_message = message[:500]
        issuance.access_token_encrypted = ""
        issuance.refresh_token_encrypted = ""
        issuance.save(
            update_fields=[
                "status",
                "failure_kind",
                "failure_message",
                "access_token_encrypted",
                "refresh_token_encrypted",
                "updated_at",
            ]
        )
        audit.record(
            action=action,
            outcome=Outcome.FAILURE,
            actor=actor,
            team=issuance.team_id,
            target=issuance,
            details=audit_details(issuance, reason=kind, **(details or {})),
        )
    return issuance
