"""Audit events as sentences a reviewer can read.

``sentence(event, ctx)`` says what happened in words - "alice generated token …0Vmw “CI deploy”
with Orders API — default, read — expires 14:05" - with names instead of ids and links to the
tokens that still exist (``ctx.tokens``, looked up once per page). Names come from the details
each event stored when it happened: a later rename does not rewrite history. Unknown actions (added
later, or by another app) and odd details of old events fall back to "<actor>: <action label>".

An event is an ``AuditEvent`` or a page's plain row with the same attribute names.

Every function here returns HTML as a plain ``str`` and every stored value enters it through
``_text()`` (``html.escape``, quotes included - what ``format_html`` does to its arguments, without
its lazy-string and ``__html__`` checks per piece, which made most of a page's sentence time).
Only ``sentence()`` marks the result safe.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import SafeString

from portal.audit.describe.mentions import TokenRef
from portal.audit.describe.vocabulary import ACTION_LABELS, FAILURE_REASONS, GRANT_WORDS
from portal.audit.models import Outcome

_text = html.escape


@dataclass
class Context:
    """What one page's sentences share: the tokens and teams they mention, and the time."""

    tokens: dict[str, TokenRef] = field(default_factory=dict)
    teams: dict[str, tuple[str, bool]] = field(default_factory=dict)
    now: datetime | None = None


def _b(value) -> str:
    return f"<strong>{_text(str(value))}</strong>"


def _actor(event) -> str:
    # Actors open every sentence: "The portal" for the system's own events.
    name = event.actor_label or ("The portal" if event.actor_id is None else "A former user")
    if name == "system":
        name = "The portal"
    return f'<span class="actor">{_text(name)}</span>'


def _quoted(value) -> str:
    return f"“{_text(str(value))}”" if value else ""


def _scopes(scopes) -> str:
    scopes = [str(s) for s in scopes or []]
    return _text(", ".join(scopes)) if scopes else "no scopes"


def _listed(values) -> str:
    """``changed`` keys in words: "consumer_secret" → "consumer secret"."""
    return ", ".join(str(value).replace("_", " ") for value in values)


def _clock(moment: datetime, *, relative_to: datetime) -> str:
    local, base = timezone.localtime(moment), timezone.localtime(relative_to)
    if local.date() == base.date():
        return f"{local:%H:%M}"
    return f"{local:%b} {local.day} {local:%H:%M}"


def _token(event, ctx: Context, token_id: str | None = None) -> str:
    """``token …0Vmw “CI deploy”``, linked to the token's page when it still exists."""
    ref = ctx.tokens.get(str(token_id or event.target_id))
    if ref is None:
        return "a token"
    if ref.last4:
        label = f'token <span class="mono">…{_text(ref.last4)}</span>'
    else:
        label = "a token request"
    name = event.details.get("name") if isinstance(event.details, dict) else ""
    name = name or ref.name
    text = f"{label} {_quoted(name)}" if name else label
    return f'<a href="{_text(ref.url)}">{text}</a>'


def _credential(details: dict) -> str:
    return _b(details.get("credential") or details.get("name") or "a credential")


def _expiry(event, ctx: Context) -> str:
    ref = ctx.tokens.get(str(event.target_id))
    moment = ref.expires_at if ref else None
    expires_in = event.details.get("expires_in")
    if moment is None and isinstance(expires_in, int | float) and 0 < expires_in < 10**8:
        moment = event.at + timedelta(seconds=expires_in)
    if moment is None:
        return ""
    return f" — expires {_text(_clock(moment, relative_to=event.at))}"


def _reason(details: dict) -> str:
    kind = str(details.get("reason") or "")
    return _text(FAILURE_REASONS.get(kind, kind.replace("_", " ") or "of an unknown reason"))


# --- Sentences with more than names -----------------------------------------------------------


def _token_requested(e, d, ctx):
    renews = d.get("renews")
    if renews:
        return f"{_actor(e)} asked to renew {_token(e, ctx, renews)} with {_credential(d)}"
    grant = GRANT_WORDS.get(d.get("grant", ""), d.get("grant", ""))
    return (
        f"{_actor(e)} requested a token with {_credential(d)} ({_text(str(grant))}) — "
        f"{_scopes(d.get('requested_scopes'))}"
    )


def _token_issued(e, d, ctx):
    granted = d.get("granted_scopes", d.get("requested_scopes"))
    dropped = [s for s in d.get("requested_scopes") or [] if s not in (granted or [])]
    note = f" (not granted: {_text(', '.join(dropped))})" if dropped else ""
    return (
        f"{_actor(e)} generated {_token(e, ctx)} with {_credential(d)} — "
        f"{_scopes(granted)}{note}{_expiry(e, ctx)}"
    )


