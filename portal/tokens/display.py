"""How a token looks on a page: its status badge, its scopes as chips, and the history's rows.

The history shows 25 rows a page and the dashboard, result and detail pages show the same badge
and chips, so these pieces are built here in Python - once, with ``format_html`` escaping every
value - rather than as template includes: an ``{% include %}`` or ``{% url %}`` per row costs tens
of microseconds each in Django's template engine, which made rendering most of a history page's
time. Templates use them through ``{% load tokens_ui %}`` (``status_badge``, ``scope_chips``) or
read a ``HistoryRow``'s ready values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from portal.core.links import id_url
from portal.core.templatetags.ui import when_html
from portal.tokens import access, selectors
from portal.tokens.models import Issuance, display_status

_BADGE_CLASS = {
    "active": "badge-ok",
    "expiring_soon": "badge-warn",
    "pending": "badge-warn",
    "failed": "badge-bad",
    "revoked": "badge-bad",
}
_BADGE_TEXT = {"expiring_soon": "Expiring soon", "expired": "Expired"}


def status_badge(issuance: Issuance, now: datetime | None = None) -> SafeString:
    """Active / expiring soon / expired, else the stored status, as a coloured badge."""
    if now is None:
        shown = issuance.display_status
    else:
        shown = display_status(issuance.status, issuance.expires_at, now)
    return format_html(
        '<span class="badge {}">{}</span>',
        _BADGE_CLASS.get(shown, "badge-muted"),
        _BADGE_TEXT.get(shown) or issuance.get_status_display(),
    )


def scope_view(issuance: Issuance) -> dict:
    """Requested vs granted scopes for display; the difference only matters once a token was
    granted (failed and pending attempts have nothing granted)."""
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


def _chips(scopes, css: str = "scope", *, extra=()) -> SafeString:
    """``<code class="scope">read</code> `` per scope; scopes in ``extra`` marked as such."""
    return format_html_join(
        "",
        '<code class="{}">{}</code>{} ',
        (
            (
                f"{css} scope-extra" if s in extra else css,
                s,
                SafeString('<span class="visually-hidden"> (not requested)</span>')
                if s in extra
                else "",
            )
            for s in scopes
        ),
    )


def scope_chips(sv: dict, *, full: bool = False) -> SafeString:
    """The scopes of ``scope_view``: granted ones as chips (requested ones for attempts that got
    nothing), what the gateway dropped or added, and with ``full`` the requested ones when they
    differ."""
    if not sv["show_diff"]:
        return format_html(
            '<span class="scope-list chips"><span class="visually-hidden">Requested: </span>'
            "{}</span>",
            _chips(sv["requested"]) or SafeString('<span class="muted">none requested</span>'),
        )
    parts = [
        format_html(
            '<span class="scope-list chips"><span class="visually-hidden">Granted: </span>'
            "{}</span>",
            _chips(sv["granted"], extra=sv["extra"])
            or SafeString('<span class="muted">none granted</span>'),
        )
    ]
    if sv["missing"]:
        parts.append(
            format_html(
                '<span class="scope-warning"><span aria-hidden="true">⚠ </span>the gateway did '
                'not grant <span class="chips">{}</span>.</span>',
                format_html_join(
                    ", ",
                    '<code class="scope scope-missing">{}</code>',
                    ((s,) for s in sv["missing"]),
                ),
            )
        )
    elif sv["extra"]:
        parts.append(
            format_html('<span class="scope-note">also granted: {}</span>', ", ".join(sv["extra"]))
        )
    if full and sv["differ"]:
        parts.append(
            format_html(
                '<span class="scope-note">Requested: <span class="chips">{}</span></span>',
                _chips(sv["requested"]) or "nothing",
            )
        )
    return SafeString("\n".join(parts))


@dataclass
class HistoryRow:
    """One row of the history table, every value ready to print."""

    issuance: Issuance
    title: str
    detail_url: str
    renewed_from_url: str
    renewed_by_url: str
    renew_url: str
    revoke_url: str
    grant: str
    grant_title: str
    scopes: SafeString
    requested: SafeString
    expires: SafeString
    badge: SafeString
    may_renew: bool
    may_revoke: bool


def _title(issuance: Issuance) -> str:
    if issuance.name:
        return issuance.name
    if issuance.access_token_last4:
        return f"Token …{issuance.access_token_last4}"
    return "Token request"


def history_rows(page, *, user, membership, now: datetime) -> list[HistoryRow]:
    """The rows of a history page for ``user`` (whose ``membership`` of the page's team decides
    which tokens they may renew and revoke)."""

    def detail(pk):
        return id_url("tokens:detail", pk)

    rows = []
    for issuance in page.issuances:
        manageable = access.issuance_may_manage(user, issuance, membership=membership)
        renewed_by = page.renewed_by.get(issuance.pk)
        grant = issuance.get_grant_type_display()
        rows.append(
            HistoryRow(
                issuance=issuance,
                title=_title(issuance),
                detail_url=detail(issuance.pk),
                renewed_from_url=detail(issuance.renewed_from_id)
                if issuance.renewed_from_id
                else "",
                renewed_by_url=detail(renewed_by) if renewed_by else "",
                renew_url=id_url("tokens:renew", issuance.pk),
                revoke_url=id_url("tokens:revoke", issuance.pk),
                grant=f"{grant} · {who}" if (who := issuance.upstream_username) else grant,
                grant_title=f"{grant} as {who}" if who else grant,
                scopes=scope_chips(scope_view(issuance)),
                requested=when_html(issuance.issued_at, now),
                expires=when_html(issuance.expires_at, now) if issuance.expires_at else "",
                badge=status_badge(issuance, now),
                may_renew=manageable and issuance.can_be_renewed,
                may_revoke=manageable and issuance.can_be_revoked,
            )
        )
    return rows
