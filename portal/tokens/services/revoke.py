"""Revoke: RFC 7009, the request recorded and audited before the gateway is called, so an
answer the portal could not record is finished by ``housekeeping.token_reconcile``."""

from __future__ import annotations

import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.gateway import client
from portal.tokens.models import Issuance, Status
from portal.tokens.services import binding
from portal.tokens.services.common import TokenActionError, audit_details
from portal.vault import crypto

logger = logging.getLogger(__name__)


# Bulk revocation: at most this many gateway calls at once, and no new call started after the
# deadline (each call is itself bounded by the Token API timeouts).
BULK_CONCURRENCY = 4
BULK_DEADLINE_SECONDS = 30.0

RECORDING_FAILED_MESSAGE = (
    "The gateway revoked this token, but the portal could not record it yet. It will be recorded "
    "automatically (reconcile); do not use the token any more."
)


@dataclass
class RevokeSummary:
    revoked: list[Issuance] = field(default_factory=list)
    failed: list[tuple[Issuance, str]] = field(default_factory=list)
    skipped: list[Issuance] = field(default_factory=list)
    not_tried: list[Issuance] = field(default_factory=list)


@dataclass(repr=False)
class _Revocation:
    """One revocation between its steps: what to send, and to whom (secrets: never logged)."""

    issuance: Issuance
    secrets: client.ClientCredentials
    token: str
    use_refresh: bool


@sensitive_variables("stored")
def _prepare(*, user, issuance: Issuance) -> _Revocation:
    """Step one: check, unseal, and record the request (committed before the gateway is called)."""
    if not issuance.can_be_revoked:
        raise TokenActionError("Only an active token can be revoked.")
    refusal = binding.revocation_refusal(issuance)
    if refusal:
        _record_revoke_failure(issuance, kind="gateway_changed", actor=user)
        raise TokenActionError(refusal, kind="gateway_changed")
    try:
        stored = binding.stored_token(issuance, actor=user)
    except binding.Unreadable as exc:
        _record_revoke_failure(issuance, kind="unreadable", actor=user)
        raise TokenActionError(exc.message, kind="unreadable") from None
    _record_revoke_request(issuance, actor=user)
    return _Revocation(
        issuance=issuance,
        secrets=stored.credentials,
        token=stored.token,
        use_refresh=stored.hint == "refresh_token",
    )


@sensitive_variables("revocation")
def _call(revocation: _Revocation) -> client.RevokeResult:
    """Step two: the gateway call, outside any transaction (and possibly in a worker thread)."""
    return client.revoke(
        revocation.secrets,
        token=revocation.token,
        token_type_hint="refresh_token" if revocation.use_refresh else "access_token",
    )


def _failed(revocation: _Revocation, exc: client.TokenApiError, *, user, keep_request: bool):
    issuance = revocation.issuance
    if not keep_request:
        # The person is told it failed and may try again; reconcile must not retry behind them.
        Issuance.objects.filter(pk=issuance.pk).update(revoke_requested_at=None)
    _record_revoke_failure(issuance, kind=exc.kind, actor=user)
    return TokenActionError(exc.message, kind=exc.kind)


@sensitive_variables("result")
def _finish(revocation: _Revocation, result: client.RevokeResult, *, user) -> Issuance:
    """Step three: record the outcome and audit it, in one transaction.

    If that fails, the gateway has revoked the token anyway: the request stays recorded
    (``revoke_requested_at``) so ``reconcile`` records the revocation, and the person is told
    exactly that instead of "nothing changed"."""
    issuance = revocation.issuance
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
        "used": "refresh_token" if revocation.use_refresh else "access_token",
    }
    try:
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
    except Exception:
        logger.exception("recording the revocation of issuance %s failed", issuance.pk)
        raise TokenActionError(RECORDING_FAILED_MESSAGE, kind="recording_failed") from None
    if not updated:
        # Renewed or revoked by another request while the gateway answered: say so rather than
        # claim a revocation that changed nothing here.
        raise TokenActionError(
            f"This token was {issuance.get_status_display().lower()} by another request meanwhile; "
            "check its history before doing anything else.",
            kind="already_final",
        )
    return issuance


@sensitive_variables("revocation", "result")
def token_revoke(*, user, issuance: Issuance, retry_later: bool = False) -> Issuance:
    """RFC 7009 revocation, preferring the refresh token (it takes its access token along).

    WSO2 answers 200 even for unknown tokens; what its ``Revoked*`` headers said is recorded as
    booleans (the header values are tokens themselves and are never stored). Raises
    ``TokenActionError`` when the gateway refuses or cannot be reached; the attempt is audited.
    ``retry_later`` (reconcile) keeps the request recorded after a failed call, so the next run
    tries again instead of leaving the token active while the gateway may have revoked it.
    """
    revocation = _prepare(user=user, issuance=issuance)
    try:
        result = _call(revocation)
    except client.TokenApiError as exc:
        raise _failed(revocation, exc, user=user, keep_request=retry_later) from None
    return _finish(revocation, result, user=user)


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
    """Revoke each token the user may revoke. Database steps run here, one after another; the
    gateway calls run at most ``BULK_CONCURRENCY`` at a time, and none starts after
    ``BULK_DEADLINE_SECONDS`` (those are reported as not tried, their requests withdrawn)."""
    summary = RevokeSummary()
    prepared: list[_Revocation] = []
    for issuance in issuances:
        if not issuance.can_be_revoked:
            summary.skipped.append(issuance)
            continue
        try:
            prepared.append(_prepare(user=user, issuance=issuance))
        except TokenActionError as exc:
            summary.failed.append((issuance, exc.message))
    deadline = time.monotonic() + BULK_DEADLINE_SECONDS

    def call_before_deadline(revocation: _Revocation):
        if time.monotonic() > deadline:
            return None  # not tried
        try:
            return _call(revocation)
        except client.TokenApiError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=BULK_CONCURRENCY) as pool:
        # Each call in a copy of this request's context (request id, address) for its log lines.
        futures = [
            pool.submit(contextvars.copy_context().run, call_before_deadline, revocation)
            for revocation in prepared
        ]
        answers = [future.result() for future in futures]
    for revocation, answer in zip(prepared, answers, strict=True):
        issuance = revocation.issuance
        try:
            if answer is None:
                Issuance.objects.filter(pk=issuance.pk).update(revoke_requested_at=None)
                summary.not_tried.append(issuance)
            elif isinstance(answer, client.TokenApiError):
                raise _failed(revocation, answer, user=user, keep_request=False)
            else:
                summary.revoked.append(_finish(revocation, answer, user=user))
        except TokenActionError as exc:
            summary.failed.append((issuance, exc.message))
    return summary