def _token_renewed(e, d, ctx):
    old = d.get("renewed_from")
    return (
        f"{_actor(e)} renewed {_token(e, ctx, old) if old else 'a token'} as {_token(e, ctx)} — "
        f"{_scopes(d.get('granted_scopes'))}{_expiry(e, ctx)}"
    )


def _token_failed(e, d, ctx):
    renews = d.get("renews")
    what = f"renewal of {_token(e, ctx, renews)}" if renews else "token request"
    return f"{_actor(e)}’s {what} with {_credential(d)} failed because {_reason(d)}"


def _token_revoked(e, d, ctx):
    if e.outcome != Outcome.SUCCESS:
        return f"{_actor(e)} tried to revoke {_token(e, ctx)}: it failed because {_reason(d)}"
    if e.actor_id is None and not e.actor_label:
        return f"The portal finished revoking {_token(e, ctx)}"
    return f"{_actor(e)} revoked {_token(e, ctx)}"


def _token_reconciled(e, d, ctx):
    return f"The portal closed the unfinished request {_token(e, ctx)} ({_reason(d)})"


def _token_checked(e, d, ctx):
    if d.get("active"):
        state = "still active"
    elif "recorded_as" in d:
        state = f"no longer active, recorded as {d['recorded_as']}"
    else:
        state = "no answer"
    return f"{_actor(e)} asked the gateway about {_token(e, ctx)}: {_text(state)}"


CREDENTIAL_FIELD_WORDS = {
    "name": "name",
    "gateway": "gateway",
    "default_scopes": "default scopes",
    "grants": "grant types",
    "consumer_key": "consumer key",
    "consumer_secret": "consumer secret",
    "org_key": "organization key",
}


def _credential_changed(e, d, ctx):
    changed = d.get("changed") or []
    listed = ", ".join(CREDENTIAL_FIELD_WORDS.get(c, str(c).replace("_", " ")) for c in changed)
    return f"{_actor(e)} changed the credential {_b(d.get('name'))}: {_text(listed or 'nothing')}"


def _member_removed(e, d, ctx):
    if d.get("member") and d.get("member") == e.actor_label:
        return f"{_actor(e)} left the team"
    return f"{_actor(e)} removed {_b(d.get('member'))} ({_text(str(d.get('role', '')))})"


def _team_created(e, d, ctx):
    if d.get("personal"):
        return f"The personal team of {_b(e.actor_label)} was created"
    return f"{_actor(e)} created the team {_b(d.get('name'))}"


def _gateway_changed(e, d, ctx):
    names = _listed(d.get("changed") or {}) or "nothing"
    return f"{_actor(e)} changed the gateway {_b(d.get('name'))}: {_text(names)}"


def _export(e, d, ctx):
    fmt = {"csv": "CSV", "jsonl": "JSON Lines"}.get(d.get("format"), d.get("format", ""))
    filters = d.get("filters") or {}
    # Read even when empty: details whose filters are not a mapping fall back to the generic form.
    shown = ", ".join(f"{k} {v}" for k, v in filters.items())
    extra = f" (filtered: {_text(shown)})" if filters else ""
    return f"{_actor(e)} exported the audit log as {_text(str(fmt))}{extra}"


def _profile_updated(e, d, ctx):
    return f"{_actor(e)} updated their profile ({_text(_listed(d.get('changed') or []) or 'no change')})"


def _user_created(e, d, ctx):
    staff = " (staff)" if d.get("staff") else ""
    return f"{_actor(e)} created the account {_b(d.get('username'))}{staff}"


def _user_changed(e, d, ctx):
    changed = ", ".join(sorted(d.get("changed") or {})) or "nothing"
    return f"{_actor(e)} changed the account {_b(d.get('username'))}: {_text(changed)}"


def _team_renamed(e, d, ctx):
    return f"{_actor(e)} renamed the team from {_b(d.get('from'))} to {_b(d.get('to'))}"


def _member_added(e, d, ctx):
    return f"{_actor(e)} added {_b(d.get('member'))} as {_text(str(d.get('role', '')))}"


def _member_role_changed(e, d, ctx):
    return (
        f"{_actor(e)} changed the role of {_b(d.get('member'))} from "
        f"{_text(str(d.get('from', '?')))} to {_text(str(d.get('to', '?')))}"
    )


def _credential_created(e, d, ctx):
    return (
        f"{_actor(e)} stored the credential {_b(d.get('name'))} for gateway "
        f"{_text(str(d.get('gateway', '?')))}"
    )


def _decrypt_failed(e, d, ctx):
    what = str(d.get("field", "a value")).replace("_encrypted", "").replace("_", " ")
    return (
        f"A stored {_text(what)} could not be decrypted "
        f"(sealed with key {_text(str(d.get('key_id', '?')))})"
    )


