"""Who may see and use which credential. Lookups go through ``teams.access`` (membership and
role): outsiders get 404, a member whose role is too low gets 403."""

from django.db.models import QuerySet

from portal.teams.access import roles_at_least, team_object_get_for_user
from portal.teams.models import Role
from portal.vault.models import Credential


def credential_get_for_user(user, pk, *, need: str = Role.VIEWER) -> Credential:
    """A credential of one of the user's teams: 404 for outsiders (and unknown or malformed ids),
    403 when the user's role in its team is below ``need``. Archived credentials are returned too
    (history stays readable); callers that issue tokens must refuse ``credential.is_archived``."""
    return team_object_get_for_user(
        Credential.objects.select_related("team", "gateway"), user, pk, need=need, what="credential"
    )


def credentials_usable_by(user, *, team=None) -> QuerySet[Credential]:
    """Active (not archived) credentials the user may generate tokens with: those of teams where
    they are issuer or owner, optionally of one ``team`` only. A queryset, ordered by team and name."""
    if not user.is_authenticated:
        return Credential.objects.none()
    qs = Credential.objects.select_related("team", "gateway").filter(
        archived_at__isnull=True,
        team__memberships__user=user,
        team__memberships__role__in=roles_at_least(Role.ISSUER),
    )
    if team is not None:
        qs = qs.filter(team=team)
    return qs.order_by("team__name", "name")
