"""Audit events as sentences a reviewer can read.

``describe(events)`` turns a page of events into rows whose ``sentence`` says what happened in
words - "alice generated token …0Vmw “CI deploy” with Orders API — default, read — expires
14:05" - with names instead of ids and links to what still exists; the technical fields (action
code, ids, address, request id, raw details) stay one click away. Names come from the details
each event stored when it happened (a later rename does not rewrite history); the tokens a page
mentions are looked up in one query, for their last characters and current page.

Unknown actions (added later, or by another app) fall back to "<actor>: <action label>".
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.utils import timezone
from django.utils.html import format_html, strip_tags
from django.utils.safestring import SafeString, mark_safe  # only on constant literals

from portal.audit.models import Action, AuditEvent, Outcome
from portal.audit.targets import target_url
from portal.core.templatetags.ui import when_html

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
    labels = dict(Action.choices)
    grouped, seen = [], set()
    for title, actions in ACTION_GROUPS:
        items = [(str(a), labels[str(a)]) for a in actions if str(a) in labels]
        seen.update(value for value, _ in items)
        if items:
            grouped.append((title, items))
    others = [(value, label) for value, label in Action.choices if value not in seen]
    if others:
        grouped.append(("Other", others))
    return grouped


# --- Looking up what events mention --------------------------------------------------------------


@dataclass(frozen=True)
class TokenRef:
    last4: str
    name: str
    expires_at: datetime | None
    url: str


def token_refs(ids: Iterable[str]) -> dict[str, TokenRef]:
    wanted = []
    for raw in ids:
        try:
            wanted.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not wanted:
        return {}
    from django.urls import reverse

    Issuance = apps.get_model("tokens", "Issuance")
    rows = Issuance.objects.filter(pk__in=wanted).values_list(
        "pk", "access_token_last4", "name", "expires_at"
    )
    return {
        str(pk): TokenRef(
            last4=last4 or "",
            name=name or "",
            expires_at=expires,
            url=reverse("tokens:detail", kwargs={"issuance_id": pk}),
        )
        for pk, last4, name, expires in rows
    }


def _team_names(ids: Iterable) -> dict[str, tuple[str, bool]]:
    Team = apps.get_model("teams", "Team")
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = Team.objects.filter(pk__in=wanted).values_list("pk", "name", "personal_owner_id")
    return {str(pk): (name, owner is not None) for pk, name, owner in rows}


# --- Sentences ------------------------------------------------------------------------------------


@dataclass
class Context:
    """What one page's sentences share: the tokens and teams they mention, and the time."""

    tokens: dict[str, TokenRef] = field(default_factory=dict)
    teams: dict[str, tuple[str, bool]] = field(default_factory=dict)
    now: datetime | None = None


def _b(text) -> SafeString:
    return format_html("<strong>{}</strong>", text)


def _actor(event: AuditEvent) -> SafeString:
    # Actors open every sentence: "The portal" for the system's own events.
    name = event.actor_label or ("The portal" if event.actor_id is None else "A former user")
    if name == "system":
        name = "The portal"
    return format_html('<span class="actor">{}</span>', name)


def _quoted(text: str) -> SafeString:
    return format_html("“{}”", text) if text else mark_safe("")


def _scopes(scopes) -> str:
    scopes = [str(s) for s in scopes or []]
    return ", ".join(scopes) if scopes else "no scopes"


def _clock(moment: datetime, *, relative_to: datetime) -> str:
    local, base = timezone.localtime(moment), timezone.localtime(relative_to)
    if local.date() == base.date():
        return f"{local:%H:%M}"
    return f"{local:%b} {local.day} {local:%H:%M}"


def _token(event: AuditEvent, ctx: Context, token_id: str | None = None) -> SafeString:
    """``token …0Vmw “CI deploy”``, linked to the token's page when it still exists."""
    ref = ctx.tokens.get(str(token_id or event.target_id))
    if ref is None:
        return mark_safe("a token")
    label = (
        format_html('token <span class="mono">…{}</span>', ref.last4)
        if ref.last4
        else (mark_safe("a token request"))
    )
    name = event.details.get("name") if isinstance(event.details, dict) else ""
    name = name or ref.name
    text = format_html("{} {}", label, _quoted(name)) if name else label
    return format_html('<a href="{}">{}</a>', ref.url, text)


def _credential(details: dict) -> SafeString:
    return _b(details.get("credential") or details.get("name") or "a credential")


def _expiry(event: AuditEvent, ctx: Context) -> SafeString:
    ref = ctx.tokens.get(str(event.target_id))
    moment = ref.expires_at if ref else None
    expires_in = event.details.get("expires_in")
    if moment is None and isinstance(expires_in, int | float) and 0 < expires_in < 10**8:
        moment = event.at + timedelta(seconds=expires_in)
    if moment is None:
        return mark_safe("")
    return format_html(" — expires {}", _clock(moment, relative_to=event.at))


