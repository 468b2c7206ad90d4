"""The history's two SVG charts: geometry from plain data, their data selectors, and the markup."""

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal.tokens import charts, selectors
from portal.tokens.models import Issuance, Status

SVG = "{http://www.w3.org/2000/svg}"


def render_chart(chart) -> str:
    return render_to_string("tokens/_history_chart.html", {"chart": chart, "chart_id": "c"})


def parse_svg(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


def marks(svg: ET.Element, css: str) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if css in r.get("class", "").split()]


def days(counts: list[tuple[int, int]], *, last=date(2026, 3, 30)):
    first = last - timedelta(days=len(counts) - 1)
    return [
        selectors.DayOutcome(day=first + timedelta(days=n), issued=ok, failed=bad)
        for n, (ok, bad) in enumerate(counts)
    ]


def pct(value: str) -> float:
    """A horizontal coordinate: a percentage of the chart's width."""
    assert value.endswith("%"), value
    return float(value[:-1])


def inside_the_chart(svg: ET.Element):
    # No viewBox: nothing scales the labels; x is a share of the width, y pixels of the height.
    assert svg.get("viewBox") is None
    assert svg.get("width") == "100%"
    height = float(svg.get("height"))
    for rect in svg.iter(f"{SVG}rect"):
        x, y = pct(rect.get("x")), float(rect.get("y"))
        w, h = pct(rect.get("width")), float(rect.get("height"))
        assert w > 0 and h > 0
        assert 0 <= x and x + w <= 100.1
        assert 0 <= y and y + h <= height + 0.1


# --- (a) outcomes per day -------------------------------------------------------------------


def test_outcomes_chart_with_no_requests_shows_a_message_not_an_svg():
    chart = charts.outcomes_chart(days([(0, 0)] * 30))
    html = render_chart(chart)
    assert chart.empty
    assert "<svg" not in html
    assert "No tokens were requested in the last 30 days." in html


def test_outcomes_chart_with_no_days_at_all_is_empty_too():
    assert charts.outcomes_chart([]).empty


def test_outcomes_chart_with_one_request_draws_one_bar():
    chart = charts.outcomes_chart(days([(0, 0)] * 29 + [(1, 0)]))
    svg = parse_svg(render_chart(chart))
    assert len(marks(svg, "chart-bar-ok")) == 1
    assert marks(svg, "chart-bar-failed") == []
    inside_the_chart(svg)
    assert "1 issued and 0 failed" in chart.summary


def test_outcomes_chart_with_one_day_only_does_not_divide_by_zero():
    chart = charts.outcomes_chart(days([(0, 1)]))
    svg = parse_svg(render_chart(chart))
    assert len(marks(svg, "chart-bar-failed")) == 1
    inside_the_chart(svg)


def test_outcomes_chart_with_many_days_stacks_failed_on_issued():
    counts = [(n % 7, n % 3) for n in range(30)]
    chart = charts.outcomes_chart(days(counts))
    svg = parse_svg(render_chart(chart))
    assert len(marks(svg, "chart-bar-ok")) == sum(1 for ok, _ in counts if ok)
    assert len(marks(svg, "chart-bar-failed")) == sum(1 for _, bad in counts if bad)
    inside_the_chart(svg)
    # On a day with both, the failed bar sits directly on top of the issued one.
    ok = {r.get("x"): r for r in marks(svg, "chart-bar-ok")}
    for bad in marks(svg, "chart-bar-failed"):
        below = ok.get(bad.get("x"))
        if below is not None:
            top_of_ok = float(below.get("y"))
            assert abs(float(bad.get("y")) + float(bad.get("height")) - top_of_ok) < 0.2


def test_outcomes_bars_are_proportional_to_counts():
    chart = charts.outcomes_chart(days([(10, 0), (5, 0)]))
    heights = [float(m.height) for m in chart.marks]
    assert heights[0] == pytest.approx(2 * heights[1], rel=0.02)


def test_outcomes_chart_is_accessible():
    html = render_chart(charts.outcomes_chart(days([(3, 1), (0, 0), (2, 0)])))
    svg = parse_svg(html)
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "c-title c-desc"
    assert svg.find(f"{SVG}title").text == "Token requests per day by outcome"
    assert "5 issued and 1 failed" in svg.find(f"{SVG}desc").text
    # The data table (one click away, under the chart) lists the days with activity.
    assert html.count('<th scope="row">') == 2
    assert "<summary>The numbers as a table</summary>" in html
    assert 'class="visually-hidden"' in html


