"""Who may see and use which credential. Lookups go through ``teams.access`` (membership and
role): outsiders get 404, a member whose role is too low gets 403."""

import functools

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from portal.core import fixed_sql
from portal.teams.access import role_allows, roles_at_least
from portal.teams.models import Membership, Role, Team
from portal.vault.models import Credential, Gateway


@functools.cache
def _credential_with_team_gateway_and_role_sql() -> str:
    """The credential (by pk) with its team and gateway, joined to the membership of the asking
    user, whose role comes last: no membership, no row. Parameters: the user's pk, the
    credential's pk."""
    read = ", ".join(
        (
            fixed_sql.columns(Credential, "c"),
            fixed_sql.columns(Team, "t"),
            fixed_sql.columns(Gateway, "g"),
            "m.role",
        )
    )
    joins = (
        f"{fixed_sql.table(Credential)} c JOIN {fixed_sql.table(Team)} t ON t.id = c.team_id "
        f"JOIN {fixed_sql.table(Gateway)} g ON g.id = c.gateway_id "
        f"JOIN {fixed_sql.table(Membership)} m ON m.team_id = c.team_id AND m.user_id = %s"
    )
    return f"SELECT {read} FROM {joins} WHERE c.id = %s"  # noqa: S608


def credential_get_for_user(user, pk, *, need: str = Role.VIEWER) -> Credential:
    """A credential of one of the user's teams, with its team and gateway and the user's role
    there as ``my_role``: 404 for outsiders (and unknown or malformed ids), 403 when that role is
    below ``need`` - the rule of ``teams.access.team_object_get_for_user``. Archived credentials
    are returned too (history stays readable); callers that issue tokens must refuse
    ``credential.is_archived``.

    Every token issuance starts here, so the one joined row is read with fixed SQL (see
    ``core.fixed_sql``)."""
    if not user.is_authenticated:
        raise Http404("No such credential.")
    try:
        wanted = Credential._meta.pk.get_db_prep_value(
            Credential._meta.pk.to_python(pk), connection
        )
    except (ValidationError, ValueError, TypeError):
        raise Http404("No such credential.") from None
    found = fixed_sql.row(_credential_with_team_gateway_and_role_sql(), [user.pk, wanted])
    if found is None:
        raise Http404("No such credential.")
    credential_end = fixed_sql.width(Credential)
    team_end = credential_end + fixed_sql.width(Team)
    credential = fixed_sql.instance(Credential, found[:credential_end])
    credential.team = fixed_sql.instance(Team, found[credential_end:team_end])
    credential.gateway = fixed_sql.instance(Gateway, found[team_end:-1])
    credential.my_role = found[-1]
    if not role_allows(credential.my_role, need):
        raise PermissionDenied(f"This needs the {Role(need).label.lower()} role in the team.")
    return credential


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
