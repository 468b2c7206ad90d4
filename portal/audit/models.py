"""The audit trail: append-only, hash-chained events. Written only by ``audit.services.record``."""

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    LOGIN_SUCCEEDED = "login.succeeded", "Login succeeded"
    LOGIN_FAILED = "login.failed", "Login failed"
    LOGIN_LOCKED_OUT = "login.locked_out", "Login locked out"
    LOGOUT = "logout", "Logged out"
    PASSWORD_CHANGED = "password.changed", "Password changed"
    SESSIONS_ENDED = "sessions.ended", "Other sessions logged out"
    TWO_FACTOR_ENABLED = "2fa.enabled", "Two-factor authentication enabled"
    TWO_FACTOR_DISABLED = "2fa.disabled", "Two-factor authentication disabled"
    TWO_FACTOR_FAILED = "2fa.failed", "Two-factor code rejected"
    RECOVERY_CODE_USED = "2fa.recovery_code_used", "Recovery code used"
    RECOVERY_CODES_CREATED = "2fa.recovery_codes_created", "Recovery codes created"
    TEAM_2FA_CHANGED = "team.2fa_changed", "Team two-factor requirement changed"
    PROFILE_UPDATED = "profile.updated", "Profile updated"
    USER_CREATED = "user.created", "User created"
    USER_CHANGED = "user.changed", "User changed by an administrator"
    TEAM_CREATED = "team.created", "Team created"
    TEAM_RENAMED = "team.renamed", "Team renamed"
    TEAM_DELETED = "team.deleted", "Team deleted"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    CREDENTIAL_CREATED = "credential.created", "Credential created"
    CREDENTIAL_UPDATED = "credential.updated", "Credential updated"
    CREDENTIAL_ARCHIVED = "credential.archived", "Credential archived"
    CREDENTIAL_RESTORED = "credential.restored", "Credential restored"
    CREDENTIAL_DECRYPT_FAILED = "credential.decrypt_failed", "Decryption failed"
    GATEWAY_CREATED = "gateway.created", "Gateway created"
    GATEWAY_CHANGED = "gateway.changed", "Gateway changed"
    TOKEN_REQUESTED = "token.requested", "Token requested"
    TOKEN_ISSUED = "token.issued", "Token issued"
    TOKEN_FAILED = "token.failed", "Token request failed"
    TOKEN_RENEWED = "token.renewed", "Token renewed"
    TOKEN_REVOKE_REQUESTED = "token.revoke_requested", "Token revocation requested"
    TOKEN_REVOKED = "token.revoked", "Token revoked"
    TOKEN_RECONCILED = "token.reconciled", "Pending token reconciled"
    TOKEN_CHECKED = "token.checked", "Token checked at the gateway"
    TOKEN_RATE_LIMITED = "token.rate_limited", "Token generation rate-limited"
    TOKENS_PURGED = "tokens.purged", "Stored tokens purged"
    KEYS_ROTATED = "keys.rotated", "Encryption keys rotated"
    AUDIT_EXPORTED = "audit.exported", "Audit log exported"
    HISTORY_EXPORTED = "tokens.history_exported", "Token history exported"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"
    DENIED = "denied", "Denied"


GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One audited action. Rows are never updated or deleted; ``hash`` chains each to the last.

    Actor and team are kept as plain ids plus a name snapshot (no foreign-key constraint), so
    deleting a user or team never has to touch - and so break - the chain.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    team = models.ForeignKey(
        "teams.Team",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=40, choices=Action.choices)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        # The log pages read one team's events newest first in keyset pages (seq < before),
        # optionally narrowed by one filter: each index below turns such a page into one range
        # scan, whatever the table's size. Date filters become seq bounds through ``at`` (which
        # ``record()`` keeps non-decreasing in seq).
        indexes = [
            models.Index(fields=["team", "-seq"], name="audit_team_seq"),
            models.Index(fields=["team", "actor", "-seq"], name="audit_team_actor_seq"),
            models.Index(fields=["team", "action", "-seq"], name="audit_team_action_seq"),
            models.Index(fields=["team", "outcome", "-seq"], name="audit_team_outcome_seq"),
            models.Index(
                fields=["team", "target_type", "target_id", "-seq"], name="audit_team_target_seq"
            ),
            models.Index(fields=["at", "seq"], name="audit_at_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"