def _login_failed(e, d, ctx):
    return f"A sign-in as {_b(d.get('username') or '?')} failed: wrong username or password"


def _login_locked(e, d, ctx):
    return (
        f"A sign-in as {_b(d.get('username') or '?')} was refused: "
        "locked after too many failed attempts"
    )


def _revoke_requested(e, d, ctx):
    return f"{_actor(e)} asked the gateway to revoke {_token(e, ctx)}"


def _rate_limited(e, d, ctx):
    return (
        f"{_actor(e)} was stopped by the rate limit "
        f"({_text(str(d.get('limit_per_user', '?')))} tokens a minute per person, "
        f"{_text(str(d.get('limit_per_team', '?')))} per team)"
    )


def _tokens_purged(e, d, ctx):
    return (
        f"The portal wiped {_text(str(d.get('purged', 0)))} stored token(s) nobody can use any more"
    )


def _keys_rotated(e, d, ctx):
    return (
        f"{_actor(e)} re-encrypted {_text(str(d.get('rotated', 0)))} stored value(s) under key "
        f"{_text(str(d.get('active_key_id', '?')))}"
    )


def _history_exported(e, d, ctx):
    fmt = (d.get("format") or "CSV").upper()
    return f"{_actor(e)} exported the token history as {_text(fmt)}"


# --- Sentences of an actor and fixed words, or of an actor, words and a name ------------------

ACTOR_DID = {
    "login.succeeded": "signed in",
    "logout": "signed out",
    "password.changed": "changed their password",
    "sessions.ended": "logged out their other sessions",
    "2fa.enabled": "turned on two-factor authentication",
    "2fa.disabled": "turned off two-factor authentication",
    "2fa.failed": "entered a wrong two-factor code",
    "2fa.recovery_code_used": "signed in with a recovery code",
    "2fa.recovery_codes_created": "made new recovery codes",
    "team.2fa_changed": "changed whether the team requires two-factor authentication",
}

# ``details["name"]`` in bold after the words.
ACTOR_DID_TO_NAMED = {
    "team.deleted": "deleted the team",
    "credential.archived": "archived the credential",
    "credential.restored": "restored the archived credential",
    "gateway.created": "added the gateway",
    "api_key.created": "created the API key",
    "api_key.revoked": "revoked the API key",
}

Describer = Callable[[Any, dict, Context], str]

SENTENCES: dict[str, Describer] = {
    "login.failed": _login_failed,
    "login.locked_out": _login_locked,
    "profile.updated": _profile_updated,
    "user.created": _user_created,
    "user.changed": _user_changed,
    "team.created": _team_created,
    "team.renamed": _team_renamed,
    "member.added": _member_added,
    "member.role_changed": _member_role_changed,
    "member.removed": _member_removed,
    "credential.created": _credential_created,
    "credential.updated": _credential_changed,
    "credential.decrypt_failed": _decrypt_failed,
    "gateway.changed": _gateway_changed,
    "token.requested": _token_requested,
    "token.issued": _token_issued,
    "token.failed": _token_failed,
    "token.renewed": _token_renewed,
    "token.revoke_requested": _revoke_requested,
    "token.revoked": _token_revoked,
    "token.reconciled": _token_reconciled,
    "token.rate_limited": _rate_limited,
    "token.checked": _token_checked,
    "tokens.purged": _tokens_purged,
    "keys.rotated": _keys_rotated,
    "audit.exported": _export,
    "tokens.history_exported": _history_exported,
}


def sentence_html(event, ctx: Context) -> str:
    """``sentence()`` as plain ``str`` HTML, for a caller building a larger piece of HTML."""
    details = event.details if isinstance(event.details, dict) else {}
    action = event.action
    try:
        if action in ACTOR_DID:
            return f"{_actor(event)} {ACTOR_DID[action]}"
        if action in ACTOR_DID_TO_NAMED:
            return f"{_actor(event)} {ACTOR_DID_TO_NAMED[action]} {_b(details.get('name'))}"
        describer = SENTENCES.get(action)
        if describer is not None:
            return describer(event, details, ctx)
    except (KeyError, TypeError, ValueError, AttributeError):
        pass  # odd details of an old event: the generic form below still says something
    return f"{_actor(event)}: {_text(str(ACTION_LABELS.get(action, action)))}"


def sentence(event, ctx: Context | None = None) -> SafeString:
    """One event in words (HTML-safe)."""
    return SafeString(sentence_html(event, ctx or Context()))


def plain(text: str) -> str:
    """A sentence without its markup, e.g. "alice generated token …0Vmw with Orders API"."""
    return html.unescape(strip_tags(text))
