"""Which account an identifier names: one rule for login, the lockout, sign-up and team members.

People type a username or an email in any case, with surrounding spaces, sometimes with
full-width or other compatibility characters. All of those spellings must name one account
(and count against one lockout counter), and no second account may be created under another
spelling of an existing one.
"""

from __future__ import annotations

import unicodedata

from django.contrib.auth import get_user_model
from django.db.models import Value
from django.db.models.functions import Lower


def normalize(text: str) -> str:
    """What the user meant to type: NFKC (as Django normalises usernames), no outer spaces."""
    return unicodedata.normalize("NFKC", text or "").strip()


def username_key(username: str) -> str:
    """The spelling-independent form of a username: NFKC, then case-folded (``ß`` = ``ss``).
    Unique across accounts (``User.username_key``)."""
    return unicodedata.normalize("NFKC", normalize(username).casefold())


def email_taken_query(email: str):
    """Accounts whose login email equals ``email`` the way the database constraint compares
    them (``Lower(email)``)."""
    User = get_user_model()
    return User.objects.alias(email_lower=Lower("email")).filter(
        email_lower=Lower(Value(normalize(email)))
    )


def user_resolve(identifier: str):
    """The one account ``identifier`` names, or None.

    With an ``@`` it is a login email (compared case-insensitively); otherwise a username in any
    case. Usernames cannot contain ``@`` (see ``validators``), so the two never compete. An exact
    username match comes first only so that accounts created before these rules (and named by
    ``manage.py check``) keep working until an administrator renames them.
    """
    value = normalize(identifier)
    if not value:
        return None
    User = get_user_model()
    if "@" in value:
        return email_taken_query(value).exclude(email="").first() or (
            User.objects.filter(username=value).first()
        )
    return (
        User.objects.filter(username=value).first()
        or User.objects.filter(username_key=username_key(value)).first()
    )
