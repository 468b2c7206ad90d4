"""The login lockout's idea of "who": the account an identifier names, not the text typed.

django-axes counts failures per (``username``, client address) as its ``AXES_USERNAME_CALLABLE``
names them. Counting the typed text let every spelling of an account ("Alice@example.com",
"ALICE@EXAMPLE.COM", "alice") start a fresh counter; here every spelling that resolves to an
account counts against that account, and identifiers that name no account share one counter
per client address.
"""

from __future__ import annotations

from portal.accounts import identity

UNKNOWN_ACCOUNT = "(no such account)"
# Credentials key naming the account directly (the code step of a two-factor login).
ACCOUNT_CREDENTIAL = "portal_account"


def account_label(user) -> str:
    return f"account:{user.pk}"


def lockout_username(request, credentials: dict | None = None) -> str:
    """``AXES_USERNAME_CALLABLE``: the counter key for this attempt."""
    if credentials and credentials.get(ACCOUNT_CREDENTIAL) is not None:
        # A wrong two-factor code: the account is known, no name to resolve.
        return f"account:{credentials[ACCOUNT_CREDENTIAL]}"
    user = getattr(request, "user", None)
    if (
        credentials
        and user is not None
        and user.is_authenticated
        and credentials.get("username") == user.get_username()
    ):
        # django-axes resetting the counter of the account that just logged in.
        return account_label(user)
    if credentials:
        identifier = credentials.get("username")
    else:
        identifier = getattr(request, "POST", {}).get("username") if request is not None else None
    identifier = identity.normalize(str(identifier or ""))[:254]
    cache = request.__dict__.setdefault("_portal_lockout_keys", {}) if request else {}
    if identifier not in cache:
        user = identity.user_resolve(identifier) if identifier else None
        cache[identifier] = account_label(user) if user is not None else UNKNOWN_ACCOUNT
    return cache[identifier]
