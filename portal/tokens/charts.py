"""Geometry for the history's two server-rendered SVG charts, from plain data.

The functions here take lists of plain values (no queries) and return what the template
``tokens/_history_chart.html`` draws: every coordinate is computed here, formatted as a string,
so the template only places elements. Styling is by class in portal.css (the CSP forbids inline
styles). Every chart also carries a text summary and rows for a data table.

The SVGs have no viewBox: they are as wide as their card and a fixed number of pixels high.
Horizontal positions are percentages, vertical ones pixels, so bars stretch with the page while
labels keep the size of the text around them (a scaled viewBox shrank them to 5-7 px on phones).
Labels sit inside the plot (axis values at the left end of their grid line, token names above
their bar), so no fixed margin is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from portal.tokens.models import EXPIRING_SOON


def _n(value: float) -> str:
    """An SVG coordinate: at most one decimal, no exponent, no locale."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is >= ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


@dataclass(frozen=True)
class Mark:
    """One rectangle: a bar of a day, or a token's remaining life."""

    x: str
    y: str
    width: str
    height: str
    css: str
    label: str


@dataclass(frozen=True)
class Tick:
    x: str
    y: str
    label: str


@dataclass(frozen=True)
class Gridline:
    x1: str
    y1: str
    x2: str
    y2: str


@dataclass
class Chart:
    """What a chart template needs. ``empty`` charts show ``summary`` instead of an SVG."""

    height: int
    title: str
    desc: str
    summary: str
    empty: bool
    marks: list[Mark] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    labels: list[Tick] = field(default_factory=list)
    grid: list[Gridline] = field(default_factory=list)
    axis: Gridline | None = None
    table_head: tuple[str, ...] = ()
    table_rows: list[tuple[str, ...]] = field(default_factory=list)


def _pct(value: float) -> str:
    """A horizontal position or width, as a percentage of the chart's width."""
    return f"{_n(min(max(value, 0.0), 100.0))}%"


def _day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


# --- (a) Issuances per day by outcome -------------------------------------------------------------

OUTCOMES_PLOT_H, OUTCOMES_AXIS_H, OUTCOMES_TOP = 170, 24, 18
OUTCOMES_HEIGHT = OUTCOMES_TOP + OUTCOMES_PLOT_H + OUTCOMES_AXIS_H


