"""The one way a raw token leaves the portal: shown once to its holder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.gateway import jwt
from portal.tokens.models import Issuance, Status
from portal.tokens.services.common import TOKEN_UNREADABLE_MESSAGE, TokenActionError
from portal.vault import crypto


@dataclass(frozen=True, repr=False)
class RevealedToken:
    """The raw token, for one page render. Never stored, logged or put in a URL."""

    access_token: str
    jwt_claims: dict[str, Any] | None

    def __repr__(self) -> str:
        return "RevealedToken(<hidden>)"


def token_reveal_once(*, user, issuance: Issuance) -> RevealedToken | None:
    """The raw access token, the first time its issuer asks for it; None every time after.

    The conditional UPDATE makes "first" hold across concurrent requests and app servers.
    """
    if issuance.issued_by_id != user.pk or issuance.status != Status.ACTIVE:
        return None
    claimed = Issuance.objects.filter(
        pk=issuance.pk, displayed_at__isnull=True, status=Status.ACTIVE
    ).update(displayed_at=timezone.now())
    if not claimed:
        return None
    try:
        token = crypto.unseal(issuance, "access_token_encrypted")
    except crypto.DecryptionError:
        with transaction.atomic():
            audit.record(
                action=Action.CREDENTIAL_DECRYPT_FAILED,
                outcome=Outcome.FAILURE,
                actor=user,
                team=issuance.team_id,
                target=issuance,
                details={"field": "access_token_encrypted"},
            )
        raise TokenActionError(TOKEN_UNREADABLE_MESSAGE, kind="token_unreadable") from None
    return RevealedToken(access_token=token, jwt_claims=jwt.decode_jwt_claims(token))
