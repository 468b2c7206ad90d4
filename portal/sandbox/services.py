"""The sandbox gateway's behaviour: WSO2's Token API dialect (see docs/token-api.md).

It speaks the vocabulary of ``portal.gateway.protocol``, the same the portal's client uses, so
the sandbox and the client cannot disagree about a grant type, an error code or a header name.

Every OAuth failure raises :class:`OAuthError`, which the views turn into WSO2's status and JSON.
Access tokens are HS256 JWTs signed with a key derived from ``SECRET_KEY`` (domain-separated, so
the sandbox key is useless for anything else); hand-written with hmac/hashlib to add no dependency.
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from portal.gateway.protocol import (
    AUTHORIZED_USER_HEADER,
    BEARER,
    REVOKED_ACCESS_TOKEN_HEADER,
    REVOKED_REFRESH_TOKEN_HEADER,
    ErrorCode,
    Grant,
    TokenTypeHint,
)
from portal.sandbox.keys import (
    jwt_decode,
    jwt_encode,
    secret_hash,
)
from portal.sandbox.models import SandboxApplication, SandboxToken, SandboxUser

DEFAULT_SCOPE = "default"
# Granted when the application allows it, whatever the user's own scopes (as WSO2 treats openid).
OPENID_SCOPE = "openid"

DEMO_APPLICATION = "Sandbox demo app"
DEMO_USERNAME = "demo@example.com@demoorg"
DEMO_USER_SCOPES = "default read write"
DEMO_APP_SCOPES = "default read write openid"


@dataclass
class OAuthError(Exception):
    """An OAuth error answer: HTTP status, ``error`` code, description and extra headers."""

    status: int
    error: str
    description: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.error}"


def invalid_client() -> OAuthError:
    return OAuthError(
        401,
        ErrorCode.INVALID_CLIENT,
        "Client credentials are invalid.",
        {"WWW-Authenticate": 'Basic realm="sandbox"'},
    )


# --- Seeding --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedResult:
    application: SandboxApplication
    user: SandboxUser
    changes: list[str]


@transaction.atomic
def sandbox_seed(
    *,
    consumer_key: str,
    consumer_secret: str,
    username: str,
    password: str,
    app_name: str = DEMO_APPLICATION,
    app_scopes: str = DEMO_APP_SCOPES,
    user_scopes: str = DEMO_USER_SCOPES,
) -> SeedResult:
    """Create or bring up to date one application and one user. Idempotent: a second run with the
    same values changes nothing. ``changes`` says what was created or updated."""
    changes: list[str] = []
    app = SandboxApplication.objects.select_for_update().filter(name=app_name).first()
    wanted_hash = secret_hash(consumer_secret)
    if app is None:
        # The key may belong to an application of another name (renamed by hand): reuse it.
        app = SandboxApplication.objects.filter(consumer_key=consumer_key).first()
    if app is None:
        app = SandboxApplication.objects.create(
            name=app_name,
            consumer_key=consumer_key,
            consumer_secret_hash=wanted_hash,
            scopes=app_scopes,
        )
        changes.append(f"created application {app_name!r}")
    else:
        updates = {
            "name": app_name,
            "consumer_key": consumer_key,
            "scopes": app_scopes,
            "active": True,
        }
        changed = [k for k, v in updates.items() if getattr(app, k) != v]
        if not hmac.compare_digest(app.consumer_secret_hash, wanted_hash):
            app.consumer_secret_hash = wanted_hash
            changed.append("consumer_secret")
        for key in changed:
            if key != "consumer_secret":
                setattr(app, key, updates[key])
        if changed:
            app.save()
            changes.append(f"updated application {app_name!r} ({', '.join(changed)})")

    user = SandboxUser.objects.select_for_update().filter(username=username).first()
    if user is None:
        user = SandboxUser.objects.create(
            username=username, password=make_password(password), scopes=user_scopes
        )
        changes.append(f"created user {username!r}")
    else:
        changed = []
        if not check_password(password, user.password):
            user.password = make_password(password)
            changed.append("password")
        if user.scopes != user_scopes:
            user.scopes = user_scopes
            changed.append("scopes")
        if not user.active:
            user.active = True
            changed.append("active")
        if changed:
            user.save()
            changes.append(f"updated user {username!r} ({', '.join(changed)})")
    return SeedResult(application=app, user=user, changes=changes)


# --- Client authentication ------------------------------------------------------------------------

_DUMMY_HASH = secret_hash("no such application")


def application_authenticate(*, pairs: list[tuple[str, str]]) -> SandboxApplication:
    """The active application one of the (consumer key, secret) ``pairs`` names, or 401.

    Several pairs arrive when a Basic header can be read both raw and form-urlencoded.
    """
    for key, secret in pairs:
        if not key or len(key) > 100:
            continue
        app = SandboxApplication.objects.filter(consumer_key=key).first()
        expected = app.consumer_secret_hash if app is not None else _DUMMY_HASH
        matches = hmac.compare_digest(expected, secret_hash(secret))
        if app is not None and matches and app.active:
            return app
    raise invalid_client()


def _check_grant_allowed(app: SandboxApplication, grant: str) -> None:
    if grant not in Grant.values:
        raise OAuthError(400, ErrorCode.UNSUPPORTED_GRANT_TYPE, "Unsupported grant_type value")
    if grant not in app.grant_type_list:
        raise OAuthError(
            400,
            ErrorCode.UNAUTHORIZED_CLIENT,
            "The authenticated client is not authorized to use this grant type",
        )


# --- Issuing --------------------------------------------------------------------------------------


def _unique(scopes: list[str]) -> list[str]:
    return sorted(set(scopes))


def _grantable(
    requested: list[str], app: SandboxApplication, user: SandboxUser | None
) -> list[str]:
    """Silently drop what the application or user may not have; fall back to ``default``."""
    app_scopes = set(app.scope_list)
    user_scopes = set(user.scope_list) if user is not None else None
    granted = []
    for scope in requested:
        if scope == DEFAULT_SCOPE:
            granted.append(scope)
        elif scope not in app_scopes:
            continue
        elif scope == OPENID_SCOPE or user_scopes is None or scope in user_scopes:
            granted.append(scope)
    return _unique(granted) or [DEFAULT_SCOPE]


def _purge_dead_tokens(now: datetime) -> None:
    """Keep the table small: drop tokens whose access and refresh tokens both expired a day ago."""
    cutoff = now - timedelta(days=1)
    SandboxToken.objects.filter(expires_at__lt=cutoff, refresh_expires_at__isnull=True).delete()
    SandboxToken.objects.filter(expires_at__lt=cutoff, refresh_expires_at__lt=cutoff).delete()


def _issue(
    *,
    app: SandboxApplication,
    user: SandboxUser | None,
    grant: str,
    scopes: list[str],
    with_refresh: bool,
) -> dict[str, Any]:
    now_ts = int(time.time())
    now = datetime.fromtimestamp(now_ts, tz=UTC)
    lifetime = max(0, int(settings.PORTAL_SANDBOX_ACCESS_TOKEN_LIFETIME))
    refresh_lifetime = max(0, int(settings.PORTAL_SANDBOX_REFRESH_TOKEN_LIFETIME))
    subject = user.username if user is not None else app.owner
    scope = " ".join(scopes)
    claims = {
        "sub": subject,
        "aut": "APPLICATION_USER" if user is not None else "APPLICATION",
        "aud": app.consumer_key,
        "iss": settings.PORTAL_SANDBOX_BASE_URL.rstrip("/") + "/token",
        "consumerKey": app.consumer_key,
        "keytype": "PRODUCTION",
        "scope": scope,
        "iat": now_ts,
        "nbf": now_ts,
        "exp": now_ts + lifetime,
        "jti": str(uuid.uuid4()),
    }
    refresh_token = secrets.token_urlsafe(32) if with_refresh else None
    SandboxToken.objects.create(
        jti=claims["jti"],
        application=app,
        user=user,
        grant_type=grant,
        scopes=scope,
        claims=claims,
        issued_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        refresh_token_hash=secret_hash(refresh_token) if refresh_token else None,
        refresh_expires_at=now + timedelta(seconds=refresh_lifetime) if refresh_token else None,
    )
    _purge_dead_tokens(now)
    answer: dict[str, Any] = {"access_token": jwt_encode(claims)}
    if refresh_token:
        answer["refresh_token"] = refresh_token
    answer.update({"scope": scope, "token_type": BEARER, "expires_in": lifetime})
    if OPENID_SCOPE in scopes:
        answer["id_token"] = jwt_encode(
            {
                "iss": claims["iss"],
                "sub": subject,
                "aud": app.consumer_key,
                "azp": app.consumer_key,
                "iat": now_ts,
                "exp": now_ts + lifetime,
            }
        )
    return answer


def _revoke_same_kind(
    *, app: SandboxApplication, user: SandboxUser | None, scope: str, now: datetime
) -> None:
    # WSO2 (JWT tokens): a new token for the same application + user + scopes revokes the previous.
    SandboxToken.objects.filter(application=app, user=user, scopes=scope, revoked=False).update(
        revoked=True, revoked_at=now
    )


@transaction.atomic
def token_password(
    *, app: SandboxApplication, username: str, password: str, scopes: list[str]
) -> dict[str, Any]:
    """Password grant: a user token plus a refresh token, or 400 invalid_grant."""
    _check_grant_allowed(app, Grant.PASSWORD)
    if not username or not password:
        raise OAuthError(
            400, ErrorCode.INVALID_REQUEST, "Missing parameters: username and password"
        )
    user = SandboxUser.objects.filter(username=username).first()
    if user is None:
        make_password(password)  # about the same time as a real check: no user-existence oracle
        ok = False
    else:
        ok = check_password(password, user.password) and user.active
    if not ok:
        raise OAuthError(
            400, ErrorCode.INVALID_GRANT, f"Authentication failed for {username[:254]}"
        )
    granted = _grantable(scopes or [DEFAULT_SCOPE], app, user)
    _revoke_same_kind(app=app, user=user, scope=" ".join(granted), now=timezone.now())
    return _issue(app=app, user=user, grant=Grant.PASSWORD, scopes=granted, with_refresh=True)


@transaction.atomic
def token_refresh(
    *, app: SandboxApplication, refresh_token: str, scopes: list[str]
) -> dict[str, Any]:
    """Refresh grant: rotates - the old refresh token and its access token stop working."""
    _check_grant_allowed(app, Grant.REFRESH_TOKEN)
    if not refresh_token:
        raise OAuthError(400, ErrorCode.INVALID_REQUEST, "Missing parameters: refresh_token")
    now = timezone.now()
    old = (
        SandboxToken.objects.select_for_update()
        .filter(refresh_token_hash=secret_hash(refresh_token), application=app)
        .first()
    )
    usable = (
        old is not None
        and not old.revoked
        and old.refresh_expires_at is not None
        and old.refresh_expires_at > now
        and (old.user is None or old.user.active)
    )
    if not usable:
        raise OAuthError(400, ErrorCode.INVALID_GRANT, "Persisted access token data not found")
    original = old.scope_list
    if scopes:
        beyond = [s for s in scopes if s not in original]
        if beyond:
            raise OAuthError(
                400, ErrorCode.INVALID_SCOPE, "Requested scope is not in the original grant"
            )
        granted = _unique(scopes)
    else:
        granted = original
    # Conditional update: of two concurrent refreshes with the same token only one wins.
    if not SandboxToken.objects.filter(pk=old.pk, revoked=False).update(
        revoked=True, revoked_at=now
    ):
        raise OAuthError(400, ErrorCode.INVALID_GRANT, "Persisted access token data not found")
    return _issue(
        app=app, user=old.user, grant=Grant.REFRESH_TOKEN, scopes=granted, with_refresh=True
    )


@transaction.atomic
def token_client_credentials(*, app: SandboxApplication, scopes: list[str]) -> dict[str, Any]:
    """Client-credentials grant: an application token, no refresh token."""
    _check_grant_allowed(app, Grant.CLIENT_CREDENTIALS)
    granted = _grantable(scopes or [DEFAULT_SCOPE], app, None)
    _revoke_same_kind(app=app, user=None, scope=" ".join(granted), now=timezone.now())
    return _issue(
        app=app, user=None, grant=Grant.CLIENT_CREDENTIALS, scopes=granted, with_refresh=False
    )


def _token_by_access(token: str) -> SandboxToken | None:
    claims = jwt_decode(token)
    if claims is None or not isinstance(claims.get("jti"), str):
        return None
    return SandboxToken.objects.select_for_update().filter(jti=claims["jti"]).first()


def _token_by_refresh(token: str) -> SandboxToken | None:
    return (
        SandboxToken.objects.select_for_update()
        .filter(refresh_token_hash=secret_hash(token))
        .first()
    )


@transaction.atomic
def token_revoke(*, app: SandboxApplication, token: str, hint: str) -> dict[str, str]:
    """RFC 7009 as WSO2 does it. Returns the ``Revoked*`` headers; empty when nothing was revoked
    (unknown token, another application's token, already revoked) - the answer is 200 anyway."""
    if not token:
        return {}
    lookups = [
        (TokenTypeHint.ACCESS_TOKEN, _token_by_access),
        (TokenTypeHint.REFRESH_TOKEN, _token_by_refresh),
    ]
    if hint == TokenTypeHint.REFRESH_TOKEN:
        lookups.reverse()
    row, kind = None, ""
    for candidate, lookup in lookups:
        row = lookup(token)
        if row is not None:
            kind = candidate
            break
    if row is None:
        return {}
    if row.application_id != app.pk or row.revoked:
        return {}
    SandboxToken.objects.filter(pk=row.pk).update(revoked=True, revoked_at=timezone.now())
    headers = {
        REVOKED_ACCESS_TOKEN_HEADER: jwt_encode(row.claims),
        AUTHORIZED_USER_HEADER: str(row.claims.get("sub", "")),
    }
    if kind == TokenTypeHint.REFRESH_TOKEN:
        headers[REVOKED_REFRESH_TOKEN_HEADER] = token
    return headers
