"""API keys: how scripts and CI jobs use the portal on behalf of one person, in one team.

A key acts as its creator, in one team, with a role no higher than the creator's there (issuer
or viewer), optionally restricted to some of the team's credentials, until it expires (at most a
year) or is revoked. It stops working as soon as its creator leaves the team or drops below the
key's role. Only an HMAC digest of the key is stored (``portal.api.keys``).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.teams.models import Role


class KeyRole(models.TextChoices):
    """The roles a key may have: an owner's powers are never handed to a script."""

    ISSUER = Role.ISSUER.value, "Issuer — generate, renew and revoke own tokens"
    VIEWER = Role.VIEWER.value, "Viewer — read history and audit only"


class ApiKey(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="api_keys")
    # The person the key acts as. A deleted account leaves the key's record (and its audit
    # trail) but the key never works again.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="api_keys"
    )
    name = models.CharField(max_length=80)
    role = models.CharField(max_length=10, choices=KeyRole.choices)
    # False: only ``credentials`` (an explicit flag, so a list that empties never means "all").
    all_credentials = models.BooleanField(default=True)
    credentials = models.ManyToManyField("vault.Credential", blank=True, related_name="+")
    digest = models.CharField(max_length=64, unique=True)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Written at most once a minute per key (see services.api_key_mark_used).
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.CharField(max_length=45, blank=True)
    # The create form's double-submit guard: a reloaded POST must not mint a second key.
    form_nonce = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="api_key_team_created"),
            models.Index(fields=["created_by", "-created_at"], name="api_key_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (tpk_…{self.last4})"

    @property
    def masked(self) -> str:
        return f"tpk_…{self.last4}"

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
