"""The per-user and per-team issuance limit, counted in the database so every app server shares
it, and checked in the same locked step as the pending issuance's insert (simultaneous requests
cannot all pass the count)."""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.tokens.models import Issuance
from portal.tokens.services.common import RateLimited


class RateLimitReached(Exception):
    """Leaves the pending issuance's transaction without inserting anything."""


def lock_rate_counters(*, user_id, team_id) -> None:
    """Serialize count-then-insert per user and per team, so simultaneous requests cannot all
    pass the count (always user first, then team: one order, no deadlock). SQLite's immediate
    transactions already serialize every writer."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s)), pg_advisory_xact_lock(hashtext(%s))",
            [f"rate:user:{user_id}", f"rate:team:{team_id}"],
        )


def rate_limit_reached(*, user, team_id) -> str | None:
    """Per user and per team, counted in the database so every app server shares the limit.
    Runs inside the transaction that inserts the pending issuance."""
    per_user = settings.PORTAL_RATE_LIMIT_PER_USER
    per_team = settings.PORTAL_RATE_LIMIT_PER_TEAM
    if not (per_user or per_team):
        return None
    lock_rate_counters(user_id=user.pk, team_id=team_id)
    since = timezone.now() - timedelta(seconds=60)
    counts = Issuance.objects.filter(issued_at__gte=since).aggregate(
        user=Count("pk", filter=Q(issued_by=user)), team=Count("pk", filter=Q(team_id=team_id))
    )
    if per_user and counts["user"] >= per_user:
        return f"You generated {per_user} tokens in the last minute"
    if per_team and counts["team"] >= per_team:
        return f"Your team generated {per_team} tokens in the last minute"
    return None


def refuse_rate_limited(*, user, team_id, limit_hit: str) -> None:
    with transaction.atomic():
        audit.record(
            action=Action.TOKEN_RATE_LIMITED,
            outcome=Outcome.DENIED,
            actor=user,
            team=team_id,
            details={
                "limit_per_user": settings.PORTAL_RATE_LIMIT_PER_USER,
                "limit_per_team": settings.PORTAL_RATE_LIMIT_PER_TEAM,
            },
        )
    raise RateLimited(f"{limit_hit}. Please wait a minute and try again.", kind="rate_limited")