def outcomes_chart(days: list, *, matching: bool = False, span: str = "") -> Chart:
    """Stacked bars, one per day: issued (bottom) and failed (top). ``days`` is a list of objects
    with ``day``, ``issued`` and ``failed`` (oldest first), e.g. ``selectors.DayOutcome``;
    ``matching`` says they count only the tokens matching the page's filters, ``span`` names
    the days in words (default "the last N days")."""
    issued = sum(d.issued for d in days)
    failed = sum(d.failed for d in days)
    span = span or (f"the last {len(days)} days" if len(days) != 1 else "today")
    which = " matching the filters" if matching else ""
    title = "Token requests per day by outcome"
    if not days or issued + failed == 0:
        return Chart(
            height=0,
            title=title,
            desc="",
            summary=f"No tokens{which} were requested in {span}.",
            empty=True,
        )
    base = OUTCOMES_TOP + OUTCOMES_PLOT_H
    top_value = nice_ceiling(max(d.issued + d.failed for d in days))
    per_unit = OUTCOMES_PLOT_H / top_value
    slot = 100 / len(days)
    bar_w = max(slot * 0.7, 0.4)
    marks: list[Mark] = []
    rows: list[tuple[str, ...]] = []
    for index, d in enumerate(days):
        x = index * slot + (slot - bar_w) / 2
        label = f"{_day_label(d.day)}: {d.issued} issued, {d.failed} failed"
        if d.issued:
            h = d.issued * per_unit
            marks.append(Mark(_pct(x), _n(base - h), _pct(bar_w), _n(h), "chart-bar-ok", label))
        if d.failed:
            h_ok = d.issued * per_unit
            h = d.failed * per_unit
            marks.append(
                Mark(_pct(x), _n(base - h_ok - h), _pct(bar_w), _n(h), "chart-bar-failed", label)
            )
        if d.issued or d.failed:
            rows.append((d.day.isoformat(), str(d.issued), str(d.failed)))
    # Axis values sit at the left end of their grid line, just above it.
    y_ticks = []
    grid = []
    for value in sorted({top_value // 2, top_value} - {0}):
        y = base - value * per_unit
        y_ticks.append(Tick("0%", _n(y - 4), str(value)))
        grid.append(Gridline("0%", _n(y), "100%", _n(y)))
    picks = sorted({0, len(days) // 2, len(days) - 1})
    x_ticks = [
        Tick(_pct(i * slot + slot / 2), _n(OUTCOMES_HEIGHT - 6), _day_label(days[i].day))
        for i in picks
    ]
    busiest = max(days, key=lambda d: (d.issued + d.failed, d.day))
    summary = (
        f"{issued} issued and {failed} failed{which} in {span}; the busiest day was "
        f"{_day_label(busiest.day)} with {busiest.issued + busiest.failed}."
    )
    return Chart(
        height=OUTCOMES_HEIGHT,
        title=title,
        desc=f"Stacked bars per day, from {_day_label(days[0].day)} to "
        f"{_day_label(days[-1].day)}: issued tokens below, failed requests above. {summary}",
        summary=summary,
        empty=False,
        marks=marks,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        grid=grid,
        axis=Gridline("0%", _n(base), "100%", _n(base)),
        table_head=("Day", "Issued", "Failed"),
        table_rows=rows,
    )


# --- (b) When the active tokens expire ---------------------------------------------------------

# Each row: the token's name above its bar, so long labels never need a fixed margin.
_ROW_H, _LABEL_H, _BAR_H, _AXIS_H = 34, 16, 11, 26
_MIN_SPAN = timedelta(minutes=1)


@dataclass(frozen=True)
class Expiry:
    """One live token on the timeline."""

    expires_at: datetime
    label: str  # e.g. "…AbCd · bob"


def _time_label(moment: datetime, *, with_day: bool) -> str:
    local = timezone.localtime(moment)
    return f"{_day_label(local.date())} {local:%H:%M}" if with_day else f"{local:%H:%M}"


def expiry_chart(
    tokens: list[Expiry], *, now: datetime, total: int | None = None, matching: bool = False
) -> Chart:
    """One horizontal bar per live token, from now to its expiry, soonest first; the axis runs
    from now to the latest expiry. ``total`` is how many live tokens exist when ``tokens`` is a
    shortened list; ``matching`` says they are only those matching the page's filters."""
    total = len(tokens) if total is None else total
    which = " matching the filters" if matching else ""
    title = "When the active tokens expire"
    if not tokens:
        return Chart(
            height=0,
            title=title,
            desc="",
            summary=f"No active tokens{which} right now.",
            empty=True,
        )
    tokens = sorted(tokens, key=lambda t: t.expires_at)
    latest = max(tokens[-1].expires_at, now + _MIN_SPAN)
    span = (latest - now).total_seconds()  # >= 60 s: never zero
    height = 4 + len(tokens) * _ROW_H + _AXIS_H
    marks: list[Mark] = []
    labels: list[Tick] = []
    rows: list[tuple[str, ...]] = []
    with_day = latest - now > timedelta(hours=20)
    for index, token in enumerate(tokens):
        top = 4 + index * _ROW_H
        remaining = max((token.expires_at - now).total_seconds(), 0.0)
        w = max(100 * remaining / span, 0.6)
        soon = token.expires_at - now <= EXPIRING_SOON
        when = _time_label(token.expires_at, with_day=True)
        text = f"{token.label}: expires {when}"
        marks.append(
            Mark(
                "0%",
                _n(top + _LABEL_H + 2),
                _pct(w),
                _n(_BAR_H),
                "chart-bar-soon" if soon else "chart-bar-live",
                text,
            )
        )
        labels.append(Tick("0%", _n(top + _LABEL_H - 3), f"{token.label} · {when}"))
        rows.append((token.label, when, "yes" if soon else "no"))
    base = 4 + len(tokens) * _ROW_H
    middle = now + (latest - now) / 2
    x_ticks = [
        Tick("0%", _n(base + 18), "now"),
        Tick("50%", _n(base + 18), _time_label(middle, with_day=with_day)),
        Tick("100%", _n(base + 18), _time_label(latest, with_day=with_day)),
    ]
    soon_count = sum(1 for t in tokens if t.expires_at - now <= EXPIRING_SOON)
    shown = "" if total <= len(tokens) else f" (showing the {len(tokens)} that expire first)"
    summary = (
        f"{total} active token{'s' if total != 1 else ''}{which}{shown}; {soon_count} expire "
        f"within 10 minutes; the last one expires {_time_label(latest, with_day=True)}."
    )
    return Chart(
        height=height,
        title=title,
        desc=f"One bar per active token from now to its expiry, soonest first. {summary}",
        summary=summary,
        empty=False,
        marks=marks,
        x_ticks=x_ticks,
        labels=labels,
        axis=Gridline("0%", _n(base), "100%", _n(base)),
        table_head=("Token", "Expires", "Within 10 minutes"),
        table_rows=rows,
    )
