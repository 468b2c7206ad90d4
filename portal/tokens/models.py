"""Issuances: one row per token obtained from a gateway, and per failed attempt.

Access and refresh tokens are kept only encrypted (``vault.crypto``, bound to the row and field),
only so the portal can show the token once, renew and revoke it; the ciphertexts are wiped when
the issuance reaches a terminal state. An HMAC fingerprint and the last four characters identify
the token for people and for the audit trail.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.gateway.protocol import Grant


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    RENEWED = "renewed", "Renewed"
    REVOKED = "revoked", "Revoked"
    FAILED = "failed", "Failed"


TERMINAL_STATUSES = (Status.RENEWED, Status.REVOKED, Status.FAILED)


class TokenFormat(models.TextChoices):
    OPAQUE = "opaque", "Opaque"
    JWT = "jwt", "JWT"


# A token counts as "expiring soon" in the last ten minutes of its life.
EXPIRING_SOON = timedelta(minutes=10)


def display_status(status: str, expires_at, now) -> str:
    """``Issuance.display_status`` of a row's values at ``now`` (exports take one ``now`` for
    all their rows)."""
    if status != Status.ACTIVE:
        return status
    if expires_at is None:
        return "active"
    if expires_at <= now:
        return "expired"
    if expires_at - now <= EXPIRING_SOON:
        return "expiring_soon"
    return "active"


def renewable(status: str, has_refresh_token: bool) -> bool:
    """``Issuance.can_be_renewed`` of a row's values (the history reads plain rows)."""
    return status == Status.ACTIVE and has_refresh_token


def revocable(status: str, holds_token: bool) -> bool:
    """``Issuance.can_be_revoked`` of a row's values: active, with a token (access or refresh)
    the portal can send to the gateway's revoke endpoint."""
    return status == Status.ACTIVE and holds_token


def scopes_not_granted(requested: list | None, granted: list | None) -> list[str]:
    granted = granted or []
    return [s for s in requested or [] if s not in granted]


class Issuance(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.PROTECT, related_name="issuances")
    credential = models.ForeignKey(
        "vault.Credential", on_delete=models.PROTECT, related_name="issuances"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="issuances"
    )
    # The gateway and URLs the token came from. Renewal and revocation go only there: a credential
    # moved to another gateway, or a gateway whose URLs were edited since, never receives this
    # token's refresh token (or the consumer secret along with it).
    gateway = models.ForeignKey(
        "vault.Gateway", null=True, on_delete=models.PROTECT, related_name="issuances"
    )
    token_url = models.CharField(max_length=500, blank=True)
    revoke_url = models.CharField(max_length=500, blank=True)
    grant_type = models.CharField(max_length=20, choices=Grant.choices)
    # What the holder calls the token and why it exists (GitHub's note, Stripe's key name);
    # renewals keep both. Never sent to the gateway.
    name = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=500, blank=True)
    upstream_username = models.CharField(max_length=255, blank=True)
    requested_scopes = models.JSONField(default=list, blank=True)
    granted_scopes = models.JSONField(default=list, blank=True)
    token_type = models.CharField(max_length=20, blank=True)
    token_format = models.CharField(max_length=10, choices=TokenFormat.choices, blank=True)
    issued_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # False when the gateway's answer carried no expires_in: expires_at is then the gateway's
    # configured default lifetime, or unknown (None).
    expiry_from_gateway = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_kind = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    renewed_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewed_by"
    )
    access_token_fingerprint = models.CharField(max_length=16, blank=True, db_index=True)
    access_token_last4 = models.CharField(max_length=4, blank=True)
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    has_refresh_token = models.BooleanField(default=False)
    # When the raw token was shown (once). Reloading the result page shows it no more.
    displayed_at = models.DateTimeField(null=True, blank=True)
    # A double submit of the generate form carries the same key and gets the same issuance.
    idempotency_key = models.UUIDField(null=True, blank=True, unique=True)
    # Set (and audited) before the gateway is asked to revoke: if the portal cannot record the
    # answer, `manage.py reconcile` finishes the revocation instead of leaving it unknown.
    revoke_requested_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_result = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-issued_at", "-id"], name="tokens_team_issued"),
            models.Index(fields=["issued_by", "status", "expires_at"], name="tokens_user_status"),
            models.Index(fields=["status", "expires_at"], name="tokens_status_expiry"),
            # History filtered by status, and the dashboard's recent failures of a team.
            models.Index(
                fields=["team", "status", "-issued_at", "-id"], name="tokens_team_status_issued"
            ),
            # History filtered by credential or by member: a page is one range scan however
            # few of the team's tokens are that credential's or that member's.
            models.Index(
                fields=["credential", "-issued_at", "-id"], name="tokens_credential_issued"
            ),
            models.Index(
                fields=["team", "issued_by", "-issued_at", "-id"], name="tokens_team_member_issued"
            ),
            # The history's daily chart counts a month of a team's tokens by day and status
            # from this index alone, without reading the table.
            models.Index(fields=["team", "issued_at", "status"], name="tokens_team_day_status"),
        ]
        # PostgreSQL also has GIN indexes on requested_scopes and granted_scopes (migration
        # 0005), for the history's scope filter.

    def __str__(self) -> str:
        return f"{self.get_grant_type_display()} token …{self.access_token_last4} ({self.status})"

    @property
    def display_status(self) -> str:
        """What a person needs to know: active / expiring soon / expired, else the stored status."""
        return display_status(self.status, self.expires_at, timezone.now())

    @property
    def scopes_differ(self) -> bool:
        """Warning-worthy: the gateway did not grant a scope that was asked for. Scopes granted
        beyond the request (a server's default scope for a request without one) are not."""
        return self.status == Status.ACTIVE and bool(self.scopes_not_granted)

    @property
    def scopes_not_granted(self) -> list[str]:
        return scopes_not_granted(self.requested_scopes, self.granted_scopes)

    @property
    def scopes_also_granted(self) -> list[str]:
        return [s for s in self.granted_scopes or [] if s not in (self.requested_scopes or [])]

    @property
    def can_be_renewed(self) -> bool:
        return renewable(self.status, self.has_refresh_token)

    @property
    def can_be_revoked(self) -> bool:
        return revocable(
            self.status, bool(self.refresh_token_encrypted or self.access_token_encrypted)
        )