def _reason(details: dict) -> str:
    kind = str(details.get("reason") or "")
    return FAILURE_REASONS.get(kind, kind.replace("_", " ") or "of an unknown reason")


def _token_requested(e, d, ctx):
    renews = d.get("renews")
    if renews:
        return format_html(
            "{} asked to renew {} with {}", _actor(e), _token(e, ctx, renews), _credential(d)
        )
    grant = GRANT_WORDS.get(d.get("grant", ""), d.get("grant", ""))
    return format_html(
        "{} requested a token with {} ({}) — {}",
        _actor(e),
        _credential(d),
        grant,
        _scopes(d.get("requested_scopes")),
    )


def _token_issued(e, d, ctx):
    granted = d.get("granted_scopes", d.get("requested_scopes"))
    dropped = [s for s in d.get("requested_scopes") or [] if s not in (granted or [])]
    note = format_html(" (not granted: {})", ", ".join(dropped)) if dropped else ""
    return format_html(
        "{} generated {} with {} — {}{}{}",
        _actor(e),
        _token(e, ctx),
        _credential(d),
        _scopes(granted),
        note,
        _expiry(e, ctx),
    )


def _token_renewed(e, d, ctx):
    old = d.get("renewed_from")
    return format_html(
        "{} renewed {} as {} — {}{}",
        _actor(e),
        _token(e, ctx, old) if old else mark_safe("a token"),
        _token(e, ctx),
        _scopes(d.get("granted_scopes")),
        _expiry(e, ctx),
    )


def _token_failed(e, d, ctx):
    if d.get("renews"):
        what = format_html("renewal of {}", _token(e, ctx, d.get("renews")))
    else:
        what = mark_safe("token request")
    return format_html(
        "{}’s {} with {} failed because {}", _actor(e), what, _credential(d), _reason(d)
    )


def _token_revoked(e, d, ctx):
    if e.outcome != Outcome.SUCCESS:
        return format_html(
            "{} tried to revoke {}: it failed because {}", _actor(e), _token(e, ctx), _reason(d)
        )
    if e.actor_id is None and not e.actor_label:
        return format_html("The portal finished revoking {}", _token(e, ctx))
    return format_html("{} revoked {}", _actor(e), _token(e, ctx))


def _token_reconciled(e, d, ctx):
    return format_html(
        "The portal closed the unfinished request {} ({})", _token(e, ctx), _reason(d)
    )


def _credential_changed(e, d, ctx):
    changed = d.get("changed") or []
    words = {
        "name": "name",
        "gateway": "gateway",
        "default_scopes": "default scopes",
        "grants": "grant types",
        "consumer_key": "consumer key",
        "consumer_secret": "consumer secret",
        "org_key": "organization key",
    }
    listed = ", ".join(words.get(c, str(c).replace("_", " ")) for c in changed) or "nothing"
    return format_html("{} changed the credential {}: {}", _actor(e), _b(d.get("name")), listed)


def _member_removed(e, d, ctx):
    if d.get("member") and d.get("member") == e.actor_label:
        return format_html("{} left the team", _actor(e))
    return format_html("{} removed {} ({})", _actor(e), _b(d.get("member")), d.get("role", ""))


def _team_created(e, d, ctx):
    if d.get("personal"):
        return format_html("The personal team of {} was created", _b(e.actor_label))
    return format_html("{} created the team {}", _actor(e), _b(d.get("name")))


def _gateway_changed(e, d, ctx):
    changed = d.get("changed") or {}
    names = ", ".join(str(k).replace("_", " ") for k in changed) or "nothing"
    return format_html("{} changed the gateway {}: {}", _actor(e), _b(d.get("name")), names)


def _export(e, d, ctx):
    fmt = {"csv": "CSV", "jsonl": "JSON Lines"}.get(d.get("format"), d.get("format", ""))
    filters = d.get("filters") or {}
    extra = format_html(" (filtered: {})", ", ".join(f"{k} {v}" for k, v in filters.items()))
    return format_html(
        "{} exported the audit log as {}{}", _actor(e), fmt, extra if filters else ""
    )


def _login_failed(e, d, ctx):
    return format_html(
        "A sign-in as {} failed: wrong username or password", _b(d.get("username") or "?")
    )


def _login_locked(e, d, ctx):
    return format_html(
        "A sign-in as {} was refused: locked after too many failed attempts",
        _b(d.get("username") or "?"),
    )


def _decrypt_failed(e, d, ctx):
    what = str(d.get("field", "a value")).replace("_encrypted", "").replace("_", " ")
    return format_html(
        "A stored {} could not be decrypted (sealed with key {})", what, d.get("key_id", "?")
    )


