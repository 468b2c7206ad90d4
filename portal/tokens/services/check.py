"""Ask the gateway whether a token is still active (RFC 7662), and make the record agree.

A token revoked at the gateway by someone else (an administrator in the API Manager, another
tool) or expired early still says "active" here until someone asks. Only gateways with an
introspection URL can be asked; every check is audited with what the gateway said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.gateway import client
from portal.tokens.models import Issuance, Status
from portal.tokens.services import binding
from portal.tokens.services.common import TokenActionError, audit_details

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    active: bool
    # What the record says now: "active", "revoked" (elsewhere) or "expired".
    recorded_as: str


@sensitive_variables("stored")
def token_check_at_gateway(*, user, issuance: Issuance) -> CheckResult:
    """Introspect the token (its refresh token when it has one: revoking that ends the whole
    grant) and record what the gateway says. Raises ``TokenActionError`` when the gateway cannot
    be asked; the attempt is audited either way."""
    if issuance.status != Status.ACTIVE:
        raise TokenActionError("Only an active token can be checked at the gateway.")
    refusal = binding.introspection_refusal(issuance)
    if refusal:
        raise TokenActionError(refusal, kind="no_introspection")
    try:
        stored = binding.stored_token(issuance, actor=user)
    except binding.Unreadable as exc:
        raise TokenActionError(exc.message, kind="unreadable") from None
    try:
        answer = client.introspect(stored.credentials, stored.token, token_type_hint=stored.hint)
    except client.TokenApiError as exc:
        with transaction.atomic():
            audit.record(
                action=Action.TOKEN_CHECKED,
                outcome=Outcome.FAILURE,
                actor=user,
                team=issuance.team_id,
                target=issuance,
                details=audit_details(issuance, reason=exc.kind),
            )
        raise TokenActionError(exc.message, kind=exc.kind) from None
    return _record(issuance, answer, user=user, checked=stored.hint)


def _record(issuance: Issuance, answer: client.IntrospectionResult, *, user, checked: str):
    now = timezone.now()
    recorded_as = "active"
    with transaction.atomic():
        if not answer.active:
            expired = issuance.expires_at is not None and issuance.expires_at <= now
            recorded_as = "expired" if expired else "revoked"
            if not expired:
                # Revoked elsewhere: the portal's record says so, and keeps no token for it.
                Issuance.objects.filter(pk=issuance.pk, status=Status.ACTIVE).update(
                    status=Status.REVOKED,
                    revoked_at=now,
                    revoke_result={"source": "gateway", "checked": checked},
                    access_token_encrypted="",
                    refresh_token_encrypted="",
                    has_refresh_token=False,
                    updated_at=now,
                )
        audit.record(
            action=Action.TOKEN_CHECKED,
            actor=user,
            actor_label="" if user else "reconcile",
            team=issuance.team_id,
            target=issuance,
            details=audit_details(
                issuance, active=answer.active, checked=checked, recorded_as=recorded_as
            ),
        )
    issuance.refresh_from_db()
    return CheckResult(active=answer.active, recorded_as=recorded_as)


def token_check_all(*, limit: int = 500) -> list[Issuance]:
    """For ``reconcile``: ask each gateway with an introspection URL about its active tokens
    (at most ``limit`` per run, least recently checked first). Returns those found inactive."""
    inactive = []
    candidates = (
        Issuance.objects.select_related("credential", "credential__gateway")
        .filter(status=Status.ACTIVE, revoke_requested_at__isnull=True)
        .exclude(credential__gateway__introspection_url="")
        .order_by("updated_at")[:limit]
    )
    for issuance in candidates:
        try:
            result = token_check_at_gateway(user=None, issuance=issuance)
        except TokenActionError as exc:
            logger.warning("could not check issuance %s at its gateway: %s", issuance.pk, exc.kind)
            continue
        if not result.active:
            inactive.append(issuance)
    return inactive
