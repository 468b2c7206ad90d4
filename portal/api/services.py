"""API keys: create (shown once), revoke, and authenticate a request's key.

Creating and revoking are audited; what a key *does* is audited by the services it calls, with
the key's id in the details (``portal.core.context``: the API binds it for the request).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from portal.api import keys
from portal.api.access import KeyPrincipal
from portal.api.models import ApiKey, KeyRole
from portal.audit import services as audit
from portal.audit.models import Action
from portal.teams.access import membership_for, role_allows
from portal.teams.models import Membership, Team

MAX_LIFETIME_DAYS = 365
DEFAULT_LIFETIME_DAYS = 90
# Last use is written at most this often per key: a busy CI job must not write on every call.
LAST_USED_EVERY = timedelta(seconds=60)


class ApiKeyRejected(Exception):
    """The bearer key cannot be used; ``reason`` is stable (``unknown``, ``expired``, ``revoked``,
    ``inactive``), ``message`` says why in words (the caller holds the key: nothing leaks)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class FormAlreadyUsed(Exception):
    """The create form was submitted twice; the key was shown the first time only."""


def _audit_details(key: ApiKey, credential_names: list[str] | None = None) -> dict:
    details = {
        "api_key_id": str(key.pk),
        "name": key.name,
        "role": key.role,
        "key_last4": key.last4,
        "expires_at": key.expires_at.isoformat(timespec="seconds"),
        "holder": key.created_by.get_username() if key.created_by else "",
    }
    if credential_names is not None:
        details["credentials"] = credential_names if not key.all_credentials else "all"
    return details


@sensitive_variables("secret")
def api_key_create(
    *,
    actor,
    team: Team,
    name: str,
    role: str,
    expires_in_days: int = DEFAULT_LIFETIME_DAYS,
    credentials=None,
    form_nonce: uuid.UUID | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``actor`` in ``team``; returns ``(key, secret)`` - the secret exactly once,
    never stored. ``credentials`` (of the team, not archived) restricts the key to them; None or
    empty allows all of the team's. Raises ``ValidationError`` (by field) for a role above the
    actor's own in the team, an expiry outside 1..365 days or a credential not of the team;
    ``FormAlreadyUsed`` for a repeated ``form_nonce``."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name or len(name) > 80 or not name.isprintable():
        errors.setdefault("name", []).append("Give the key a name of 1–80 printable characters.")
    membership = membership_for(actor, team.pk)
    if role not in KeyRole.values:
        errors.setdefault("role", []).append("A key is an issuer or a viewer.")
    elif membership is None or not role_allows(membership.role, role):
        errors.setdefault("role", []).append(
            "A key's role cannot be higher than your own role in the team."
        )
    if not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        errors.setdefault("expires_in_days", []).append(
            f"A key expires after 1 to {MAX_LIFETIME_DAYS} days."
        )
    chosen = list(credentials or [])
    for credential in chosen:
        if credential.team_id != team.pk or credential.is_archived:
            errors.setdefault("credentials", []).append(
                f"“{credential.name}” is not an active credential of {team.name}."
            )
    if errors:
        raise ValidationError(errors)
    secret = keys.generate()
    now = timezone.now()
    key = ApiKey(
        team=team,
        created_by=actor,
        name=name,
        role=role,
        all_credentials=not chosen,
        digest=keys.digest(secret),
        last4=keys.last4(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
        form_nonce=form_nonce,
    )
    try:
        with transaction.atomic():
            key.save(force_insert=True)
            if chosen:
                key.credentials.set(chosen)
            audit.record(
                action=Action.API_KEY_CREATED,
                actor=actor,
                team=team,
                target=key,
                details=_audit_details(key, sorted(c.name for c in chosen)),
            )
    except IntegrityError:
        if form_nonce is not None and ApiKey.objects.filter(form_nonce=form_nonce).exists():
            raise FormAlreadyUsed() from None
        raise
    return key, secret


def api_key_revoke(*, actor, api_key: ApiKey) -> ApiKey:
    """Revoke a key (its creator or a team owner - see ``access.api_key_get_for_manager``).
    Revoking a revoked key changes nothing and records nothing."""
    with transaction.atomic():
        now = timezone.now()
        updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor
        )
        if updated:
            audit.record(
                action=Action.API_KEY_REVOKED,
                actor=actor,
                team=api_key.team_id,
                target=api_key,
                details=_audit_details(api_key),
            )
    api_key.refresh_from_db()
    return api_key


def creator_role_subquery():
    """The creator's current role in the key's team (None once they left it)."""
    return Subquery(
        Membership.objects.filter(team_id=OuterRef("team_id"), user_id=OuterRef("created_by_id"))
        .order_by()
        .values("role")[:1]
    )


def api_key_state(key: ApiKey, *, creator_role: str | None, now: datetime) -> str:
    """``active``, ``revoked``, ``expired`` or ``inactive`` (its creator left the team, lost the
    key's role, or was deactivated)."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at <= now:
        return "expired"
    creator = key.created_by
    if (
        creator is None
        or not creator.is_active
        or creator_role is None
        or not role_allows(creator_role, key.role)
    ):
        return "inactive"
    return "active"


REJECTIONS = {
    "unknown": "This API key is not valid.",
    "revoked": "This API key was revoked.",
    "expired": "This API key has expired. Create a new one in the portal.",
    "inactive": (
        "This API key no longer works: the person who created it left the team, no longer has "
        "the key's role there, or their account was deactivated."
    ),
}


@sensitive_variables("secret")
def api_key_authenticate(*, secret: str, ip: str = "") -> KeyPrincipal:
    """The principal a bearer key stands for, or ``ApiKeyRejected``. One query (the key, its
    creator and the creator's current role in the team) plus, for a key restricted to some
    credentials, their ids; last use is written at most once a minute."""
    if not keys.is_well_formed(secret):
        raise ApiKeyRejected("unknown", REJECTIONS["unknown"])
    key = (
        ApiKey.objects.select_related("created_by", "team")
        .annotate(creator_role=creator_role_subquery())
        .filter(digest=keys.digest(secret))
        .first()
    )
    if key is None:
        raise ApiKeyRejected("unknown", REJECTIONS["unknown"])
    now = timezone.now()
    state = api_key_state(key, creator_role=key.creator_role, now=now)
    if state != "active":
        raise ApiKeyRejected(state, REJECTIONS[state])
    credential_ids = (
        None
        if key.all_credentials
        else frozenset(key.credentials.order_by().values_list("pk", flat=True))
    )
    api_key_mark_used(key, ip=ip, now=now)
    return KeyPrincipal(
        key=key,
        user=key.created_by,
        team=key.team,
        role=key.role,
        credential_ids=credential_ids,
    )


def api_key_mark_used(key: ApiKey, *, ip: str, now: datetime) -> None:
    """Record when and from where the key was last used - at most once a minute (conditional, so
    concurrent requests on several servers write once)."""
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
    ).update(last_used_at=now, last_used_ip=ip[:45])
    key.last_used_at, key.last_used_ip = now, ip[:45]
