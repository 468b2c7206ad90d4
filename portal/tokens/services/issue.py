"""Issue and renew: a pending issuance and its "requested" event, committed; the Token API
called outside any transaction; the outcome recorded in a second short transaction - or, when
that fails after the gateway minted a token, the token revoked again at once (fail closed)."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.audit import services as audit
from portal.audit.models import Action
from portal.core import fixed_sql
from portal.gateway import client
from portal.tokens import naming
from portal.tokens.models import Grant, Issuance, Status
from portal.tokens.services import binding, outcome, ratelimit
from portal.tokens.services.common import (
    TOKEN_UNREADABLE_MESSAGE,
    TokenActionError,
    audit_details,
    mark_failed,
)
from portal.vault import crypto
from portal.vault import services as vault
from portal.vault.models import Credential

logger = logging.getLogger(__name__)

RECORDING_FAILED_MESSAGE = (
    "The gateway issued a token, but the portal could not record it, so it was revoked again "
    "right away. Nothing was lost. Please try again in a moment."
)
INTERNAL_ERROR_MESSAGE = (
    "Something unexpected went wrong while talking to the gateway. No token was recorded. "
    "Please try again; if it keeps happening, tell your administrator."
)


def _failure_message(issuance: Issuance, exc: client.TokenApiError) -> str:
    """The client's sentence, made specific where the issuance knows more: a server that refuses
    unknown scopes (instead of dropping them, as WSO2 does) is told which were asked for."""
    requested = list(issuance.requested_scopes or [])
    if exc.kind == "invalid_scope" and requested and issuance.grant_type != Grant.REFRESH_TOKEN:
        return (
            f"The gateway refused the requested scopes ({', '.join(requested)}): at least one is "
            "unknown to it or not allowed for this application. Request fewer or other scopes, "
            "or ask the API's owner to allow them for the application."
        )
    return exc.message


@sensitive_variables("secrets", "password", "response", "previous_refresh_token")
def _call_and_record(
    issuance: Issuance,
    *,
    call,
    secrets,
    actor,
    success_action: str,
    on_success=None,
    previous_refresh_token: str = "",
    previous_scopes: list[str] | None = None,
) -> Issuance:
    """Steps two and three of every flow: the upstream call, then the outcome in one transaction."""
    try:
        response = call()
    except client.TokenApiError as exc:
        taken_back = outcome.take_back_unheld(secrets, exc)
        failed = mark_failed(
            issuance,
            kind=exc.kind,
            message=_failure_message(issuance, exc),
            actor=actor,
            details={"tokens_taken_back": taken_back} if taken_back else None,
        )
        # Not stored: how long the gateway asked callers to wait (the API's Retry-After).
        failed.retry_after = exc.retry_after
        return failed
    except Exception:
        logger.exception("unexpected error during a Token API call")
        return mark_failed(
            issuance,
            kind="internal_error",
            message=INTERNAL_ERROR_MESSAGE,
            actor=actor,
        )
    try:
        with transaction.atomic():
            success = outcome.apply_success(
                issuance,
                response,
                previous_refresh_token=previous_refresh_token,
                previous_scopes=previous_scopes,
            )
            extra = on_success(issuance) if on_success else {}
            audit.record(
                action=success_action,
                actor=actor,
                team=issuance.team_id,
                target=issuance,
                details=audit_details(
                    issuance,
                    granted_scopes=issuance.granted_scopes,
                    token_fp=issuance.access_token_fingerprint,
                    expires_in=response.expires_in,
                    token_format=issuance.token_format,
                    **(extra or {}),
                ),
                along=success,
            )
            vault.credential_mark_used(credential=issuance.credential)
    except Exception:
        # Fail closed: the gateway minted a token nobody recorded. Take it back, then say so.
        logger.exception("recording an issued token failed; revoking it upstream")
        if response.refresh_token:
            revoked = outcome.revoke_quietly(secrets, response.refresh_token, "refresh_token")
        else:
            revoked = outcome.revoke_quietly(secrets, response.access_token, "access_token")
        try:
            issuance.refresh_from_db()
            mark_failed(
                issuance,
                kind="recording_failed" if revoked else "recording_failed_not_revoked",
                message=RECORDING_FAILED_MESSAGE,
                actor=actor,
            )
        except Exception:
            # The database is down altogether: the row stays pending for `manage.py reconcile`.
            logger.exception("could not mark the issuance failed; reconcile will resolve it")
        raise TokenActionError(RECORDING_FAILED_MESSAGE, kind="recording_failed") from None
    return issuance


def _unseal_secrets(credential: Credential, *, issuance: Issuance, actor):
    try:
        return vault.credential_client_credentials(credential=credential, actor=actor)
    except vault.CredentialUnreadable as exc:
        mark_failed(
            issuance,
            kind="credential_unreadable",
            message=exc.user_message,
            actor=actor,
        )
        return None


def _existing_for_key(idempotency_key, user) -> Issuance | None:
    if idempotency_key is None:
        return None
    existing = Issuance.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.issued_by_id != user.pk:
        raise TokenActionError("This form was already used. Reload the page and try again.")
    return existing


def _begin(
    *,
    user,
    credential: Credential,
    grant_type: str,
    upstream_username: str,
    scopes: list[str],
    idempotency_key,
    renewed_from: Issuance | None = None,
    issued_to=None,
    name: str = "",
    note: str = "",
) -> tuple[Issuance, bool]:
    """Step one: the pending issuance and its "requested" event, committed. ``(issuance, new)``;
    a repeated idempotency key returns the first submission's issuance with ``new`` False.
    ``user`` acts; ``issued_to`` (default: the same person) holds the token and alone may see it."""
    holder = issued_to or user
    gateway = credential.gateway
    # A repeated key is caught by the unique index below (no lookup first: the common case is new).
    now = timezone.now()
    issuance = Issuance(
        team_id=credential.team_id,
        credential=credential,
        gateway=gateway,
        token_url=gateway.token_url,
        revoke_url=gateway.revoke_url,
        issued_by=holder,
        grant_type=grant_type,
        name=name or naming.default_name(credential_name=credential.name, at=now),
        note=note,
        upstream_username=upstream_username,
        requested_scopes=list(scopes),
        idempotency_key=idempotency_key,
        status=Status.PENDING,
        issued_at=now,
    )
    limit_hit = None
    try:
        with transaction.atomic():
            limit_hit = ratelimit.rate_limit_reached(user=user, team_id=credential.team_id)
            if limit_hit:
                raise ratelimit.RateLimitReached
            details = audit_details(issuance)
            if renewed_from is not None:
                details["renews"] = str(renewed_from.pk)
            # The pending row of every issuance: one fixed INSERT (see ``core.fixed_sql``), sent
            # with the audit chain's head read (a repeated key still raises IntegrityError).
            audit.record(
                action=Action.TOKEN_REQUESTED,
                actor=user,
                team=credential.team_id,
                target=issuance,
                details=details,
                along=fixed_sql.insert_write(issuance),
            )
    except ratelimit.RateLimitReached:
        ratelimit.refuse_rate_limited(user=user, team_id=credential.team_id, limit_hit=limit_hit)
    except IntegrityError:
        # Two submissions with one key raced; the other one won and is doing the work.
        existing = _existing_for_key(idempotency_key, holder)
        if existing is None:
            raise
        return existing, False
    return issuance, True


@sensitive_variables("password", "secrets")
def token_issue(
    *,
    user,
    credential: Credential,
    grant_type: str,
    upstream_username: str = "",
    password: str = "",
    scopes: list[str],
    idempotency_key=None,
    name: str = "",
    note: str = "",
) -> Issuance:
    """Obtain a token (password or client-credentials grant) and record it.

    Returns the issuance: ``active`` on success, ``failed`` with ``failure_message`` otherwise.
    The password is used for this one call and never stored. Raises ``TokenActionError`` when the
    request is refused before any upstream call (archived credential, grant not allowed, rate
    limit) or when a minted token could not be recorded (it was revoked again).
    """
    if credential.is_archived:
        raise TokenActionError("This credential is archived and can no longer issue tokens.")
    if grant_type not in (Grant.PASSWORD, Grant.CLIENT_CREDENTIALS):
        raise TokenActionError("Choose the password or the client-credentials grant.")
    if not credential.allows_grant(grant_type):
        raise TokenActionError("This credential does not allow that grant type.")
    if grant_type == Grant.CLIENT_CREDENTIALS:
        upstream_username = ""
    refusal = binding.plain_http_refusal(credential.gateway.token_url)
    if refusal:
        raise TokenActionError(refusal, kind="plain_http")
    issuance, new = _begin(
        user=user,
        credential=credential,
        grant_type=grant_type,
        upstream_username=upstream_username,
        scopes=scopes,
        idempotency_key=idempotency_key,
        name=name,
        note=note,
    )
    if not new:
        return issuance
    secrets = _unseal_secrets(credential, issuance=issuance, actor=user)
    if secrets is None:
        return issuance

    def call():
        if grant_type == Grant.CLIENT_CREDENTIALS:
            return client.client_credentials_grant(secrets, scopes=scopes)
        return client.password_grant(
            secrets,
            username=upstream_username,
            password=password,
            scopes=scopes,
        )

    return _call_and_record(
        issuance,
        call=call,
        secrets=secrets,
        actor=user,
        success_action=Action.TOKEN_ISSUED,
    )


@sensitive_variables("secrets", "refresh_token")
def token_renew(*, user, issuance: Issuance, idempotency_key=None) -> Issuance:
    """Refresh-token grant with the stored refresh token. On success the new issuance links to
    the old one, which becomes ``renewed`` (its tokens wiped): refresh tokens rotate.

    Returns the new issuance (``active`` or ``failed``; ``invalid_grant`` means "generate a new
    token"). It belongs to the old token's holder, whoever renews it: only they can display it.
    Raises ``TokenActionError`` when the token cannot be renewed at all.
    """
    if not issuance.can_be_renewed:
        raise TokenActionError(
            "Only an active token that came with a refresh token can be renewed. Generate a new one."
        )
    if issuance.credential.is_archived:
        raise TokenActionError(
            "This token's credential is archived; it can no longer renew tokens."
        )
    refusal = binding.renewal_refusal(issuance)
    if refusal:
        raise TokenActionError(refusal, kind="gateway_changed")
    if issuance.issued_by_id is None and issuance.upstream_username:
        # A user token whose holder's account is gone: renewing would hand that person's gateway
        # identity to whoever renews. Revoking stays possible.
        raise TokenActionError(
            "The account that held this token no longer exists, so it cannot be renewed. "
            "Revoke it instead.",
            kind="holder_gone",
        )
    try:
        refresh_token = crypto.unseal(issuance, "refresh_token_encrypted")
    except crypto.DecryptionError:
        raise TokenActionError(TOKEN_UNREADABLE_MESSAGE, kind="token_unreadable") from None
    new, created = _begin(
        user=user,
        credential=issuance.credential,
        grant_type=Grant.REFRESH_TOKEN,
        upstream_username=issuance.upstream_username,
        scopes=list(issuance.granted_scopes or []),
        idempotency_key=idempotency_key,
        renewed_from=issuance,
        # The new token acts as the same gateway user as the old one, so it belongs to the same
        # person: an owner renewing a member's token must not walk away with that member's
        # user token. The owner is the actor in the audit trail; the holder sees the token.
        issued_to=issuance.issued_by,
        name=issuance.name,
        note=issuance.note,
    )
    if not created:
        return new
    secrets = _unseal_secrets(issuance.credential, issuance=new, actor=user)
    if secrets is None:
        return new

    def call():
        return client.refresh_grant(secrets, refresh_token=refresh_token)

    def link_old(new_issuance: Issuance) -> dict:
        # Conditional: if someone else renewed or revoked the old token meanwhile, the new token is
        # still recorded (it exists upstream), just not linked.
        linked = Issuance.objects.filter(pk=issuance.pk, status=Status.ACTIVE).update(
            status=Status.RENEWED,
            access_token_encrypted="",
            refresh_token_encrypted="",
            has_refresh_token=False,
            updated_at=timezone.now(),
        )
        if linked:
            new_issuance.renewed_from = issuance
            new_issuance.save(update_fields=["renewed_from"])
        return {
            "renewed_from": str(issuance.pk),
            "previous_token_fp": issuance.access_token_fingerprint,
        }

    return _call_and_record(
        new,
        call=call,
        secrets=secrets,
        actor=user,
        success_action=Action.TOKEN_RENEWED,
        on_success=link_old,
        previous_refresh_token=refresh_token,
        previous_scopes=list(issuance.granted_scopes or []),
    )
