"""Reads of API keys for the key management page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q
from django.utils import timezone

from portal.api.models import ApiKey
from portal.api.services import api_key_state, creator_role_subquery
from portal.teams.models import Membership, Role
from portal.vault.models import Credential


@dataclass
class KeyRow:
    key: ApiKey
    state: str  # active, expired, revoked, inactive
    credential_names: list[str] | None  # None: all of the team's
    may_revoke: bool


def api_key_rows_for_user(user, *, now: datetime | None = None, limit: int = 200) -> list[KeyRow]:
    """The user's own keys and every key of the teams they own, newest first."""
    now = now or timezone.now()
    owned_teams = Membership.objects.filter(user=user, role=Role.OWNER).values("team_id")
    keys = (
        ApiKey.objects.filter(Q(created_by=user) | Q(team_id__in=owned_teams))
        .select_related("team", "created_by", "revoked_by")
        .annotate(creator_role=creator_role_subquery())
        .prefetch_related(
            Prefetch("credentials", queryset=Credential.objects.only("id", "name").order_by("name"))
        )
        .order_by("-created_at", "-id")[:limit]
    )
    owned = set(owned_teams.values_list("team_id", flat=True))
    return [
        KeyRow(
            key=key,
            state=api_key_state(key, creator_role=key.creator_role, now=now),
            credential_names=None
            if key.all_credentials
            else [c.name for c in key.credentials.all()],
            may_revoke=key.revoked_at is None
            and (key.created_by_id == user.pk or key.team_id in owned),
        )
        for key in keys
    ]
