from portal.teams.models import Membership, Team


def membership_list_for_team(*, team: Team):
    return Membership.objects.select_related("user").filter(team=team).order_by("user__username")


def membership_list_for_user(*, user):
    return Membership.objects.select_related("team").filter(user=user).order_by("team__name")
