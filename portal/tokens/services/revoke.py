"""Revoke: RFC 7009, the request recorded and audited before the gateway is called, so an
answer the portal could not record is finished by ``housekeeping.token_reconcile``."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.gateway import client
from portal.tokens.models import Issuance, Status
from portal.tokens.services import binding
from portal.tokens.services.common import TOKEN_UNREADABLE_MESSAGE, TokenActionError, audit_details
from portal.vault import crypto
from portal.vault import services as vault


@dataclass
class RevokeSummary:
    revoked: list[Issuance] = field(default_factory=list)
    failed: list[tuple[Issuance, str]] = field(default_factory=list)
    skipped: list[Issuance] = field(default_factory=list)


@sensitive_variables("secrets", "token", "result")
def token_revoke(*, user, issuance: Issuance) -> Issuance:
    """RFC 7009 revocation, preferring the refresh token (it takes its access token along).

    WSO2 answers 200 even for unknown tokens; what its ``Revoked*`` headers said is recorded as
    booleans (the header values are tokens themselves and are never stored). Raises
    ``TokenActionError`` when the gateway refuses or cannot be reached; the attempt is audited.
    """
    if not issuance.can_be_revoked:
        raise TokenActionError("Only an active token can be revoked.")
    refusal = binding.revocation_refusal(issuance)
    if refusal:
        _record_revoke_failure(issuance, kind="gateway_changed", actor=user)
        raise TokenActionError(refusal, kind="gateway_changed")
    use_refresh = bool(issuance.refresh_token_encrypted)
    field_name = "refresh_token_encrypted" if use_refresh else "access_token_encrypted"
    try:
        token = crypto.unseal(issuance, field_name)
        secrets = binding.at_recorded_urls(
            vault.credential_client_credentials(credential=issuance.credential, actor=user),
            issuance,
        )
    except (crypto.DecryptionError, vault.CredentialUnreadable) as exc:
        message = getattr(exc, "user_message", TOKEN_UNREADABLE_MESSAGE)
        _record_revoke_failure(issuance, kind="unreadable", actor=user)
        raise TokenActionError(message, kind="unreadable") from None
    _record_revoke_request(issuance, actor=user)
    try:
        result = client.revoke(
            secrets,
            token=token,
            token_type_hint="refresh_token" if use_refresh else "access_token",
        )
    except client.TokenApiError as exc:
        # The person is told it failed and may try again; reconcile must not retry behind them.
        Issuance.objects.filter(pk=issuance.pk).update(revoke_requested_at=None)
        _record_revoke_failure(issuance, kind=exc.kind, actor=user)
        raise TokenActionError(exc.message, kind=exc.kind) from None
    outcome = {
        "accepted": result.accepted,
        "headers_sent": result.revoked_access_token is not None
        or result.revoked_refresh_token is not None,
        "access_token_confirmed": bool(
            result.revoked_access_token
            and crypto.fingerprint(result.revoked_access_token) == issuance.access_token_fingerprint
        ),
        "refresh_token_confirmed": bool(result.revoked_refresh_token),
        "authorized_user": (result.authorized_user or "")[:150],
        "used": "refresh_token" if use_refresh else "access_token",
    }
    with transaction.atomic():
        updated = Issuance.objects.filter(pk=issuance.pk, status=Status.ACTIVE).update(
            status=Status.REVOKED,
            revoked_at=timezone.now(),
            revoked_by=user,
            revoke_result=outcome,
            access_token_encrypted="",
            refresh_token_encrypted="",
            has_refresh_token=False,
            updated_at=timezone.now(),
        )
        audit.record(
            action=Action.TOKEN_REVOKED,
            actor=user,
            team=issuance.team_id,
            target=issuance,
            details=audit_details(
                issuance,
                token_fp=issuance.access_token_fingerprint,
                gateway=outcome,
                already_final=not updated,
            ),
        )
    issuance.refresh_from_db()
    if not updated:
        # Renewed or revoked by another request while the gateway answered: say so rather than
        # claim a revocation that changed nothing here.
        raise TokenActionError(
            f"This token was {issuance.get_status_display().lower()} by another request meanwhile; "
            "check its history before doing anything else.",
            kind="already_final",
        )
    return issuance


def _record_revoke_request(issuance: Issuance, *, actor) -> None:
    """Step one of a revocation, committed before the gateway is called (see the model field)."""
    with transaction.atomic():
        Issuance.objects.filter(pk=issuance.pk, status=Status.ACTIVE).update(
            revoke_requested_at=timezone.now()
        )
        audit.record(
            action=Action.TOKEN_REVOKE_REQUESTED,
            actor=actor,
            team=issuance.team_id,
            target=issuance,
            details=audit_details(issuance, token_fp=issuance.access_token_fingerprint),
        )


def _record_revoke_failure(issuance: Issuance, *, kind: str, actor) -> None:
    with transaction.atomic():
        audit.record(
            action=Action.TOKEN_REVOKED,
            outcome=Outcome.FAILURE,
            actor=actor,
            team=issuance.team_id,
            target=issuance,
            details=audit_details(
                issuance, token_fp=issuance.access_token_fingerprint, reason=kind
            ),
        )


def token_revoke_many(*, user, issuances: list[Issuance]) -> RevokeSummary:
    """Revoke each token the user may revoke, one upstream call each; a failure stops nothing."""
    summary = RevokeSummary()
    for issuance in issuances:
        if not issuance.can_be_revoked:
            summary.skipped.append(issuance)
            continue
        try:
            summary.revoked.append(token_revoke(user=user, issuance=issuance))
        except TokenActionError as exc:
            summary.failed.append((issuance, exc.message))
    return summary
