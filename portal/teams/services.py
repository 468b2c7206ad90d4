"""Writes for teams and memberships. Each change is audited in its own transaction."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from portal.accounts import identity
from portal.audit import services as audit
from portal.audit.models import Action
from portal.teams import selectors
from portal.teams.models import Membership, Role, Team


class TeamRuleError(ValidationError):
    """A team rule forbids the change (e.g. removing the last owner)."""


@transaction.atomic
def personal_team_ensure(*, user, actor=None) -> Team:
    """Every user owns one personal team; create it on first need (``actor``: who caused it,
    the user unless an administrator created the account).

    Two first logins at once: the user's row is locked first, so the second waits and finds the
    team the first created (SQLite's immediate transactions serialize them anyway).
    """
    team = Team.objects.filter(personal_owner=user).first()
    if team is not None:
        return team
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    team = Team.objects.filter(personal_owner=user).first()
    if team is not None:
        return team
    team = Team.objects.create(name=f"{user.get_username()} (personal)", personal_owner=user)
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    audit.record(
        action=Action.TEAM_CREATED,
        actor=actor or user,
        actor_label=user.get_username(),
        team=team,
        target=team,
        details={"name": team.name, "personal": True},
    )
    return team


def team_create(*, name: str, owner) -> Team:
    """A shared team owned by its creator. Raises ValidationError for a duplicate name."""
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name.strip())
            Membership.objects.create(team=team, user=owner, role=Role.OWNER)
            audit.record(
                action=Action.TEAM_CREATED,
                actor=owner,
                team=team,
                target=team,
                details={"name": team.name},
            )
    except IntegrityError as exc:
        raise ValidationError({"name": "A team with this name already exists."}) from exc
    return team


def team_rename(*, team: Team, name: str, actor) -> Team:
    """Rename a shared team (personal teams are named after their owner). Audited.
    Raises ``ValidationError`` for a name another shared team has."""
    if team.is_personal:
        raise TeamRuleError("A personal team is named after its owner and cannot be renamed.")
    old, new = team.name, name.strip()
    if old == new:
        return team
    try:
        with transaction.atomic():
            team.name = new
            team.save(update_fields=["name"])
            audit.record(
                action=Action.TEAM_RENAMED,
                actor=actor,
                team=team,
                target=team,
                details={"from": old, "to": new},
            )
    except IntegrityError as exc:
        team.name = old
        raise ValidationError({"name": "A team with this name already exists."}) from exc
    return team


@transaction.atomic
def team_delete(*, team: Team, actor) -> None:
    """Delete a shared team with its memberships, archived credentials and past token records.
    Refused (``TeamRuleError``) for a personal team and while ``team_delete_blockers`` names a
    reason. The audit trail keeps every event of the team, and this one."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.is_personal:
        raise TeamRuleError("A personal team cannot be deleted.")
    reasons = selectors.team_delete_blockers(team=team)
    if reasons:
        raise TeamRuleError(" ".join(reasons))
    issuances = team.issuances.all()
    counts = {
        "members": team.memberships.count(),
        "token_records": issuances.count(),
        "archived_credentials": team.credentials.count(),
    }
    audit.record(
        action=Action.TEAM_DELETED,
        actor=actor,
        team=team,
        target=team,
        details={"name": team.name, **counts},
    )
    # Renewal links point inside the team: unlink them so the rows can go (PROTECT elsewhere).
    issuances.exclude(renewed_from=None).update(renewed_from=None)
    issuances.delete()
    team.credentials.all().delete()
    team.delete()


def _lock_membership(membership: Membership) -> Membership:
    """Lock the team's row, then re-read the membership under that lock.

    Every change that could leave a team without an owner takes this lock first, so two owners
    demoting or removing each other run one after the other and the second sees the first's
    result. (``select_for_update().count()`` would lock nothing: Django drops FOR UPDATE from
    aggregates. SQLite's immediate transactions serialize writers anyway.)
    """
    Team.objects.select_for_update().filter(pk=membership.team_id).values_list("pk").get()
    try:
        return Membership.objects.select_related("team", "user").get(pk=membership.pk)
    except Membership.DoesNotExist:
        raise TeamRuleError("This member was removed meanwhile.") from None


def _other_owner_count(team: Team, user) -> int:
    return Membership.objects.filter(team=team, role=Role.OWNER).exclude(user=user).count()


def member_add_check(*, team: Team, user) -> None:
    """Raises TeamRuleError when ``user`` cannot be added to ``team`` (before asking the owner
    to confirm, and again when adding)."""
    if team.is_personal:
        raise TeamRuleError("A personal team has only its owner. Create a shared team instead.")
    if Membership.objects.filter(team=team, user=user).exists():
        raise TeamRuleError(f"{user.get_username()} is already a member of {team.name}.")


@transaction.atomic
def member_add(*, team: Team, user, role: str, actor) -> Membership:
    member_add_check(team=team, user=user)
    membership = Membership.objects.create(team=team, user=user, role=role)
    audit.record(
        action=Action.MEMBER_ADDED,
        actor=actor,
        team=team,
        target=membership,
        details={"member": user.get_username(), "role": role},
    )
    return membership


@transaction.atomic
def member_change_role(*, membership: Membership, role: str, actor) -> Membership:
    membership = _lock_membership(membership)
    old = membership.role
    if old == role:
        return membership
    if old == Role.OWNER and _other_owner_count(membership.team, membership.user) == 0:
        raise TeamRuleError("The last owner cannot be demoted. Make someone else owner first.")
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        action=Action.MEMBER_ROLE_CHANGED,
        actor=actor,
        team=membership.team,
        target=membership,
        details={"member": membership.user.get_username(), "from": old, "to": role},
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor) -> None:
    membership = _lock_membership(membership)
    team = membership.team
    if team.is_personal:
        raise TeamRuleError("You cannot leave your personal team.")
    if membership.role == Role.OWNER and _other_owner_count(team, membership.user) == 0:
        raise TeamRuleError(
            "The last owner cannot leave or be removed. Make someone else owner first."
        )
    audit.record(
        action=Action.MEMBER_REMOVED,
        actor=actor,
        team=team,
        target=membership,
        details={"member": membership.user.get_username(), "role": membership.role},
    )
    membership.delete()


@transaction.atomic
def team_require_2fa_set(*, team: Team, required: bool, actor) -> Team:
    """Owners require (or stop requiring) two-factor authentication of every member. Turning it
    on needs it on the owner's own account first, so no owner locks themselves out."""
    from portal.accounts import two_factor

    if team.is_personal:
        raise TeamRuleError("Your personal team has only you; turn on two-factor for yourself.")
    if required and not two_factor.is_enabled(actor):
        raise TeamRuleError("Turn on two-factor authentication for yourself first.")
    if team.require_2fa == required:
        return team
    team.require_2fa = required
    team.save(update_fields=["require_2fa"])
    audit.record(
        action=Action.TEAM_2FA_CHANGED,
        actor=actor,
        team=team,
        target=team,
        details={"required": required},
    )
    return team


def user_find(identifier: str):
    """The one account a username or login email names, in any spelling (the login's rule), or
    None."""
    return identity.user_resolve(identifier)
