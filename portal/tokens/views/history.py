"""Read-only token pages: the team history (with charts and CSV export) and one token's detail.

No page here ever holds token material: tables show the last four characters, exports add the
fingerprint; the ciphertexts are loaded with the row but never rendered.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.core.paging import page_query
from portal.teams import access as team_access
from portal.tokens import access, charts, display, exports, selectors, services
from portal.tokens.forms import HistoryFilterForm
from portal.tokens.models import Status

CHART_MAX_DAYS = 92


def _chart_days(filters, today) -> tuple[int, date | None, str]:
    """``(days, last, words)`` of the outcomes chart: the last 30 days, or the filter's days
    (at most ``CHART_MAX_DAYS``, the latest ones of a longer range)."""
    if not (filters.date_from or filters.date_to):
        return 30, None, ""
    last = min(filters.date_to or today, today)
    first = filters.date_from or last - timedelta(days=29)
    if first > last:
        return 1, last, "the chosen days"
    days = min((last - first).days + 1, CHART_MAX_DAYS)
    first = last - timedelta(days=days - 1)
    words = (
        f"{first:%b} {first.day} – {last:%b} {last.day}" if days > 1 else f"{last:%b} {last.day}"
    )
    return days, last, words


def _token_label(token) -> str:
    who = token.name or (token.issued_by.username if token.issued_by else "former member")
    if len(who) > 28:
        who = who[:27] + "…"
    return f"…{token.access_token_last4 or '????'} · {who}"


def _outcome_rows(filters, narrowed, days: int, last: date | None):
    """The rows the outcomes chart counts: the page's (``narrowed``), or None - all the team's -
    when dates alone narrow them and the chart's days lie within those dates: the same count,
    which PostgreSQL then takes day by day from an index (half the time at a million rows)."""
    if narrowed is None or last is None or replace(filters, date_from=None, date_to=None).is_set():
        return narrowed
    # The chart never ends after ``date_to`` (``_chart_days``), but it starts on the filter's
    # first day or later only when that day is not still to come.
    first = last - timedelta(days=days - 1)
    within = filters.date_from is None or filters.date_from <= first
    return None if within else narrowed


def _charts(team, now, *, qs, filters) -> dict:
    """Both charts count what the page lists: the filtered issuances of the team."""
    matching = filters.is_set()
    narrowed = qs if matching else None
    days, last, words = _chart_days(filters, timezone.localdate(now))
    tokens, total = selectors.active_expiries_for_team(team=team, now=now, qs=narrowed)
    expiries = [charts.Expiry(expires_at=t.expires_at, label=_token_label(t)) for t in tokens]
    outcomes = selectors.daily_outcomes_for_team(
        team=team, now=now, days=days, last=last, qs=_outcome_rows(filters, narrowed, days, last)
    )
    return {
        "outcomes_chart": charts.outcomes_chart(outcomes, matching=matching, span=words),
        "expiry_chart": charts.expiry_chart(expiries, now=now, total=total, matching=matching),
        "chart_span": words or "last 30 days",
    }


def _membership_and_form(request: HttpRequest):
    """The membership of the team whose history is read (``?team=`` or the current team), and
    the filter form bound to the query string (unbound when there is none)."""
    membership = team_access.membership_for_request(request, request.GET.get("team"))
    return membership, HistoryFilterForm(request.GET or None, team=membership.team)


@login_required
@require_GET
@never_cache
def history(request: HttpRequest) -> HttpResponse:
    """The current (or ``?team=``) team's issuances, newest first, for every member role."""
    membership, form = _membership_and_form(request)
    team = membership.team
    # The header's Team menu names the team this page shows (a ?team= link moves you there).
    team_access.set_current_team(request, team)
    now = timezone.now()
    context = {
        "team": team,
        "membership": membership,
        "form": form,
        "rows": [],
        "page": None,
        "can_generate": membership.allows("issuer"),
        "now": now,
    }
    if form.is_bound and not form.is_valid():
        return render(request, "tokens/history.html", context, status=400)
    data = form.cleaned_data if form.is_bound else {}
    filters = form.filters()
    chosen = selectors.history_selection(team=team, filters=filters, now=now)
    page = selectors.history_table_page(chosen, before=data.get("before"), after=data.get("after"))
    table = display.history_table(page, user=request.user, membership=membership, now=now)
    paged = bool(data.get("before") or data.get("after"))
    if not paged:  # drawn above the newest page only; they follow the filters
        context.update(_charts(team, now, qs=chosen.queryset(), filters=filters))
    context.update(
        page=page,
        rows=table.rows,
        any_revocable=table.any_revocable,
        filtered=filters.is_set(),
        paged=paged,
        older_query=page_query(request, before=page.older.encode()) if page.older else "",
        newer_query=page_query(request, after=page.newer.encode()) if page.newer else "",
        export_query=page_query(request, team=str(team.pk)),
    )
    return render(request, "tokens/history.html", context)


