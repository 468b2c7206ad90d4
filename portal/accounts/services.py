"""Writes for accounts: creation (with the personal team), sign-in events, password, profile."""

from django.contrib.auth import get_user_model
from django.db import transaction

from portal.accounts import identity
from portal.accounts.models import Session
from portal.accounts.session_store import stored_key
from portal.audit import services as audit
from portal.audit.models import Action, Outcome
from portal.teams.services import personal_team_ensure


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    email: str = "",
    display_name: str = "",
    api_store_email: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    actor=None,
):
    """A new account and its personal team. ``password=None`` leaves it unusable.

    Raises ValidationError (keyed by field) when the username breaks the rules or another
    account has it in any spelling, or another account uses the email in any case.
    """
    User = get_user_model()
    user = User(
        username=username,
        email=identity.normalize(email),
        display_name=display_name,
        api_store_email=api_store_email,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    audit.record(
        action=Action.USER_CREATED,
        actor=actor,
        actor_label=(actor.get_username() if actor else "system"),
        target=user,
        details={"username": user.username, "staff": is_staff},
    )
    personal_team_ensure(user=user, actor=actor)
    return user


@transaction.atomic
def login_record_success(*, user) -> None:
    personal_team_ensure(user=user)
    audit.record(action=Action.LOGIN_SUCCEEDED, actor=user, target=user)


def login_record_failure(*, attempted_username: str, locked_out: bool = False) -> None:
    audit.record(
        action=Action.LOGIN_LOCKED_OUT if locked_out else Action.LOGIN_FAILED,
        outcome=Outcome.DENIED if locked_out else Outcome.FAILURE,
        actor_label=attempted_username[:150],
        details={"username": attempted_username[:150]},
    )


def logout_record(*, user) -> None:
    audit.record(action=Action.LOGOUT, actor=user, target=user)


def _end_other_sessions(*, user, current_session_key: str | None) -> int:
    others = Session.objects.filter(user=user)
    if current_session_key:
        others = others.exclude(session_key=stored_key(current_session_key))
    ended, _ = others.delete()
    return ended


@transaction.atomic
def password_change(*, user, new_password: str, current_session_key: str | None = None) -> None:
    """Sets the password and deletes every other session of the user (the one whose key is
    given stays; the view keeps it valid with ``update_session_auth_hash``)."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    ended = _end_other_sessions(user=user, current_session_key=current_session_key)
    audit.record(
        action=Action.PASSWORD_CHANGED,
        actor=user,
        target=user,
        details={"other_sessions_ended": ended},
    )


@transaction.atomic
def sessions_end_others(*, user, current_session_key: str) -> int:
    """Logs the user out everywhere but the session whose key is given; returns how many ended."""
    ended = _end_other_sessions(user=user, current_session_key=current_session_key)
    audit.record(action=Action.SESSIONS_ENDED, actor=user, target=user, details={"ended": ended})
    return ended


@transaction.atomic
def profile_update(*, user, display_name: str, email: str, api_store_email: str) -> None:
    changed = sorted(
        field
        for field, value in (
            ("display_name", display_name),
            ("email", email),
            ("api_store_email", api_store_email),
        )
        if getattr(user, field) != value
    )
    user.display_name = display_name
    user.email = email
    user.api_store_email = api_store_email
    user.save(update_fields=["display_name", "email", "api_store_email"])
    audit.record(
        action=Action.PROFILE_UPDATED,
        actor=user,
        target=user,
        details={"changed": changed},
    )


# What an administrator's change of a user records: the fields that decide who can do what.
USER_AUDITED_FIELDS = ("username", "email", "is_active", "is_staff", "is_superuser")


def user_audited_values(user) -> dict:
    values = {name: getattr(user, name) for name in USER_AUDITED_FIELDS}
    if user.pk:
        values["groups"] = sorted(user.groups.values_list("name", flat=True))
        values["permissions"] = sorted(user.user_permissions.values_list("codename", flat=True))
    return values


def user_record_created(*, user, actor) -> None:
    """Audit an account created outside sign-up (the admin)."""
    audit.record(
        action=Action.USER_CREATED,
        actor=actor,
        target=user,
        details={
            "username": user.get_username(),
            "staff": user.is_staff,
            "superuser": user.is_superuser,
        },
    )


def user_record_changed(*, user, before: dict, actor) -> None:
    """Audit an administrator's change of a user, field by field, old -> new (nothing if nothing
    that matters changed)."""
    after = user_audited_values(user)
    changed = {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }
    if changed:
        audit.record(
            action=Action.USER_CHANGED,
            actor=actor,
            target=user,
            details={"username": user.get_username(), "changed": changed},
        )


def password_set_by_admin(*, user, actor) -> None:
    audit.record(
        action=Action.PASSWORD_CHANGED,
        actor=actor,
        target=user,
        details={"by_administrator": True},
    )
