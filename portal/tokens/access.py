"""Who may see, renew and revoke which token. Lookups go through ``teams.access`` (membership and
role): outsiders get 404, a member whose role is too low gets 403."""

from django.core.exceptions import PermissionDenied

from portal.teams.access import membership_for, team_object_get_for_user
from portal.teams.models import Membership, Role
from portal.tokens.models import Issuance


def issuance_get_for_user(user, pk, *, need: str = Role.VIEWER) -> Issuance:
    """An issuance of one of the user's teams: 404 for outsiders, 403 for a role below ``need``.
    The user's role in its team comes along as ``my_role``."""
    return team_object_get_for_user(
        Issuance.objects.select_related("credential", "credential__gateway", "issued_by"),
        user,
        pk,
        need=need,
        what="token",
    )


def issuance_may_manage(user, issuance: Issuance, *, membership: Membership | None = None) -> bool:
    """Renew and revoke: the holder of the token (while still issuer or owner), or a team owner.

    The user's role in the token's team comes from ``membership`` when the caller already holds
    it (a history page asks once per row), else from the ``my_role`` of ``issuance_get_for_user``,
    else from one query."""
    if membership is not None:
        own = membership.user_id == user.pk and membership.team_id == issuance.team_id
        role = membership.role if own else None
    else:
        role = getattr(issuance, "my_role", None)
        if role is None:
            found = membership_for(user, issuance.team_id)
            role = found.role if found is not None else None
    if role == Role.OWNER:
        return True
    return role == Role.ISSUER and issuance.issued_by_id == user.pk


def issuance_get_for_manager(user, pk) -> Issuance:
    """An issuance the user may renew or revoke: 404 for outsiders, 403 for other members."""
    issuance = issuance_get_for_user(user, pk)
    if not issuance_may_manage(user, issuance):
        raise PermissionDenied(
            "Only the person who generated this token or a team owner can do that."
        )
    return issuance
