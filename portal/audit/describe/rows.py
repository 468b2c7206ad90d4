"""A page of events as the rows of the audit tables.

Each row's HTML is built here, once, as one string: a page shows 50 events of a dozen pieces
each, and a template loop with a variable, a tag or an include per piece was most of the page's
rendering time. The markup is the one ``templates/audit/_events.html`` prints; every stored value
is escaped as text on its way in (``html.escape``), and the page's time zone is looked up once.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from django.utils import timezone
from django.utils.safestring import SafeString

from portal.audit.describe.mentions import mentioned_tokens, team_names, token_refs
from portal.audit.describe.sentences import Context, sentence_html
from portal.audit.describe.technical import technical_html
from portal.audit.models import Outcome
from portal.audit.targets import target_url
from portal.core.templatetags.ui import when_html

_text = html.escape

_BADGES = {
    Outcome.SUCCESS: '<span class="badge badge-ok">Succeeded</span>',
    Outcome.FAILURE: '<span class="badge badge-warn">Failed</span>',
    Outcome.DENIED: '<span class="badge badge-bad">Refused</span>',
}


@dataclass(slots=True)
class EventRow:
    """One event of a page: its sentence and team in words, and the whole table row."""

    event: object  # an AuditEvent or a page's plain row with the same attribute names
    sentence: SafeString
    target_url: str | None
    team_name: str
    html: SafeString


def _row_html(event, *, sentence: str, team_name: str, link: str | None, when: str) -> str:
    seq = event.seq
    team = f' <span class="audit-team">in {_text(team_name)}</span>' if team_name else ""
    target = f'<p><a href="{_text(link)}">Open the page it is about</a></p>' if link else ""
    badge = _BADGES.get(event.outcome, _BADGES[Outcome.DENIED])
    return (
        "\n    <tr>\n"
        f'      <td class="col-when" data-label="When">{when}</td>\n'
        '      <td class="cell-full">\n'
        f'        <p class="audit-sentence">{sentence}{team}</p>\n'
        '        <details class="audit-tech">\n'
        "          <summary>Technical details"
        f'<span class="visually-hidden"> of event {seq}</span></summary>\n'
        f"          <dl>{technical_html(event)}</dl>\n"
        f"          {target}\n"
        "        </details>\n"
        "      </td>\n"
        f'      <td class="col-outcome" data-label="Result">{badge}</td>\n'
        f'      <td class="col-seq mono" data-label="Event">{seq}</td>\n'
        "    </tr>\n  "
    )


def describe(events: list, *, with_team: bool = False) -> list[EventRow]:
    """A page of events as rows (and team names when the page spans teams). Two queries at
    most, whatever the page size: the tokens the events mention, and their teams."""
    now = timezone.now()
    tz = timezone.get_current_timezone()
    ctx = Context(tokens=token_refs(mentioned_tokens(events)), now=now)
    if with_team:
        ctx.teams = team_names(e.team_id for e in events)
    rows = []
    for e in events:
        team_name = ""
        if with_team and e.team_id:
            name, personal = ctx.teams.get(str(e.team_id), ("a deleted team", False))
            team_name = "a personal team" if personal else name
        sentence = sentence_html(e, ctx)
        link = target_url(e)
        html_row = _row_html(
            e, sentence=sentence, team_name=team_name, link=link, when=when_html(e.at, now, tz=tz)
        )
        rows.append(
            EventRow(
                event=e,
                sentence=SafeString(sentence),
                target_url=link,
                team_name=team_name,
                html=SafeString(html_row),
            )
        )
    return rows


def rows_html(rows: list[EventRow]) -> SafeString:
    """The ``<tbody>`` content of ``rows``."""
    return SafeString("".join(row.html for row in rows))
