"""Issue, renew, reveal, revoke, reconcile and purge tokens.

The flow of every upstream call (DESIGN.md "Flows"): a short transaction writes a ``pending``
issuance and the audit event "requested" and commits; the Token API is called outside any
transaction; a second short transaction marks the issuance ``active`` or ``failed`` and audits the
outcome. If that second step fails after the gateway issued a token, the token is revoked upstream
at once (fail closed): no token is ever shown that is not recorded. A crash between the steps
leaves a ``pending`` row that ``manage.py reconcile`` resolves.

Raw tokens leave this module exactly once, through ``issuance_reveal_once``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.gateway import client, jwt
from portal.tokens.models import TERMINAL_STATUSES, Grant, Issuance, Status, TokenFormat
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
TOKEN_UNREADABLE_MESSAGE = (
    "The stored token cannot be decrypted (its encryption key may have been removed). "
    "Generate a new token instead."
)
GATEWAY_CACHE_NOTE = (
    "Gateways may keep accepting a revoked token until their cache expires (often up to 15 "
    "minutes)."
)


# Lifetimes beyond this (seconds) are WSO2's "unlimited validity" and are stored as no expiry.
NEVER_EXPIRES_AFTER = 100 * 365 * 86400


class TokenActionError(Exception):
    """An action could not be carried out; ``message`` is safe to show to the user."""

    def __init__(self, message: str, *, kind: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class RateLimited(TokenActionError):
    pass


@dataclass(frozen=True, repr=False)
class RevealedToken:
    """The raw token, for one page render. Never stored, logged or put in a URL."""

    access_token: str
    jwt_claims: dict[str, Any] | None

    def __repr__(self) -> str:
        return "RevealedToken(<hidden>)"


@dataclass
class RevokeSummary:
    revoked: list[Issuance] = field(default_factory=list)
    failed: list[tuple[Issuance, str]] = field(default_factory=list)
    skipped: list[Issuance] = field(default_factory=list)


# --- helpers -----------------------------------------------------------------------------------------


def _details(issuance: Issuance, **extra) -> dict[str, Any]:
    details = {
        "credential": issuance.credential.name,
        "grant": issuance.grant_type,
        "username": issuance.upstream_username,
        "requested_scopes": list(issuance.requested_scopes or []),
    }
    details.update(extra)
    return details


def _check_rate_limit(*, user, team_id, request) -> None:
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
                request=request,
            )
        raise RateLimited(f"{limit_hit}. Please wait a minute and try again.", kind="rate_limited")


def _fail(
    issuance: Issuance, *, kind: str, message: str, actor, request, action=Action.TOKEN_FAILED
):
    """Mark a pending issuance failed and audit it, in one transaction."""
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
            details=_details(issuance, reason=kind),
            request=request,
        )
    return issuance


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
    # A gateway may also not say (None): no expiry is stored either.
    if response.expires_in is None or response.expires_in >= NEVER_EXPIRES_AFTER:
        issuance.expires_at = None
    else:
        issuance.expires_at = issuance.issued_at + timedelta(seconds=response.expires_in)
    issuance.access_token_fingerprint = crypto.fingerprint(response.access_token)
    issuance.access_token_last4 = response.access_token[-4:]
    crypto.seal(issuance, "access_token_encrypted", response.access_token)
    crypto.seal(issuance, "refresh_token_encrypted", response.refresh_token or "")
    issuance.has_refresh_token = bool(response.refresh_token)
    issuance.save(update_fields=[*_SUCCESS_FIELDS, "updated_at"])


@sensitive_variables("secrets", "token")
def _revoke_quietly(secrets: client.ClientCredentials, token: str, hint: str) -> bool:
    """Best effort: take back a token nobody will hold. True when the gateway accepted."""
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
    request,
    success_action: str,
    on_success=None,
) -> Issuance:
    """Steps two and three of every flow: the upstream call, then the outcome in one transaction."""
    try:
        response = call()
    except client.TokenApiError as exc:
        # Tokens in an answer the client refused are live upstream and held by nobody.
        for unheld in exc.unheld_tokens:
            _revoke_quietly(secrets, unheld.token, unheld.token_type_hint)
        return _fail(issuance, kind=exc.kind, message=exc.message, actor=actor, request=request)
    except Exception:
        logger.exception("unexpected error during a Token API call")
        return _fail(
            issuance,
            kind="internal_error",
            message=INTERNAL_ERROR_MESSAGE,
            actor=actor,
            request=request,
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
                details=_details(
                    issuance,
                    granted_scopes=issuance.granted_scopes,
                    token_fp=issuance.access_token_fingerprint,
                    expires_in=response.expires_in,
                    token_format=issuance.token_format,
                    **(extra or {}),
                ),
                request=request,
            )
            vault.credential_mark_used(credential=issuance.credential)
    except Exception:
        # Fail closed: the gateway minted a token nobody recorded. Take it back, then say so.
        logger.exception("recording an issued token failed; revoking it upstream")
        if response.refresh_token:
            revoked = _revoke_quietly(secrets, response.refresh_token, "refresh_token")
        else:
            revoked = _revoke_quietly(secrets, response.access_token, "access_token")
        issuance.refresh_from_db()
        try:
            _fail(
                issuance,
                kind="recording_failed" if revoked else "recording_failed_not_revoked",
                message=RECORDING_FAILED_MESSAGE,
                actor=actor,
                request=request,
            )
        except Exception:
            # The database is down altogether: the row stays pending for `manage.py reconcile`.
            logger.exception("could not mark the issuance failed; reconcile will resolve it")
        raise TokenActionError(RECORDING_FAILED_MESSAGE, kind="recording_failed") from None
    return issuance


def _unseal_secrets(credential: Credential, *, issuance: Issuance, actor, request):
    try:
        return vault.credential_client_credentials(
            credential=credential, actor=actor, request=request
        )
    except vault.CredentialUnreadable as exc:
        _fail(
            issuance,
            kind="credential_unreadable",
            message=exc.user_message,
            actor=actor,
            request=request,
        )
        return None


# --- issue -------------------------------------------------------------------------------------------


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
    request,
    renewed_from: Issuance | None = None,
    issued_to=None,
) -> tuple[Issuance, bool]:
    """Step one: the pending issuance and its "requested" event, committed. ``(issuance, new)``;
    a repeated idempotency key returns the first submission's issuance with ``new`` False.
    ``user`` acts; ``issued_to`` (default: the same person) holds the token and alone may see it."""
    holder = issued_to or user
    # A repeated key is caught by the unique index below (no lookup first: the common case is new).
    _check_rate_limit(user=user, team_id=credential.team_id, request=request)
    issuance = Issuance(
        team_id=credential.team_id,
        credential=credential,
        issued_by=holder,
        grant_type=grant_type,
        upstream_username=upstream_username,
        requested_scopes=list(scopes),
        idempotency_key=idempotency_key,
        status=Status.PENDING,
        issued_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            issuance.save(force_insert=True)
            details = _details(issuance)
            if renewed_from is not None:
                details["renews"] = str(renewed_from.pk)
            audit.record(
                action=Action.TOKEN_REQUESTED,
                actor=user,
                team=credential.team_id,
                target=issuance,
                details=details,
                request=request,
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
    request=None,
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
        request=request,
    )
    if not new:
        return issuance
    secrets = _unseal_secrets(credential, issuance=issuance, actor=user, request=request)
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
        request=request,
        success_action=Action.TOKEN_ISSUED,
    )


# --- reveal once -------------------------------------------------------------------------------------


def issuance_reveal_once(*, user, issuance: Issuance, request=None) -> RevealedToken | None:
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
                request=request,
            )
        raise TokenActionError(TOKEN_UNREADABLE_MESSAGE, kind="token_unreadable") from None
    return RevealedToken(access_token=token, jwt_claims=jwt.decode_jwt_claims(token))


# --- renew -------------------------------------------------------------------------------------------


@sensitive_variables("secrets", "refresh_token")
def token_renew(*, user, issuance: Issuance, idempotency_key=None, request=None) -> Issuance:
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
        request=request,
        renewed_from=issuance,
        # The new token acts as the same gateway user as the old one, so it belongs to the same
        # person: an owner renewing a member's token must not walk away with that member's
        # user token. The owner is the actor in the audit trail; the holder sees the token.
        issued_to=issuance.issued_by,
    )
    if not created:
        return new
    secrets = _unseal_secrets(issuance.credential, issuance=new, actor=user, request=request)
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
        request=request,
        success_action=Action.TOKEN_RENEWED,
        on_success=link_old,
    )


# --- revoke ------------------------------------------------------------------------------------------


@sensitive_variables("secrets", "token", "result")
def token_revoke(*, user, issuance: Issuance, request=None) -> Issuance:
    """RFC 7009 revocation, preferring the refresh token (it takes its access token along).

    WSO2 answers 200 even for unknown tokens; what its ``Revoked*`` headers said is recorded as
    booleans (the header values are tokens themselves and are never stored). Raises
    ``TokenActionError`` when the gateway refuses or cannot be reached; the attempt is audited.
    """
    if not issuance.can_be_revoked:
        raise TokenActionError("Only an active token can be revoked.")
    use_refresh = bool(issuance.refresh_token_encrypted)
    field_name = "refresh_token_encrypted" if use_refresh else "access_token_encrypted"
    try:
        token = crypto.unseal(issuance, field_name)
        secrets = vault.credential_client_credentials(
            credential=issuance.credential, actor=user, request=request
        )
    except (crypto.DecryptionError, vault.CredentialUnreadable) as exc:
        message = getattr(exc, "user_message", TOKEN_UNREADABLE_MESSAGE)
        _record_revoke_failure(issuance, kind="unreadable", actor=user, request=request)
        raise TokenActionError(message, kind="unreadable") from None
    _record_revoke_request(issuance, actor=user, request=request)
    try:
        result = client.revoke(
            secrets,
            token=token,
            token_type_hint="refresh_token" if use_refresh else "access_token",
        )
    except client.TokenApiError as exc:
        # The person is told it failed and may try again; reconcile must not retry behind them.
        Issuance.objects.filter(pk=issuance.pk).update(revoke_requested_at=None)
        _record_revoke_failure(issuance, kind=exc.kind, actor=user, request=request)
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
            details=_details(
                issuance,
                token_fp=issuance.access_token_fingerprint,
                gateway=outcome,
                already_final=not updated,
            ),
            request=request,
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


def _record_revoke_request(issuance: Issuance, *, actor, request) -> None:
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
            details=_details(issuance, token_fp=issuance.access_token_fingerprint),
            request=request,
        )


def _record_revoke_failure(issuance: Issuance, *, kind: str, actor, request) -> None:
    with transaction.atomic():
        audit.record(
            action=Action.TOKEN_REVOKED,
            outcome=Outcome.FAILURE,
            actor=actor,
            team=issuance.team_id,
            target=issuance,
            details=_details(issuance, token_fp=issuance.access_token_fingerprint, reason=kind),
            request=request,
        )


def token_revoke_many(*, user, issuances: list[Issuance], request=None) -> RevokeSummary:
    """Revoke each token the user may revoke, one upstream call each; a failure stops nothing."""
    summary = RevokeSummary()
    for issuance in issuances:
        if not issuance.can_be_revoked:
            summary.skipped.append(issuance)
            continue
        try:
            summary.revoked.append(token_revoke(user=user, issuance=issuance, request=request))
        except TokenActionError as exc:
            summary.failed.append((issuance, exc.message))
    return summary


# --- housekeeping ------------------------------------------------------------------------------------


def issuances_reconcile(*, older_than: timedelta, now=None) -> list[Issuance]:
    """Finish what a crash or a database outage interrupted, for rows older than ``older_than``:

    - ``pending`` issuances are marked failed. A pending row holds no token (tokens are stored in
      the transaction that makes it active), so there is nothing of ours to revoke; a token the
      gateway may have minted expires on its own.
    - active issuances whose revocation was requested but never recorded are revoked again
      (gateways answer 200 for a token already revoked), so the portal's record matches the
      gateway's.

    Every resolution is audited. Returns the issuances it resolved.
    """
    cutoff = (now or timezone.now()) - older_than
    resolved = []
    for issuance in Issuance.objects.filter(status=Status.PENDING, issued_at__lt=cutoff):
        _fail(
            issuance,
            kind="interrupted",
            message="The portal stopped before this request finished. Generate a new token.",
            actor=None,
            request=None,
            action=Action.TOKEN_RECONCILED,
        )
        resolved.append(issuance)
        logger.info("reconciled pending issuance %s", issuance.pk)
    unfinished = Issuance.objects.select_related("credential", "credential__gateway").filter(
        status=Status.ACTIVE, revoke_requested_at__lt=cutoff
    )
    for issuance in unfinished:
        try:
            resolved.append(token_revoke(user=None, issuance=issuance))
            logger.info("finished the interrupted revocation of issuance %s", issuance.pk)
        except TokenActionError as exc:
            logger.warning("could not finish revoking issuance %s: %s", issuance.pk, exc.kind)
    return resolved


def tokens_purge(*, now=None) -> int:
    """Wipe stored tokens nobody can use any more: those of terminal issuances, and those of
    active issuances expired for longer than ``PORTAL_REFRESH_TOKEN_LIFETIME``. Audited once."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.PORTAL_REFRESH_TOKEN_LIFETIME)
    has_tokens = Issuance.objects.exclude(access_token_encrypted="", refresh_token_encrypted="")
    terminal = has_tokens.filter(status__in=TERMINAL_STATUSES)
    stale = has_tokens.filter(status=Status.ACTIVE, expires_at__lt=now, issued_at__lt=stale_before)
    with transaction.atomic():
        count = terminal.update(access_token_encrypted="", refresh_token_encrypted="")
        count += stale.update(
            access_token_encrypted="", refresh_token_encrypted="", has_refresh_token=False
        )
        audit.record(
            action=Action.TOKENS_PURGED,
            actor_label="system",
            details={
                "purged": count,
                "refresh_token_lifetime": settings.PORTAL_REFRESH_TOKEN_LIFETIME,
            },
        )
    return count