Describer = Callable[[AuditEvent, dict, Context], SafeString]

SENTENCES: dict[str, Describer] = {
    "login.succeeded": lambda e, d, c: format_html("{} signed in", _actor(e)),
    "login.failed": _login_failed,
    "login.locked_out": _login_locked,
    "logout": lambda e, d, c: format_html("{} signed out", _actor(e)),
    "password.changed": lambda e, d, c: format_html("{} changed their password", _actor(e)),
    "profile.updated": lambda e, d, c: format_html(
        "{} updated their profile ({})",
        _actor(e),
        ", ".join(str(x).replace("_", " ") for x in d.get("changed") or []) or "no change",
    ),
    "user.created": lambda e, d, c: format_html(
        "{} created the account {}{}",
        _actor(e),
        _b(d.get("username")),
        " (staff)" if d.get("staff") else "",
    ),
    "team.created": _team_created,
    "team.renamed": lambda e, d, c: format_html(
        "{} renamed the team from {} to {}", _actor(e), _b(d.get("from")), _b(d.get("to"))
    ),
    "team.deleted": lambda e, d, c: format_html(
        "{} deleted the team {}", _actor(e), _b(d.get("name"))
    ),
    "member.added": lambda e, d, c: format_html(
        "{} added {} as {}", _actor(e), _b(d.get("member")), d.get("role", "")
    ),
    "member.role_changed": lambda e, d, c: format_html(
        "{} changed the role of {} from {} to {}",
        _actor(e),
        _b(d.get("member")),
        d.get("from", "?"),
        d.get("to", "?"),
    ),
    "member.removed": _member_removed,
    "credential.created": lambda e, d, c: format_html(
        "{} stored the credential {} for gateway {}",
        _actor(e),
        _b(d.get("name")),
        d.get("gateway", "?"),
    ),
    "credential.updated": _credential_changed,
    "credential.archived": lambda e, d, c: format_html(
        "{} archived the credential {}", _actor(e), _b(d.get("name"))
    ),
    "credential.restored": lambda e, d, c: format_html(
        "{} restored the archived credential {}", _actor(e), _b(d.get("name"))
    ),
    "credential.decrypt_failed": _decrypt_failed,
    "gateway.created": lambda e, d, c: format_html(
        "{} added the gateway {}", _actor(e), _b(d.get("name"))
    ),
    "gateway.changed": _gateway_changed,
    "token.requested": _token_requested,
    "token.issued": _token_issued,
    "token.failed": _token_failed,
    "token.renewed": _token_renewed,
    "token.revoke_requested": lambda e, d, c: format_html(
        "{} asked the gateway to revoke {}", _actor(e), _token(e, c)
    ),
    "token.revoked": _token_revoked,
    "token.reconciled": _token_reconciled,
    "token.rate_limited": lambda e, d, c: format_html(
        "{} was stopped by the rate limit ({} tokens a minute per person, {} per team)",
        _actor(e),
        d.get("limit_per_user", "?"),
        d.get("limit_per_team", "?"),
    ),
    "tokens.purged": lambda e, d, c: format_html(
        "The portal wiped {} stored token(s) nobody can use any more", d.get("purged", 0)
    ),
    "keys.rotated": lambda e, d, c: format_html(
        "{} re-encrypted {} stored value(s) under key {}",
        _actor(e),
        d.get("rotated", 0),
        d.get("active_key_id", "?"),
    ),
    "audit.exported": _export,
    "tokens.history_exported": lambda e, d, c: format_html(
        "{} exported the token history as {}", _actor(e), (d.get("format") or "CSV").upper()
    ),
    "token.checked": lambda e, d, c: format_html(
        "{} asked the gateway about {}: {}",
        _actor(e),
        _token(e, c),
        "still active"
        if d.get("active")
        else (
            f"no longer active, recorded as {d['recorded_as']}"
            if "recorded_as" in d
            else "no answer"
        ),
    ),
    "user.changed": lambda e, d, c: format_html(
        "{} changed the account {}: {}",
        _actor(e),
        _b(d.get("username")),
        ", ".join(sorted(d.get("changed") or {})) or "nothing",
    ),
    "sessions.ended": lambda e, d, c: format_html("{} logged out their other sessions", _actor(e)),
    "2fa.enabled": lambda e, d, c: format_html("{} turned on two-factor authentication", _actor(e)),
    "2fa.disabled": lambda e, d, c: format_html(
        "{} turned off two-factor authentication", _actor(e)
    ),
    "2fa.failed": lambda e, d, c: format_html("{} entered a wrong two-factor code", _actor(e)),
    "2fa.recovery_code_used": lambda e, d, c: format_html(
        "{} signed in with a recovery code", _actor(e)
    ),
    "2fa.recovery_codes_created": lambda e, d, c: format_html(
        "{} made new recovery codes", _actor(e)
    ),
    "team.2fa_changed": lambda e, d, c: format_html(
        "{} changed whether the team requires two-factor authentication", _actor(e)
    ),
    "api_key.created": lambda e, d, c: format_html(
        "{} created the API key {}", _actor(e), _b(d.get("name"))
    ),
    "api_key.revoked": lambda e, d, c: format_html(
        "{} revoked the API key {}", _actor(e), _b(d.get("name"))
    ),
}


