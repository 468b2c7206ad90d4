"""Reads of the audit trail: filtered team logs, keyset pages, streaming iterators.

Nothing here counts rows: every page is one index range scan (see AuditEvent.Meta.indexes), so
a page costs the same at a thousand events and at a million.
"""

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from operator import attrgetter, itemgetter

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from portal.audit.chain import HASHED_FIELDS
from portal.audit.models import AuditEvent
from portal.core import paging
from portal.core.dates import day_range
from portal.core.dbtext import UtcIso, UuidText

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
    return _filtered(qs, filters)


def event_list_all(*, filters: AuditFilters) -> QuerySet:
    """Every event of the portal matching ``filters`` (the staff's view)."""
    return _filtered(AuditEvent.objects.all(), filters)


ACCOUNT_ATTEMPTS = ("login.failed", "login.locked_out")


def event_list_for_account(*, user) -> QuerySet:
    """What happened to one person's account, outside any team: their sign-ins and sign-outs,
    password and profile changes, what others (administrators) did to the account, and the
    failed or refused sign-ins under their username or email - whoever typed them."""
    names = Q(actor_label__iexact=user.get_username())
    if user.email:
        names |= Q(actor_label__iexact=user.email)
    own = Q(actor_id=user.pk) | Q(target_type=user._meta.label_lower, target_id=str(user.pk))
    attempts = Q(actor__isnull=True, action__in=ACCOUNT_ATTEMPTS) & names
    return AuditEvent.objects.filter(team__isnull=True).filter(own | attempts)


def _filtered(qs: QuerySet, filters: AuditFilters) -> QuerySet:
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
    start, end = day_range(filters.date_from, filters.date_to)
    if start is not None:
        first = _first_seq_at_or_after(start)
        if first is None:
            return qs.none()
        qs = qs.filter(seq__gte=first, at__gte=start)
    if end is not None:
        beyond = _first_seq_at_or_after(end)
        qs = qs.filter(at__lt=end)
        if beyond is not None:
            qs = qs.filter(seq__lt=beyond)
    return qs


# The trail's order, by ``seq``. A page past the end links back to the page that ends at its
# cursor's event (an integer has a predecessor: ``after=seq - 1`` includes ``seq``).
EVENT_ORDER = paging.Keyset(
    newest_first=("-seq",),
    oldest_first=("seq",),
    position=attrgetter("seq"),
    older_than=lambda seq: Q(seq__lt=seq),
    newer_than=lambda seq: Q(seq__gt=seq),
    reopen=lambda seq: seq - 1,
)


def event_page(
    qs: QuerySet, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> paging.Page:
    """One keyset page of events, newest first: below ``before``, just above ``after``, or the
    newest (see ``core.paging.page``)."""
    return paging.page(qs, EVENT_ORDER, before=before, after=after, size=size)


# What an export reads of each event, in this order: plain values, no model instances. The time
# comes as UTC ISO-8601 text, the team id as text and details as JSON text, all made by the
# database.
EXPORT_VALUES = (
    "seq",
    "at_text",
    "actor_id",
    "actor_label",
    "team_text",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "request_id",
    "details_json",
    "prev_hash",
    "hash",
)


def event_export_batches(qs: QuerySet, *, chunk: int = 2000) -> Iterator[list[tuple]]:
    """Every event of ``qs``, newest first, as lists of ``EXPORT_VALUES`` tuples: one range
    query per batch, bounded memory at any size."""
    rows = qs.annotate(
        at_text=UtcIso("at"),
        team_text=UuidText("team_id"),
        details_json=Cast("details", TextField()),
    ).values_list(*EXPORT_VALUES)
    return paging.batches(rows, EVENT_ORDER, chunk=chunk, position=itemgetter(0))


CHAIN_FIELDS = (*HASHED_FIELDS, "prev_hash", "hash")


def chain_head() -> tuple[int, str] | None:
    """(seq, hash) of the newest event, or None for an empty trail."""
    return AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()


def people_for_team(team) -> list[str]:
    """Usernames a team's log can be filtered by: its members (suggested in the "Who" box)."""
    return list(
        get_user_model()
        .objects.filter(memberships__team=team)
        .order_by("username")
        .values_list("username", flat=True)
    )
