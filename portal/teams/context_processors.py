from portal.teams import access


def teams(request):
    """The navigation's team switcher: the user's teams and the current one."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    current = access.current_membership(request)
    return {
        "current_membership": current,
        "current_team": current.team if current else None,
        "my_memberships": access.memberships_of(request),
    }