def sentence(event: AuditEvent, ctx: Context | None = None) -> SafeString:
    """One event in words (HTML-safe)."""
    ctx = ctx or Context()
    details = event.details if isinstance(event.details, dict) else {}
    describer = SENTENCES.get(event.action)
    if describer is not None:
        try:
            return describer(event, details, ctx)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # odd details of an old event: the generic form below still says something
    return format_html("{}: {}", _actor(event), event.get_action_display())


# --- Technical fields ------------------------------------------------------------------------------


def _detail_value(value) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def technical_fields(event: AuditEvent) -> list[tuple[str, str]]:
    """The event as stored, for the "Technical details" disclosure."""
    rows = [
        ("Event", f"#{event.seq}"),
        ("Time (UTC)", event.at.astimezone(UTC).isoformat(timespec="seconds")),
        ("Action", event.action),
        ("Outcome", event.outcome),
    ]
    if event.actor_label or event.actor_id:
        rows.append(("Actor", f"{event.actor_label} (user id {event.actor_id or '—'})"))
    if event.target_type:
        rows.append(("Target", f"{event.target_type} {event.target_id}".strip()))
    if event.team_id:
        rows.append(("Team id", str(event.team_id)))
    if event.ip:
        rows.append(("Address", event.ip))
    if event.user_agent:
        rows.append(("Browser", event.user_agent))
    if event.request_id:
        rows.append(("Request id", event.request_id))
    details = event.details if isinstance(event.details, dict) else {"details": event.details}
    for key in sorted(details):
        rows.append((str(key), _detail_value(details[key])))
    rows.append(("Hash", event.hash))
    return rows


# --- Rows --------------------------------------------------------------------------------------------


@dataclass
class EventRow:
    event: AuditEvent
    sentence: SafeString
    target_url: str | None
    technical: list[tuple[str, str]]
    team_name: str = ""
    when: SafeString = SafeString("")

    # Built here, not in the template: a page shows 50 events of a dozen fields each, and a
    # template loop per field was most of the page's rendering time.
    @property
    def technical_html(self) -> SafeString:
        # Labels and values are plain text read from the stored event (``technical_fields``),
        # each escaped here as ``format_html_join`` would, at a fraction of its cost.
        return SafeString(
            "".join(
                f"<dt>{html.escape(label)}</dt><dd>{html.escape(value)}</dd>"
                for label, value in self.technical
            )
        )

    @property
    def badge(self) -> SafeString:
        css, text = _OUTCOME_BADGES.get(self.event.outcome, _OUTCOME_BADGES[Outcome.DENIED])
        return format_html('<span class="badge {}">{}</span>', css, text)


_OUTCOME_BADGES = {
    Outcome.SUCCESS: ("badge-ok", "Succeeded"),
    Outcome.FAILURE: ("badge-warn", "Failed"),
    Outcome.DENIED: ("badge-bad", "Refused"),
}


def _mentioned_tokens(events: list[AuditEvent]) -> set[str]:
    ids = set()
    for e in events:
        if e.target_type == "tokens.issuance" and e.target_id:
            ids.add(e.target_id)
        details = e.details if isinstance(e.details, dict) else {}
        for key in ("renewed_from", "renews"):
            if details.get(key):
                ids.add(str(details[key]))
    return ids


def describe(events: list[AuditEvent], *, with_team: bool = False) -> list[EventRow]:
    """A page of events as rows: sentence, link, technical fields (and team names when the page
    spans teams). Two queries at most, whatever the page size."""
    ctx = Context(tokens=token_refs(_mentioned_tokens(events)), now=timezone.now())
    if with_team:
        ctx.teams = _team_names(e.team_id for e in events)
    rows = []
    for e in events:
        team_name = ""
        if with_team and e.team_id:
            name, personal = ctx.teams.get(str(e.team_id), ("a deleted team", False))
            team_name = "a personal team" if personal else name
        rows.append(
            EventRow(
                event=e,
                sentence=sentence(e, ctx),
                target_url=target_url(e),
                technical=technical_fields(e),
                team_name=team_name,
                when=when_html(e.at, ctx.now),
            )
        )
    return rows


def plain(text: SafeString) -> str:
    """A sentence without its markup, e.g. "alice generated token …0Vmw with Orders API"."""
    return html.unescape(strip_tags(text))
