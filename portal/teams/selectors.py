from portal.teams.models import Membership, Role, Team


def membership_list_for_team(*, team: Team):
    return Membership.objects.select_related("user").filter(team=team).order_by("user__username")


def membership_list_for_user(*, user):
    return Membership.objects.select_related("team").filter(user=user).order_by("team__name")


def team_delete_blockers(*, team: Team) -> list[str]:
    """Why a team cannot be deleted yet, in words (empty when it can): live tokens would lose
    their record while still working upstream, and active credentials are in use."""
    reasons = []
    live = team.issuances.filter(status__in=("active", "pending")).count()
    if live:
        reasons.append(
            f"{live} token{'s are' if live != 1 else ' is'} still active or pending: revoke "
            f"{'them' if live != 1 else 'it'} first (the token history can revoke several at once)."
        )
    credentials = team.credentials.filter(archived_at__isnull=True).count()
    if credentials:
        reasons.append(
            f"{credentials} credential{'s are' if credentials != 1 else ' is'} still active: "
            f"archive {'them' if credentials != 1 else 'it'} first."
        )
    return reasons


def team_delete_summary(*, team: Team) -> dict[str, int]:
    """What deleting the team takes with it (the confirmation page says so)."""
    return {
        "members": team.memberships.count(),
        "records": team.issuances.count(),
        "archived": team.credentials.count(),
    }


def membership_is_last_owner(membership: Membership) -> bool:
    """Whether this owner is the team's only one (they can neither leave nor be demoted)."""
    return (
        membership.role == Role.OWNER
        and not Membership.objects.filter(team_id=membership.team_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )
