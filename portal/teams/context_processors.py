from portal.teams import access
from portal.teams.models import Role


def teams(request):
    """The navigation's team menu: the user's teams, the current one, and whether any of them
    lets the user generate tokens (viewers everywhere get no "Generate token" link)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    current = access.current_membership(request)
    memberships = access.memberships_of(request)
    return {
        "current_membership": current,
        "current_team": current.team if current else None,
        "my_memberships": memberships,
        "may_generate_somewhere": any(m.allows(Role.ISSUER) for m in memberships),
    }
