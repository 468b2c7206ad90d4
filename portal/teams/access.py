"""The ONE place that decides who may see or do what.

Every view that touches a team object fetches it through a function here. Outsiders get 404 -
never 403 - so they cannot even learn that an object exists. A member whose role is too low gets
403 (PermissionDenied): they already know the team.
"""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404

from portal.teams.models import ROLE_RANK, Membership, Role, Team

CURRENT_TEAM_SESSION_KEY = "current_team_id"


def membership_for(user, team_id) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.select_related("team").filter(user=user, team_id=team_id).first()


def role_allows(role: str, need: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(need)]


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


def _get_with_my_role(queryset, user, pk, *, need: str, what: str):
    """One query for an object of one of the user's teams and the user's role there (as
    ``my_role``): 404 for outsiders and unknown or malformed ids, 403 below ``need``."""
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
    """All of the user's memberships with their teams, fetched once per request (the navigation,
    the current team and the views all ask)."""
    cached = getattr(request, "_portal_memberships", None)
    if cached is None:
        cached = (
            list(
                Membership.objects.select_related("team")
                .filter(user=request.user)
                .order_by("team__name")
            )
            if request.user.is_authenticated
            else []
        )
        request._portal_memberships = cached
    return cached


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
    request.session[CURRENT_TEAM_SESSION_KEY] = str(team.pk)


def teams_where(user, *, need: str = Role.VIEWER) -> list[Team]:
    """Teams where the user holds at least the ``need`` role."""
    roles = [r for r in Role if ROLE_RANK[r] >= ROLE_RANK[Role(need)]]
    return [
        m.team
        for m in Membership.objects.select_related("team")
        .filter(user=user, role__in=roles)
        .order_by("team__name")
    ]


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


# --- audit ---


def audit_membership_for_request(request, team_id=None) -> Membership:
    """The membership whose team's audit log the request reads: ``team_id`` when given (404 for
    outsiders and malformed ids), else the current team."""
    if team_id:
        try:
            team_id = uuid.UUID(str(team_id))
        except ValueError:  # from the query string: a malformed id is simply "not found"
            raise Http404("No such team.") from None
        return membership_get_for_user(request.user, team_id)
    membership = current_membership(request)
    if membership is None:
        raise Http404("No team.")
    return membership


def audit_only_actor_id(membership: Membership):
    """Owners and viewers read the team's whole trail; an issuer reads only their own events
    (returns the user id to restrict to, or None for no restriction)."""
    return membership.user_id if membership.role == Role.ISSUER else None


# --- vault ---
def credential_get_for_user(user, pk, *, need: str = Role.VIEWER):
    """A credential of one of the user's teams: 404 for outsiders (and unknown or malformed ids),
    403 when the user's role in its team is below ``need``. Archived credentials are returned too
    (history stays readable); callers that issue tokens must refuse ``credential.is_archived``."""
    from portal.vault.models import Credential

    return _get_with_my_role(
        Credential.objects.select_related("team", "gateway"), user, pk, need=need, what="credential"
    )


def credentials_usable_by(user, *, team=None):
    """Active (not archived) credentials the user may generate tokens with: those of teams where
    they are issuer or owner, optionally of one ``team`` only. A queryset, ordered by team and name."""
    from portal.vault.models import Credential

    if not user.is_authenticated:
        return Credential.objects.none()
    roles = [r for r in Role if ROLE_RANK[r] >= ROLE_RANK[Role.ISSUER]]
    qs = Credential.objects.select_related("team", "gateway").filter(
        archived_at__isnull=True,
        team__memberships__user=user,
        team__memberships__role__in=roles,
    )
    if team is not None:
        qs = qs.filter(team=team)
    return qs.order_by("team__name", "name")


# --- tokens ---
def issuance_get_for_user(user, pk, *, need: str = Role.VIEWER):
    """An issuance of one of the user's teams: 404 for outsiders, 403 for a role below ``need``.
    The user's role in its team comes along as ``my_role``."""
    from portal.tokens.models import Issuance

    return _get_with_my_role(
        Issuance.objects.select_related("credential", "credential__gateway", "issued_by"),
        user,
        pk,
        need=need,
        what="token",
    )


def issuance_may_manage(user, issuance) -> bool:
    """Renew and revoke: the issuer of the token (while still issuer or owner), or a team owner."""
    role = getattr(issuance, "my_role", None)
    if role is None:
        membership = membership_for(user, issuance.team_id)
        if membership is None:
            return False
        role = membership.role
    if role == Role.OWNER:
        return True
    return role == Role.ISSUER and issuance.issued_by_id == user.pk


def issuance_get_for_manager(user, pk):
    """An issuance the user may renew or revoke: 404 for outsiders, 403 for other members."""
    issuance = issuance_get_for_user(user, pk)
    if not issuance_may_manage(user, issuance):
        raise PermissionDenied(
            "Only the person who generated this token or a team owner can do that."
        )
    return issuance


# --- tokens history ---
def history_membership_for_request(request, team_id=None) -> Membership:
    """The membership whose team's token history the request reads: ``team_id`` (from
    ``?team=``) when given - 404 for outsiders and malformed ids - else the current team.
    Every member role reads the whole history of the team."""
    if team_id:
        try:
            team_id = uuid.UUID(str(team_id))
        except ValueError:  # from the query string: a malformed id is simply "not found"
            raise Http404("No such team.") from None
        return membership_get_for_user(request.user, team_id)
    membership = current_membership(request)
    if membership is None:
        raise Http404("No team.")
    return membership


def issuance_manageable_in(membership: Membership, issuance) -> bool:
    """``issuance_may_manage`` for a membership already loaded (a history page asks it once per
    row): owners manage every token of the team, issuers their own."""
    if membership.team_id != issuance.team_id:
        return False
    if membership.role == Role.OWNER:
        return True
    return membership.role == Role.ISSUER and issuance.issued_by_id == membership.user_id
