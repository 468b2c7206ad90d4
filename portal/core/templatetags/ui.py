"""Small pieces every page shares: times people can read at a glance, and the error summary.

``{% when moment %}``: ``<time datetime="…" title="2026-03-01 14:05:09 UTC">12 min ago</time>``,
short enough never to wrap; the exact time is in the title (hover, long press) and in
``datetime`` for machines.

``{% link "dashboard" %}``: ``{% url "dashboard" %}`` for a page without arguments, reversed once.

``{{ form|visible_fields_html }}``: a form's visible fields in the one field layout, fast.

``{% error_summary form %}``: the form's errors, once, above the form, each linking to its field,
and which fields were emptied for safety and must be typed again. It marks the form so that
``{{ form }}`` does not list the same errors a second time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from portal.core.fields_html import fields_html
from portal.core.links import plain_url

register = template.Library()

EXACT_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def exact(moment: datetime) -> str:
    return timezone.localtime(moment).strftime(EXACT_FORMAT)


def _clock(local: datetime) -> str:
    return local.strftime("%H:%M")


def relative(moment: datetime, now: datetime | None = None, *, tz=None) -> str:
    """``just now``, ``12 min ago``, ``in 3 h``, ``yesterday 14:05``, ``Nov 28 14:05``,
    ``Nov 28, 2025`` - what a person needs to place a moment, in at most a dozen characters.
    ``tz`` is the reader's time zone when the caller already has it (a list page asks once)."""
    now = now or timezone.now()
    delta = moment - now
    seconds = delta.total_seconds()
    future = seconds > 0
    span = abs(seconds)
    if span < 60:
        return "in under a minute" if future and span >= 5 else "just now"
    if span < 3600:
        minutes = int(span // 60)
        return f"in {minutes} min" if future else f"{minutes} min ago"
    if span < 6 * 3600:
        hours = int(span // 3600)
        return f"in {hours} h" if future else f"{hours} h ago"
    tz = tz or timezone.get_current_timezone()
    local, today = moment.astimezone(tz), now.astimezone(tz).date()
    day = local.date()
    if day == today:
        return f"today {_clock(local)}"
    if day == today - timedelta(days=1):
        return f"yesterday {_clock(local)}"
    if day == today + timedelta(days=1):
        return f"tomorrow {_clock(local)}"
    if day.year == today.year or abs((day - today).days) < 180:
        return f"{local:%b} {day.day} {_clock(local)}"
    return f"{local:%b} {day.day}, {day.year}"


def when_html(moment, now: datetime | None = None, prefix: str = "", css: str = "", *, tz=None):
    """A moment as a short relative time with the exact one in the title; "—" for None.
    ``tz``: the reader's time zone, when the caller has it already (a list page asks once, not
    twice a row: the current time zone is a context-local lookup)."""
    if not moment:
        return "—"
    tz = tz or timezone.get_current_timezone()
    local = moment.astimezone(tz)
    # html.escape on each part: format_html's checks cost more than the rest of the tag.
    text = relative(moment, now, tz=tz)
    return SafeString(
        f'<time class="{escape(f"when {css}" if css else "when")}" '
        f'datetime="{escape(local.isoformat())}" title="{escape(local.strftime(EXACT_FORMAT))}">'
        f"{escape(f'{prefix} {text}' if prefix else text)}</time>"
    )


@register.simple_tag(takes_context=True)
def when(context, moment, prefix: str = "", css: str = ""):
    """``when_html`` at the page's ``now``."""
    return when_html(moment, context.get("now"), prefix, css)


@register.filter
def exact_time(moment) -> str:
    return exact(moment) if moment else ""


@register.simple_tag
def link(viewname: str) -> str:
    """``{% url viewname %}`` for a page without arguments, reversed once per process."""
    return plain_url(viewname)


@register.filter
def visible_fields_html(form):
    """Every visible field of ``form`` in the field layout, written without a template per
    widget (``core.fields_html``: the list pages' filter forms are rendered on every read)."""
    return fields_html(form)


@register.inclusion_tag("includes/_error_summary.html")
def error_summary(form):
    """The summary of a bound form's errors (nothing for a valid or unbound form)."""
    if form is None or not getattr(form, "errors", None):
        return {"show": False}
    form.summary_shown = True
    links = []
    for field in form:
        for message in field.errors:
            target = field.id_for_label or field.auto_id
            if field.is_hidden:
                links.append({"text": message, "href": ""})
            else:
                links.append({"text": f"{field.label}: {message}", "href": f"#{target}"})
    retype = []
    cleared = set(getattr(form, "cleared_fields", ()))
    for name in getattr(form, "retype_fields", ()):
        if name in form.fields and (name in cleared or form.data.get(name)):
            retype.append(form[name].label)
    return {
        "show": True,
        "general": list(form.non_field_errors()),
        "links": links,
        "retype": retype,
    }
