"""Issue and renew: a pending issuance and its "requested" event, committed; the Token API
called outside any transaction; the outcome recorded in a second short transaction - or, when
that fails after the gateway minted a token, the token revoked again at once (fail closed)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.gateway import client
from portal.tokens import naming
from portal.tokens.models import Grant, Issuance, Status, TokenFormat
from portal.tokens.services.common import (
    TOKEN_UNREADABLE_MESSAGE,
    RateLimited,
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


# Lifetimes beyond this (seconds) are WSO2's "unlimited validity" and are stored as no expiry.
NEVER_EXPIRES_AFTER = 100 * 365 * 86400


def _check_rate_limit(*, user, team_id) -> None:
    """Per user and per team, counted in the database so every app server shares the limit."""
    per_user = settings.PORTAL_RATE_LIMIT_PER_USER
    per_team = settings.PORTAL_RATE_LIMIT_PER_TEAM
    if not (per_user or per_team):
        return
    since = timezone.now() - timedelta(seconds=60)
    counts = Issuance.objects.filter(issued_at__gte=since).aggregate(
        user=Count("pk", filter=Q(issued_by=user)), team=Count("pk", filter=Q(team_id=team_id))
    )
    limit_hit = None
    if per_user and counts["user"] >= per_user:
        limit_hit = f"You generated {per_user} tokens in the last minute"
    elif per_team and counts["team"] >= per_team:
        limit_hit = f"Your team generated {per_team} tokens in the last minute"
    if limit_hit:
        with transaction.atomic():
            audit.record(
                action=Action.TOKEN_RATE_LIMITED,
                outcome=Outcome.DENIED,
                actor=user,
                team=team_id,
                details={"limit_per_user": per_user, "limit_per_team": per_team},
            )
        raise RateLimited(f"{limit_hit}. Please wait a minute and try again.", kind="rate_limited")


_SUCCESS_FIELDS = (
    "status",
    "granted_scopes",
    "token_type",
    "token_format",
    "expires_at",
    "access_token_fingerprint",
    "access_token_last4",
    "access_token_encrypted",
    "refresh_token_encrypted",
    "has_refresh_token",
)


@sensitive_variables("response")
def _apply_success(issuance: Issuance, response: client.TokenResponse) -> None:
    issuance.status = Status.ACTIVE
    issuance.granted_scopes = list(response.scopes)
    issuance.token_type = (response.token_type or "Bearer")[:20]
    issuance.token_format = TokenFormat.JWT if response.jwt_claims else TokenFormat.OPAQUE
    # WSO2 answers expires_in=9223372036854775 for tokens that never expire: no expiry then.
    if response.expires_in >= NEVER_EXPIRES_AFTER:
        issuance.expires_at = None
    else:
        issuance.expires_at = issuance.issued_at + timedelta(seconds=response.expires_in)
    issuance.access_token_fingerprint = crypto.fingerprint(response.access_token)
    issuance.access_token_last4 = response.access_token[-4:]
    crypto.seal(issuance, "access_token_encrypted", response.access_token)
    crypto.seal(issuance, "refresh_token_encrypted", response.refresh_token or "")
    issuance.has_refresh_token = bool(response.refresh_token)
    issuance.save(update_fields=[*_SUCCESS_FIELDS, "updated_at"])


@sensitive_variables("secrets", "response")
def _revoke_quietly(secrets: client.ClientCredentials, response: client.TokenResponse) -> bool:
    """Best effort: take back a token the portal could not record. True when the gateway accepted."""
    token = response.refresh_token or response.access_token
    hint = "refresh_token" if response.refresh_token else "access_token"
    try:
        client.revoke(secrets, token=token, token_type_hint=hint)
    except client.TokenApiError as exc:
        logger.error("could not revoke an unrecorded token upstream: %s", exc.kind)
        return False
    return True


@sensitive_variables("secrets", "password", "response")
def _call_and_record(
    issuance: Issuance,
    *,
    call,
    secrets,
    actor,
    success_action: str,
    on_success=None,
) -> Issuance:
    """Steps two and three of every flow: the upstream call, then the outcome in one transaction."""
    try:
        response = call()
    except client.TokenApiError as exc:
        return mark_failed(issuance, kind=exc.kind, message=exc.message, actor=actor)
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
            _apply_success(issuance, response)
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
            )
            vault.credential_mark_used(credential=issuance.credential)
    except Exception:
        # Fail closed: the gateway minted a token nobody recorded. Take it back, then say so.
        logger.exception("recording an issued token failed; revoking it upstream")
        revoked = _revoke_quietly(secrets, response)
        issuance.refresh_from_db()
        try:
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
    # A repeated key is caught by the unique index below (no lookup first: the common case is new).
    _check_rate_limit(user=user, team_id=credential.team_id)
    now = timezone.now()
    issuance = Issuance(
        team_id=credential.team_id,
        credential=credential,
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
    try:
        with transaction.atomic():
            issuance.save(force_insert=True)
            details = audit_details(issuance)
            if renewed_from is not None:
                details["renews"] = str(renewed_from.pk)
            audit.record(
                action=Action.TOKEN_REQUESTED,
                actor=user,
                team=credential.team_id,
                target=issuance,
                details=details,
            )
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
    )
