"""Membership and role: who belongs to which team, and what their role there allows.

Every app's ``access.py`` fetches its team objects through ``team_object_get_for_user``, so one
rule holds everywhere: outsiders get 404 - never 403 - so they cannot even learn that an object
exists; a member whose role is too low gets 403 (PermissionDenied): they already know the team.
The one exception in form, not in rule, is ``vault.access.credential_get_for_user``: every token
issuance starts there, so it applies the same rule (``role_allows``) to one row of fixed SQL.
"""

import functools
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import F
from django.http import Http404

from portal.core import fixed_sql
from portal.teams.models import ROLE_RANK, Membership, Role, Team

CURRENT_TEAM_SESSION_KEY = "current_team_id"


def membership_for(user, team_id) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("team").filter(user=user, team_id=team_id).first()


def role_allows(role: str, need: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(need)]


def roles_at_least(need: str) -> list[Role]:
    """The roles that allow what ``need`` allows (``need`` itself and every higher one)."""
    return [r for r in Role if role_allows(r, need)]


def membership_get_for_user(user, team_id, *, need: str = Role.VIEWER) -> Membership:
    """The user's membership of a team, or 404 for outsiders, 403 for a too-low role."""
    try:
        membership = membership_for(user, team_id)
    except (ValueError, TypeError, ValidationError):  # a malformed UUID is simply "not found"
        membership = None
    if membership is None:
        raise Http404("No such team.")
    if not membership.allows(need):
        raise PermissionDenied(f"This needs the {Role(need).label.lower()} role in the team.")
    return membership


def team_object_get_for_user(queryset, user, pk, *, need: str, what: str):
    """An object of ``queryset`` (a model with a ``team``) that belongs to one of the user's
    teams, with the user's role there as ``my_role``, in one query: 404 for outsiders and unknown
    or malformed ids ("No such <what>."), 403 below ``need``. Each app's ``access.py`` builds its
    lookups on this."""
    if not user.is_authenticated:
        raise Http404(f"No such {what}.")
    try:
        obj = (
            queryset.filter(pk=pk, team__memberships__user=user)
            .annotate(my_role=F("team__memberships__role"))
            .first()
        )
    except (ValueError, TypeError, ValidationError):
        obj = None
    if obj is None:
        raise Http404(f"No such {what}.")
    if not role_allows(obj.my_role, need):
        raise PermissionDenied(f"This needs the {Role(need).label.lower()} role in the team.")
    return obj


def team_get_for_user(user, team_id, *, need: str = Role.VIEWER) -> Team:
    return membership_get_for_user(user, team_id, need=need).team


def memberships_of(request) -> list[Membership]:
    """All of the user's memberships with their teams, ordered by team name, fetched once per
    request (the two-factor rule, the navigation, the current team and the views all ask)."""
    cached = getattr(request, "_portal_memberships", None)
    if cached is None:
        cached = _memberships_with_teams(request.user) if request.user.is_authenticated else []
        request._portal_memberships = cached
    return cached


@functools.cache
def _memberships_with_teams_sql() -> str:
    read = f"{fixed_sql.columns(Membership, 'm')}, {fixed_sql.columns(Team, 't')}"
    joins = f"{fixed_sql.table(Membership)} m JOIN {fixed_sql.table(Team)} t ON t.id = m.team_id"
    return f"SELECT {read} FROM {joins} WHERE m.user_id = %s ORDER BY t.name"  # noqa: S608


def _memberships_with_teams(user) -> list[Membership]:
    """``Membership.objects.select_related("team").filter(user=user).order_by("team__name")``
    as fixed SQL: nearly every request of a logged-in person reads it (see ``core.fixed_sql``)."""
    width = fixed_sql.width(Membership)
    found = []
    with connection.cursor() as cursor:
        cursor.execute(_memberships_with_teams_sql(), [user.pk])
        for values in cursor.fetchall():
            membership = fixed_sql.instance(Membership, values[:width])
            membership.team = fixed_sql.instance(Team, values[width:])
            found.append(membership)
    return found


def current_membership(request) -> Membership | None:
    """The membership of the team chosen in the team switcher, else the personal team's."""
    memberships = memberships_of(request)
    if not memberships:
        return None
    chosen = str(request.session.get(CURRENT_TEAM_SESSION_KEY, ""))
    for membership in memberships:
        if str(membership.team_id) == chosen:
            return membership
    for membership in memberships:
        if membership.team.personal_owner_id == request.user.pk:
            return membership
    return memberships[0]


def set_current_team(request, team: Team) -> None:
    # Only a change is written: assigning marks the session modified, and a list page read
    # again and again would otherwise rewrite its session row on every request.
    if request.session.get(CURRENT_TEAM_SESSION_KEY) != str(team.pk):
        request.session[CURRENT_TEAM_SESSION_KEY] = str(team.pk)


def membership_for_request(request, team_id=None) -> Membership:
    """The membership of the team a team-wide page reads: ``team_id`` (from ``?team=``) when
    given - 404 for outsiders and malformed ids - else the current team's."""
    if team_id:
        try:
            team_id = uuid.UUID(str(team_id))
        except ValueError:  # from the query string: a malformed id is simply "not found"
            raise Http404("No such team.") from None
        # From the request's memberships (the navigation reads them anyway): no second query.
        for membership in memberships_of(request):
            if membership.team_id == team_id:
                return membership
        raise Http404("No such team.")
    membership = current_membership(request)
    if membership is None:
        raise Http404("No team.")
    return membership


def member_get_for_owner(user, team_id, membership_id) -> Membership:
    """Another membership of a team the user owns (404 for outsiders and for foreign ids)."""
    membership_get_for_user(user, team_id, need=Role.OWNER)
    target = (
        Membership.objects.select_related("team", "user")
        .filter(team_id=team_id, pk=membership_id)
        .first()
    )
    if target is None:
        raise Http404("No such member.")
    return target