@login_required
@require_GET
@never_cache
def history_export(request: HttpRequest) -> HttpResponse:
    """The filtered history (all pages) as a streamed CSV download."""
    membership, form = _membership_and_form(request)
    team = membership.team
    if form.is_bound and not form.is_valid():
        context = {"team": team, "membership": membership, "form": form, "rows": [], "page": None}
        return render(request, "tokens/history.html", context, status=400)
    filters = form.filters()
    with transaction.atomic():
        services.history_export_record(team=team, actor=request.user, filters=filters.as_details())
    qs = selectors.issuance_list_for_team(team=team, filters=filters)
    response = StreamingHttpResponse(
        exports.csv_chunks(selectors.history_export_batches(qs)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="tokens-{team.pk}-{stamp}.csv"'
    return response


# --- Detail ----------------------------------------------------------------------------------


def revoke_result_text(result: dict | None) -> list[str]:
    """What the gateway said about a revocation, in words (empty when never revoked here)."""
    if not result:
        return []
    lines = []
    used = result.get("used")
    if used:
        lines.append(
            "The portal revoked it with the refresh token (which also revokes its access token)."
            if used == "refresh_token"
            else "The portal revoked it with the access token."
        )
    if result.get("access_token_confirmed") or result.get("refresh_token_confirmed"):
        which = [
            name
            for name, key in (
                ("access token", "access_token_confirmed"),
                ("refresh token", "refresh_token_confirmed"),
            )
            if result.get(key)
        ]
        lines.append(f"The gateway confirmed the revocation (of the {' and '.join(which)}).")
    elif result.get("accepted"):
        lines.append("The gateway accepted the request (it does not say what it revoked).")
    else:
        lines.append("The gateway did not accept the revocation request.")
    return lines


@login_required
@require_GET
@never_cache
def detail(request: HttpRequest, issuance_id) -> HttpResponse:
    """Everything about one issuance except the token itself, with its whole renewal chain."""
    issuance = access.issuance_get_for_user(request.user, issuance_id)
    manageable = access.issuance_may_manage(request.user, issuance)
    chain = selectors.renewal_chain(issuance)
    return render(
        request,
        "tokens/detail.html",
        {
            "issuance": issuance,
            "team": issuance.team,
            "chain": chain if len(chain) > 1 else [],
            "may_renew": manageable and issuance.can_be_renewed,
            "may_revoke": manageable and issuance.can_be_revoked,
            "may_check": issuance.status == Status.ACTIVE
            and bool(issuance.credential.gateway.introspection_url),
            # Only its holder may display a token, once.
            "may_show": issuance.status == Status.ACTIVE
            and not issuance.displayed_at
            and issuance.issued_by_id == request.user.pk,
            "now": timezone.now(),
            "revoke_lines": revoke_result_text(issuance.revoke_result),
            "scopes": display.scope_view(issuance),
            "status_value": Status,
        },
    )
