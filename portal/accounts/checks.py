"""Database checks for accounts created before today's identity rules.

They run with ``manage.py migrate`` and ``manage.py check --database default`` (checks tagged
``database`` need a database to look at).
"""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core import checks
from django.db import DatabaseError

from portal.accounts.identity import normalize, username_key

_SHOWN = 20


def _names(users) -> str:
    listed = ", ".join(f"{u.username!r} (id {u.pk})" for u in users[:_SHOWN])
    return listed + (f" and {len(users) - _SHOWN} more" if len(users) > _SHOWN else "")


@checks.register(checks.Tags.database)
def accounts_follow_identity_rules(app_configs, databases=None, **kwargs):
    if not databases:
        return []
    User = get_user_model()
    try:
        users = list(User.objects.order_by("pk").only("pk", "username", "email"))
    except DatabaseError:  # not migrated yet: nothing to check
        return []
    warnings = []
    by_key = defaultdict(list)
    for user in users:
        by_key[username_key(user.username)].append(user)
    colliding = [u for group in by_key.values() if len(group) > 1 for u in group]
    if colliding:
        warnings.append(
            checks.Warning(
                f"Usernames that are one name once case and Unicode compatibility forms are "
                f"ignored: {_names(colliding)}.",
                hint="Rename all but the rightful owner in the admin. Until then only the "
                "oldest is found by other spellings; the others log in with their exact "
                "username or their email.",
                id="accounts.W001",
            )
        )
    with_at = [u for u in users if "@" in u.username]
    if with_at:
        warnings.append(
            checks.Warning(
                f"Usernames containing @ (they look like login emails): {_names(with_at)}.",
                hint="Rename them in the admin. A login with an @ is looked up as an email "
                "first, so another person's email never reaches these accounts.",
                id="accounts.W002",
            )
        )
    by_email = defaultdict(list)
    for user in users:
        if user.email:
            by_email[normalize(user.email).lower()].append(user)
    same_email = [u for group in by_email.values() if len(group) > 1 for u in group]
    if same_email:
        warnings.append(
            checks.Warning(
                f"Accounts whose login emails are one address once Unicode compatibility "
                f"forms are ignored: {_names(same_email)}.",
                hint="Clear or correct the email of all but the rightful owner in the admin.",
                id="accounts.W003",
            )
        )
    return warnings
