"""Reads of the audit trail: filtered team logs, keyset pages, streaming iterators.

Nothing here counts rows: every page is one index range scan (see AuditEvent.Meta.indexes), so
a page costs the same at a thousand events and at a million.
"""

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from portal.audit.chain import HASHED_FIELDS
from portal.audit.models import AuditEvent
from portal.audit.targets import target_url

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    """What a reviewer narrowed the log to. Empty values mean "any"; dates are inclusive."""

    actor: str = ""
    action: str = ""
    outcome: str = ""
    date_from: date | None = None
    date_to: date | None = None
    target_type: str = ""
    target_id: str = ""

    def as_details(self) -> dict[str, str]:
        """The filters that are set, as strings (for the export's audit event)."""
        return {k: str(v) for k, v in asdict(self).items() if v not in ("", None)}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _first_seq_at_or_after(moment: datetime) -> int | None:
    # ``record()`` keeps ``at`` non-decreasing in seq, so a time bound is a seq bound; the
    # (at, seq) index answers this with one seek.
    return (
        AuditEvent.objects.filter(at__gte=moment)
        .order_by("at", "seq")
        .values_list("seq", flat=True)
        .first()
    )


def event_list_for_team(*, team, filters: AuditFilters, only_actor_id=None) -> QuerySet:
    """The team's events matching ``filters``; ``only_actor_id`` keeps one user's only."""
    qs = AuditEvent.objects.filter(team=team)
    if only_actor_id is not None:
        qs = qs.filter(actor_id=only_actor_id)
    if filters.actor:
        user = get_user_model().objects.filter(username=filters.actor).first()
        # By id when the user exists (survives renames), else by the name snapshot (e.g. a
        # deleted user's events).
        qs = qs.filter(actor=user) if user else qs.filter(actor_label=filters.actor)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.target_type:
        qs = qs.filter(target_type=filters.target_type)
    if filters.target_id:
        qs = qs.filter(target_id=filters.target_id)
    if filters.date_from:
        start = _day_start(filters.date_from)
        first = _first_seq_at_or_after(start)
        if first is None:
            return qs.none()
        qs = qs.filter(seq__gte=first, at__gte=start)
    # The last representable day has no "next day": it means no upper bound.
    if filters.date_to and filters.date_to < date.max:
        end = _day_start(filters.date_to + timedelta(days=1))
        beyond = _first_seq_at_or_after(end)
        qs = qs.filter(at__lt=end)
        if beyond is not None:
            qs = qs.filter(seq__lt=beyond)
    return qs


@dataclass
class EventPage:
    events: list[AuditEvent]
    older: int | None  # link with ?before=<older> when set
    newer: int | None  # link with ?after=<newer> when set


def event_page(
    qs: QuerySet, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> EventPage:
    """One keyset page, newest first: below ``before``, or just above ``after``, or the newest."""
    if after is not None and before is None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        if not events:  # nothing newer: show the newest page instead of an empty one
            return event_page(qs, size=size)
        more_older = qs.filter(seq__lt=events[-1].seq).order_by("-seq").exists()
    else:
        page_qs = qs if before is None else qs.filter(seq__lt=before)
        rows = list(page_qs.order_by("-seq")[: size + 1])
        more_older = len(rows) > size
        events = rows[:size]
        more_newer = bool(
            before is not None
            and events
            and qs.filter(seq__gt=events[0].seq).order_by("seq").exists()
        )
        if before is not None and not events:
            more_newer = qs.filter(seq__gte=before).exists()
            return EventPage(events=[], older=None, newer=before - 1 if more_newer else None)
    return EventPage(
        events=events,
        older=events[-1].seq if more_older and events else None,
        newer=events[0].seq if more_newer and events else None,
    )


def event_iter(qs: QuerySet, *, chunk: int = 1000) -> Iterator[AuditEvent]:
    """Every event of ``qs``, newest first, in keyset batches (bounded memory at any size)."""
    last = None
    while True:
        batch_qs = qs if last is None else qs.filter(seq__lt=last)
        batch = list(batch_qs.order_by("-seq")[:chunk])
        yield from batch
        if len(batch) < chunk:
            return
        last = batch[-1].seq


CHAIN_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")


def chain_iter(*, chunk: int = 5000) -> Iterator[tuple]:
    """The whole chain in seq order as CHAIN_FIELDS tuples, in keyset batches."""
    last = 0
    while True:
        batch = list(
            AuditEvent.objects.filter(seq__gt=last)
            .order_by("seq")
            .values_list(*CHAIN_FIELDS)[:chunk]
        )
        yield from batch
        if len(batch) < chunk:
            return
        last = batch[-1][0]


def chain_head() -> tuple[int, str] | None:
    """(seq, hash) of the newest event, or None for an empty trail."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()


@dataclass
class EventRow:
    event: AuditEvent
    target_url: str | None
    details_text: str


def details_text(details) -> str:
    """Details as short ``key: value`` text for a table cell."""
    if not details:
        return ""
    if not isinstance(details, dict):
        return json.dumps(details, ensure_ascii=False)
    parts = []
    for key in sorted(details):
        value = details[key]
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        parts.append(f"{key}: {value}")
    return "; ".join(parts)


def event_rows(events: list[AuditEvent]) -> list[EventRow]:
    return [EventRow(e, target_url(e), details_text(e.details)) for e in events]
