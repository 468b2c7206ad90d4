"""How a token looks on a page: its status badge, its scopes as chips, and the history's rows.

The history shows 25 rows a page and the dashboard, result and detail pages show the same badge
and chips, so these pieces are built here in Python rather than as template includes: an
``{% include %}`` or ``{% url %}`` per row costs tens of microseconds each in Django's template
engine, which made rendering most of a history page's time. A history row is one piece of HTML
(``history_table``) made from the page's plain values (``selectors.history_table_page``), every
value passed through ``html.escape`` - Django's ``format_html`` and ``escape`` check each argument
for laziness and safety first, which cost more than the row. Templates use the badge and chips
through ``{% load tokens_ui %}`` (``status_badge``, ``scope_chips``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString

from portal.core.links import url_for_id
from portal.core.templatetags.ui import when_html
from portal.tokens import access, selectors
from portal.tokens.models import (
    Grant,
    Issuance,
    Status,
    display_status,
    renewable,
    revocable,
)

_BADGE_CLASS = {
    "active": "badge-ok",
    "expiring_soon": "badge-warn",
    "pending": "badge-warn",
    "failed": "badge-bad",
    "revoked": "badge-bad",
}
_BADGE_TEXT = {"expiring_soon": "Expiring soon", "expired": "Expired", **dict(Status.choices)}
_GRANT_TEXT = dict(Grant.choices)


def _badge(shown: str) -> str:
    return (
        f'<span class="badge {_BADGE_CLASS.get(shown, "badge-muted")}">'
        f"{escape(str(_BADGE_TEXT.get(shown, shown)))}</span>"
    )


def status_badge(issuance: Issuance, now: datetime | None = None) -> SafeString:
    """Active / expiring soon / expired, else the stored status, as a coloured badge."""
    if now is None:
        shown = issuance.display_status
    else:
        shown = display_status(issuance.status, issuance.expires_at, now)
    return SafeString(_badge(shown))


def scope_view(issuance) -> dict:
    """Requested vs granted scopes for display; the difference only matters once a token was
    granted (failed and pending attempts have nothing granted). ``issuance`` is an Issuance or a
    row with its ``requested_scopes``, ``granted_scopes`` and ``status``."""
    requested = list(issuance.requested_scopes or [])
    granted = list(issuance.granted_scopes or [])
    missing = [s for s in requested if s not in granted]
    extra = [s for s in granted if s not in requested]
    return {
        "show_diff": issuance.status in selectors.ISSUED_OK_STATUSES,
        "requested": requested,
        "granted": granted,
        "missing": missing,
        "extra": extra,
        "differ": bool(missing or extra),
    }


_NOT_REQUESTED = '<span class="visually-hidden"> (not requested)</span>'
_NONE_REQUESTED = '<span class="muted">none requested</span>'
_NONE_GRANTED = '<span class="muted">none granted</span>'


def _chips(scopes, css: str = "scope", *, extra=()) -> str:
    """``<code class="scope">read</code> `` per scope; scopes in ``extra`` marked as such."""
    return "".join(
        f'<code class="{css} scope-extra">{escape(s)}</code>{_NOT_REQUESTED} '
        if s in extra
        else f'<code class="{css}">{escape(s)}</code> '
        for s in map(str, scopes)
    )


def scope_chips(sv: dict, *, full: bool = False) -> SafeString:
    """The scopes of ``scope_view``: granted ones as chips (requested ones for attempts that got
    nothing), what the gateway dropped or added, and with ``full`` the requested ones when they
    differ."""
    if not sv["show_diff"]:
        return SafeString(
            '<span class="scope-list chips"><span class="visually-hidden">Requested: </span>'
            f"{_chips(sv['requested']) or _NONE_REQUESTED}</span>"
        )
    parts = [
        '<span class="scope-list chips"><span class="visually-hidden">Granted: </span>'
        f"{_chips(sv['granted'], extra=sv['extra']) or _NONE_GRANTED}"
        "</span>"
    ]
    if sv["missing"]:
        missing = ", ".join(
            f'<code class="scope scope-missing">{escape(str(s))}</code>' for s in sv["missing"]
        )
        parts.append(
            '<span class="scope-warning"><span aria-hidden="true">⚠ </span>the gateway did '
            f'not grant <span class="chips">{missing}</span>.</span>'
        )
    elif sv["extra"]:
        also = escape(", ".join(map(str, sv["extra"])))
        parts.append(f'<span class="scope-note">also granted: {also}</span>')
    if full and sv["differ"]:
        parts.append(
            '<span class="scope-note">Requested: <span class="chips">'
            f"{_chips(sv['requested']) or 'nothing'}</span></span>"
        )
    return SafeString("\n".join(parts))


def _title(issuance) -> str:
    if issuance.name:
        return issuance.name
    if issuance.access_token_last4:
        return f"Token …{issuance.access_token_last4}"
    return "Token request"


@dataclass
class HistoryTable:
    """The rows of a history page as HTML, and whether any of them may be revoked (the table
    then has a column of checkboxes for revoking several at once)."""

    rows: list[SafeString] = field(default_factory=list)
    any_revocable: bool = False


def _row_html(row, *, links, renewed_by, now, tz, may_renew, may_revoke, check_column) -> str:
    """One ``<tr>`` of the history table. ``row`` is a ``selectors.history_table_page`` row."""
    pk = row.id
    last4 = escape(row.access_token_last4)
    name = escape(row.name)
    token_words = f" token …{last4}"
    cells = []
    if check_column:
        box = (
            f'<input type="checkbox" name="issuances" value="{pk}" id="sel-{pk}">'
            f'<label for="sel-{pk}" class="visually-hidden">Select token …{last4} {name}</label>'
            if may_revoke
            else ""
        )
        cells.append(f'<td class="col-check">{box}</td>')
    token = [f'<a class="token-name" href="{links.detail(pk)}">{escape(_title(row))}</a>']
    if last4:
        token.append(f'<span class="token-last">…{last4}</span>')
    if row.note:
        note = escape(row.note)
        token.append(f'<span class="token-note truncate" title="{note}">{note}</span>')
    cells.append(f'<td class="col-token" data-label="Token">{" ".join(token)}</td>')

    grant = _GRANT_TEXT.get(row.grant_type, row.grant_type)
    who = row.upstream_username
    archived = ' <span class="muted">(archived)</span>' if row.credential_archived_at else ""
    cells.append(
        f'<td class="col-credential" data-label="Credential">{escape(row.credential_name)}'
        f'{archived} <span class="cell-sub truncate" '
        f'title="{escape(f"{grant} as {who}" if who else grant)}">'
        f"{escape(f'{grant} · {who}' if who else grant)}</span></td>"
    )
    cells.append(f'<td class="col-scopes" data-label="Scopes">{scope_chips(scope_view(row))}</td>')
    by = escape(row.issued_by_username) if row.issued_by_id else "a former member"
    cells.append(
        f'<td data-label="Requested">{when_html(row.issued_at, now, tz=tz)}'
        f'<span class="cell-sub">by {by}</span></td>'
    )
    expires = (
        when_html(row.expires_at, now, tz=tz) if row.expires_at else '<span class="muted">—</span>'
    )
    cells.append(f'<td data-label="Expires">{expires}</td>')

    status = [_badge(display_status(row.status, row.expires_at, now))]
    if row.status == Status.FAILED:
        reason = escape(row.failure_message or "No reason recorded.")
        status.append(f'<span class="token-failure truncate" title="{reason}">{reason}</span>')
    if row.renewed_from_id:
        status.append(
            f'<a class="chain-link" href="{links.detail(row.renewed_from_id)}">↖ renewed from</a>'
        )
    if renewed_by:
        status.append(f'<a class="chain-link" href="{links.detail(renewed_by)}">renewed by ↘</a>')
    cells.append(f'<td class="col-status" data-label="Status">{" ".join(status)}</td>')

    actions = []
    if may_renew:
        actions.append(
            f'<a class="btn btn-small" href="{links.renew(pk)}">Renew'
            f'<span class="visually-hidden">{token_words}</span></a>'
        )
    if may_revoke:
        actions.append(
            f'<a class="btn btn-small btn-danger" href="{links.revoke(pk)}">Revoke'
            f'<span class="visually-hidden">{token_words}</span></a>'
        )
    cells.append(
        f'<td class="col-actions"><div class="cell-actions">{" ".join(actions)}</div></td>'
    )
    return "<tr>" + "".join(cells) + "</tr>"


@dataclass(frozen=True)
class _Links:
    detail: object
    renew: object
    revoke: object


def history_table(page, *, user, membership, now: datetime) -> HistoryTable:
    """The rows of a history page for ``user`` (whose ``membership`` of the page's team decides
    which tokens they may renew and revoke). ``page`` is a ``selectors.history_table_page``."""
    # Each URL pattern reversed once per page; the ids come from the database (UUIDs).
    links = _Links(
        detail=url_for_id("tokens:detail"),
        renew=url_for_id("tokens:renew"),
        revoke=url_for_id("tokens:revoke"),
    )
    tz = timezone.get_current_timezone()
    rights = []
    for row in page.issuances:
        manageable = access.issuance_may_manage(user, row, membership=membership)
        rights.append(
            (
                manageable and renewable(row.status, row.has_refresh_token),
                manageable and revocable(row.status, row.holds_token),
            )
        )
    check_column = any(may_revoke for _, may_revoke in rights)
    rows = [
        SafeString(
            _row_html(
                row,
                links=links,
                renewed_by=page.renewed_by.get(row.id),
                now=now,
                tz=tz,
                may_renew=may_renew,
                may_revoke=may_revoke,
                check_column=check_column,
            )
        )
        for row, (may_renew, may_revoke) in zip(page.issuances, rights, strict=True)
    ]
    return HistoryTable(rows=rows, any_revocable=check_column)