@pytest.mark.parametrize(
    "value, nice", [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (51, 100)]
)
def test_nice_ceiling(value, nice):
    assert charts.nice_ceiling(value) == nice


# --- (b) expiry timeline --------------------------------------------------------------------


def test_expiry_chart_with_no_active_tokens_shows_a_message():
    chart = charts.expiry_chart([], now=timezone.now())
    assert chart.empty
    html = render_chart(chart)
    assert "<svg" not in html
    assert "No active tokens right now." in html


def test_expiry_chart_with_one_token_expiring_now_does_not_divide_by_zero():
    now = timezone.now()
    chart = charts.expiry_chart([charts.Expiry(expires_at=now, label="…AbCd · bob")], now=now)
    svg = parse_svg(render_chart(chart))
    (bar,) = marks(svg, "chart-bar-soon")
    assert pct(bar.get("width")) >= 0.5  # visible, however soon
    inside_the_chart(svg)


def test_expiry_chart_with_many_tokens_draws_one_bar_each_soonest_first():
    now = timezone.now()
    tokens = [
        charts.Expiry(expires_at=now + timedelta(minutes=m), label=f"…{m:04d} · bob")
        for m in (90, 5, 30, 8, 240)
    ]
    chart = charts.expiry_chart(tokens, now=now)
    svg = parse_svg(render_chart(chart))
    assert len(marks(svg, "chart-bar-soon")) == 2
    assert len(marks(svg, "chart-bar-live")) == 3
    inside_the_chart(svg)
    widths = [pct(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths == sorted(widths)
    assert widths[-1] == pytest.approx(100, abs=0.1)  # the latest spans the axis
    assert "5 active tokens; 2 expire within 10 minutes" in chart.summary


def test_expiry_chart_says_when_it_shows_only_the_first_tokens():
    now = timezone.now()
    tokens = [charts.Expiry(expires_at=now + timedelta(hours=1), label="…x")]
    chart = charts.expiry_chart(tokens, now=now, total=57)
    assert "57 active tokens (showing the 1 that expire first)" in chart.summary


# --- Chart data from the database -------------------------------------------------------------


def make_120_issuances_over_95_days(make_issuance, now, **extra):
    """One every 19 hours, the statuses in turn (pending ones too); ``extra(i)`` adds fields."""
    statuses = [Status.ACTIVE, Status.FAILED, Status.REVOKED, Status.PENDING, Status.RENEWED]
    for i in range(120):
        make_issuance(
            issued_at=now - timedelta(hours=19 * i),
            status=statuses[i % len(statuses)],
            access_token="",
            **{name: value(i) for name, value in extra.items()},
        )


def outcomes_counted_one_by_one(rows, since: date) -> dict:
    """``{day: (issued, failed)}`` of ``rows``' settled issuances, each placed on its local day."""
    counted = {}
    for row in rows.exclude(status=Status.PENDING):
        day = timezone.localdate(row.issued_at)
        issued, failed = counted.get(day, (0, 0))
        counted[day] = (issued, failed + 1) if row.status == Status.FAILED else (issued + 1, failed)
    return {day: counts for day, counts in counted.items() if day >= since}


def test_daily_outcomes_counts_issued_and_failed_per_day(acme, make_issuance):
    now = timezone.now()
    make_issuance(issued_at=now)
    make_issuance(issued_at=now, status=Status.REVOKED, access_token="")
    make_issuance(issued_at=now, status=Status.FAILED, access_token="")
    make_issuance(issued_at=now, status=Status.PENDING, access_token="")
    make_issuance(issued_at=now - timedelta(days=2), status=Status.RENEWED, access_token="")
    make_issuance(issued_at=now - timedelta(days=31))
    result = selectors.daily_outcomes_for_team(team=acme, now=now)
    assert len(result) == 30
    assert result[-1].day == timezone.localdate(now)
    assert (result[-1].issued, result[-1].failed) == (2, 1)
    assert (result[-3].issued, result[-3].failed) == (1, 0)
    assert sum(d.issued + d.failed for d in result) == 4


@pytest.mark.parametrize(
    "filters",
    [{}, {"status": Status.FAILED}, {"search": "nightly"}, {"scope": "write"}],
    ids=["all", "failed", "search", "scope"],
)
def test_daily_outcomes_match_a_count_of_the_rows_over_92_days(acme, make_issuance, filters):
    """Every day's bars are the rows of that local day, counted here one by one: the query
    (hashed behind a subquery on PostgreSQL) agrees on each of 92 days, narrowed or not."""
    now = timezone.now()
    make_120_issuances_over_95_days(
        make_issuance,
        now,
        name=lambda i: "nightly build" if i % 3 == 0 else "",
        requested_scopes=lambda i: ["read", "write"] if i % 4 == 0 else ["read"],
    )
    chosen = selectors.HistoryFilters(**filters)
    qs = selectors.issuance_list_for_team(team=acme, filters=chosen, now=now)
    result = selectors.daily_outcomes_for_team(team=acme, now=now, days=92, qs=qs)
    assert len(result) == 92
    assert {
        d.day: (d.issued, d.failed) for d in result if d.issued or d.failed
    } == outcomes_counted_one_by_one(qs, result[0].day)
    assert sum(d.issued + d.failed for d in result) > 10


def test_daily_outcomes_ignore_other_teams(acme, evil, make_issuance, mallory):
    make_issuance(team=evil, issued_by=mallory)
    assert sum(d.issued for d in selectors.daily_outcomes_for_team(team=acme)) == 0


def test_active_expiries_are_the_live_tokens_of_the_team(acme, make_issuance):
    now = timezone.now()
    live = make_issuance(expires_at=now + timedelta(minutes=20))
    make_issuance(expires_at=now - timedelta(minutes=1))
    make_issuance(status=Status.REVOKED, access_token="")
    tokens, total = selectors.active_expiries_for_team(team=acme, now=now)
    assert [t.pk for t in tokens] == [live.pk]
    assert total == 1


def test_active_expiries_count_beyond_the_limit(acme, make_issuance):
    now = timezone.now()
    for n in range(4):
        make_issuance(expires_at=now + timedelta(minutes=20 + n))
    tokens, total = selectors.active_expiries_for_team(team=acme, now=now, limit=2)
    assert len(tokens) == 2 and total == 4


# --- On the history page ---------------------------------------------------------------------


def test_history_page_shows_both_charts_above_the_table(alice_client, acme, make_issuance):
    make_issuance()
    make_issuance(status=Status.FAILED, access_token="")
    html = alice_client.get(reverse("tokens:history"), {"team": str(acme.pk)}).content.decode()
    assert html.count('role="img"') == 2
    assert html.index('role="img"') < html.index('<table class="table table-stack history-table"')
    first_svg = parse_svg(html)
    assert len(marks(first_svg, "chart-bar-ok")) == 1
    assert len(marks(first_svg, "chart-bar-failed")) == 1
    second = html[html.index("</svg>") + 6 :]
    assert len(marks(parse_svg(second), "chart-bar-live")) == 1


def test_history_page_of_an_empty_team_shows_chart_empty_states(alice_client, acme):
    html = alice_client.get(reverse("tokens:history"), {"team": str(acme.pk)}).content.decode()
    assert "<svg" not in html
    assert "No tokens were requested in the last 30 days." in html
    assert "No active tokens right now." in html


def test_charts_use_no_inline_style_or_script(alice_client, acme, make_issuance):
    make_issuance()
    html = alice_client.get(reverse("tokens:history"), {"team": str(acme.pk)}).content.decode()
    assert "style=" not in html
    assert "<style" not in html
    assert "<script>" not in html


def test_charts_are_drawn_above_the_newest_page_only(alice_client, acme, make_issuance):
    for _ in range(30):
        make_issuance()
    first = alice_client.get(reverse("tokens:history"), {"team": str(acme.pk)}).content.decode()
    assert first.count('role="img"') == 2
    older = first[: first.index('rel="next"')].rsplit('href="?', 1)[1].split('"')[0]
    second = alice_client.get(reverse("tokens:history") + "?" + older.replace("&amp;", "&"))
    assert second.status_code == 200
    assert 'role="img"' not in second.content.decode()


def test_chart_labels_keep_their_size_on_any_screen():
    # A viewBox scaled the 11 px labels down to 5-7 px on phones; the text is now laid out in
    # CSS pixels (percent x, pixel y), so its size is the stylesheet's whatever the width.
    html = render_chart(charts.outcomes_chart(days([(3, 1)] * 30)))
    svg = parse_svg(html)
    labels = [t for t in svg.iter(f"{SVG}text")]
    assert labels and all(t.get("x").endswith("%") for t in labels)
    assert svg.get("viewBox") is None


def test_charts_follow_the_history_filters(alice_client, acme, make_issuance):
    make_issuance()
    make_issuance()
    make_issuance(status=Status.REVOKED, access_token="")
    make_issuance(status=Status.FAILED, access_token="")
    url = reverse("tokens:history")
    everything = alice_client.get(url, {"team": str(acme.pk)})
    assert (
        "3 issued and 1 failed in the last 30 days" in everything.context["outcomes_chart"].summary
    )
    revoked = alice_client.get(url, {"team": str(acme.pk), "status": "revoked"})
    summary = revoked.context["outcomes_chart"].summary
    assert "1 issued and 0 failed matching the filters in the last 30 days" in summary
    # No revoked token is active: the expiry chart says so for the filtered view.
    assert (
        revoked.context["expiry_chart"].summary
        == "No active tokens matching the filters right now."
    )


def test_outcomes_chart_spans_the_filtered_days(alice_client, acme, make_issuance):
    today = timezone.localdate()
    make_issuance()
    start = today - timedelta(days=6)
    response = alice_client.get(
        reverse("tokens:history"),
        {"team": str(acme.pk), "date_from": start.isoformat(), "date_to": today.isoformat()},
    )
    chart = response.context["outcomes_chart"]
    assert len(chart.table_rows) == 1
    assert f"{start:%b} {start.day} – {today:%b} {today.day}" in chart.summary


def test_daily_outcomes_of_the_whole_team_match_a_count_of_the_rows_over_92_days(
    acme, evil, make_issuance, mallory
):
    """Unnarrowed (the history without filters, or with dates only), the bars are the team's
    rows of each local day - counted day by day from an index on PostgreSQL - and agree with a
    count of the rows one by one; other teams' rows and attempts still in flight never count."""
    now = timezone.now()
    make_120_issuances_over_95_days(make_issuance, now)
    make_issuance(team=evil, issued_by=mallory, issued_at=now, access_token="")
    result = selectors.daily_outcomes_for_team(team=acme, now=now, days=92)
    assert len(result) == 92
    assert [d.day for d in result] == [
        result[0].day + timedelta(days=n) for n in range(92)
    ] and result[-1].day == timezone.localdate(now)
    assert {
        d.day: (d.issued, d.failed) for d in result if d.issued or d.failed
    } == outcomes_counted_one_by_one(Issuance.objects.filter(team=acme), result[0].day)
    assert sum(d.failed for d in result) > 10


def test_outcomes_chart_of_a_date_filter_counts_the_rows_of_those_days(
    alice_client, acme, make_issuance
):
    today = timezone.localdate()
    now = timezone.now()
    make_issuance(issued_at=now - timedelta(days=2))
    make_issuance(issued_at=now - timedelta(days=3), status=Status.FAILED, access_token="")
    make_issuance(issued_at=now - timedelta(days=20))  # before the filter's first day
    start = today - timedelta(days=5)
    response = alice_client.get(
        reverse("tokens:history"),
        {"team": str(acme.pk), "date_from": start.isoformat(), "date_to": today.isoformat()},
    )
    summary = response.context["outcomes_chart"].summary
    assert "1 issued and 1 failed matching the filters" in summary


def test_outcomes_chart_of_dates_still_to_come_counts_nothing(alice_client, acme, make_issuance):
    """A filter starting tomorrow lists nothing; the chart, drawn for today (the last day it can
    show), says so rather than counting today's tokens."""
    make_issuance()
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = alice_client.get(
        reverse("tokens:history"), {"team": str(acme.pk), "date_from": tomorrow.isoformat()}
    )
    assert response.status_code == 200
    assert response.context["outcomes_chart"].empty
