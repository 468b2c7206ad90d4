"""The words of the audit pages: why a token request failed, grant names, and the choices of the
"What" and "About" filters."""

from __future__ import annotations

import functools

from portal.audit.models import Action

# Short reasons for a failed token request, by failure kind (the full message is on the token's
# page and in the technical details).
FAILURE_REASONS = {
    "invalid_grant": "the gateway rejected the username or password",
    "invalid_client": "the gateway rejected the application's key or secret",
    "invalid_scope": "the gateway refused the scopes",
    "unauthorized_client": "the application may not use this grant",
    "unsupported_grant_type": "the application may not use this grant",
    "invalid_request": "the gateway called the request malformed",
    "rate_limited": "the gateway was busy",
    "unavailable": "the gateway was unavailable",
    "timeout": "the gateway did not answer in time",
    "connection": "the gateway could not be reached",
    "tls": "the gateway's TLS certificate was not trusted",
    "bad_response": "the gateway's answer was unreadable",
    "credential_unreadable": "the stored credential could not be decrypted",
    "token_unreadable": "the stored token could not be decrypted",
    "recording_failed": "it could not be recorded (the token was revoked again)",
    "recording_failed_not_revoked": "it could not be recorded",
    "interrupted": "the portal stopped before it finished",
    "internal_error": "of an unexpected error",
}

GRANT_WORDS = {
    "password": "password grant",
    "client_credentials": "client credentials",
    "refresh_token": "refresh token",
}

# Every known action's label ("Token issued"), as ``get_action_display()`` gives it: the pages
# read events as plain rows, not model instances. Unknown actions show their code.
ACTION_LABELS: dict[str, str] = {str(value): str(label) for value, label in Action.choices}

# Grouped, human choices for the "What" filter (values are the stored action codes).
ACTION_GROUPS: list[tuple[str, list[str]]] = [
    (
        "Tokens",
        [
            Action.TOKEN_ISSUED,
            Action.TOKEN_RENEWED,
            Action.TOKEN_REVOKED,
            Action.TOKEN_FAILED,
            Action.TOKEN_REQUESTED,
            Action.TOKEN_REVOKE_REQUESTED,
            Action.TOKEN_RATE_LIMITED,
            Action.TOKEN_RECONCILED,
            Action.TOKEN_CHECKED,
        ],
    ),
    (
        "Credentials and gateways",
        [
            "credential.created",
            "credential.updated",
            "credential.archived",
            "credential.restored",
            "credential.decrypt_failed",
            "gateway.created",
            "gateway.changed",
        ],
    ),
    (
        "Team and members",
        [
            "team.created",
            "team.renamed",
            "team.deleted",
            "team.2fa_changed",
            "member.added",
            "member.role_changed",
            "member.removed",
        ],
    ),
    (
        "Sign-in and account",
        [
            "login.succeeded",
            "login.failed",
            "login.locked_out",
            "logout",
            "password.changed",
            "profile.updated",
            "user.created",
            "user.changed",
            "sessions.ended",
            "2fa.enabled",
            "2fa.disabled",
            "2fa.failed",
            "2fa.recovery_code_used",
            "2fa.recovery_codes_created",
            "api_key.created",
            "api_key.revoked",
        ],
    ),
    (
        "Audit and maintenance",
        ["audit.exported", "tokens.history_exported", "tokens.purged", "keys.rotated"],
    ),
]

# The "About" filter: what an event is about, in words.
TARGET_KINDS = [
    ("tokens.issuance", "Tokens"),
    ("vault.credential", "Credentials"),
    ("teams.membership", "Members"),
    ("teams.team", "The team"),
]


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped (label, value) choices of every known action; actions added later to ``Action``
    land in "Other"."""
    return [(title, list(items)) for title, items in _grouped_actions()]


@functools.cache
def _grouped_actions() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    # Worked out once per process (every audit page's filter form asks): ``Action`` is fixed
    # once the code is loaded.
    labels = dict(Action.choices)
    grouped, seen = [], set()
    for title, actions in ACTION_GROUPS:
        items = tuple((str(a), labels[str(a)]) for a in actions if str(a) in labels)
        seen.update(value for value, _ in items)
        if items:
            grouped.append((title, items))
    others = tuple((value, label) for value, label in Action.choices if value not in seen)
    if others:
        grouped.append(("Other", others))
    return tuple(grouped)
