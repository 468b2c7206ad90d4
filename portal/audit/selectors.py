"""Reads of the audit trail: filtered team logs, keyset pages, streaming iterators.

Nothing here counts rows: every page is one index range scan (see AuditEvent.Meta.indexes), so
a page costs the same at a thousand events and at a million.
"""

import functools
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from operator import attrgetter, itemgetter

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from portal.audit.chain import HASHED_FIELDS
from portal.audit.models import AuditEvent
from portal.audit.selection import EventSelection
from portal.core import fixed_sql, paging
from portal.core.dates import day_range
from portal.core.dbtext import UtcIso, UuidText
from portal.teams.models import Membership

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


def event_selection_for_team(*, team, filters: AuditFilters, only_actor_id=None) -> EventSelection:
    """The team's events matching ``filters``; ``only_actor_id`` keeps one user's only."""
    selection = EventSelection((("team_id", "exact", team.pk),))
    if only_actor_id is not None:
        selection = selection.where(("actor_id", "exact", only_actor_id))
    return _filtered(selection, filters)


def event_list_for_team(*, team, filters: AuditFilters, only_actor_id=None) -> QuerySet:
    """``event_selection_for_team`` as a queryset."""
    return event_selection_for_team(
        team=team, filters=filters, only_actor_id=only_actor_id
    ).queryset()


def event_selection_all(*, filters: AuditFilters) -> EventSelection:
    """Every event of the portal matching ``filters`` (the staff's view)."""
    return _filtered(EventSelection(), filters)


def event_list_all(*, filters: AuditFilters) -> QuerySet:
    """``event_selection_all`` as a queryset."""
    return event_selection_all(filters=filters).queryset()


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


def _filtered(selection: EventSelection, filters: AuditFilters) -> EventSelection:
    if filters.actor:
        user_id = (
            get_user_model()
            .objects.filter(username=filters.actor)
            .values_list("pk", flat=True)
            .first()
        )
        # By id when the user exists (survives renames), else by the name snapshot (e.g. a
        # deleted user's events).
        if user_id is not None:
            selection = selection.where(("actor_id", "exact", user_id))
        else:
            selection = selection.where(("actor_label", "exact", filters.actor))
    for name in ("action", "outcome", "target_type", "target_id"):
        if value := getattr(filters, name):
            selection = selection.where((name, "exact", value))
    start, end = day_range(filters.date_from, filters.date_to)
    if start is not None:
        first = _first_seq_at_or_after(start)
        if first is None:
            return replace(selection, nothing=True)
        selection = selection.where(("seq", "gte", first), ("at", "gte", start))
    if end is not None:
        beyond = _first_seq_at_or_after(end)
        selection = selection.where(("at", "lt", end))
        if beyond is not None:
            selection = selection.where(("seq", "lt", beyond))
    return selection


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
    qs: QuerySet | EventSelection,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> paging.Page:
    """One keyset page of events, newest first: below ``before``, just above ``after``, or the
    newest (see ``core.paging.page``). Its items are ``AuditEvent`` instances from a queryset,
    ``PageEvent`` tuples from an ``EventSelection``."""
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


@functools.cache
def _people_for_team_sql() -> str:
    user = get_user_model()
    name, pk = fixed_sql.column(user, "username"), fixed_sql.column(user, user._meta.pk.name)
    users, memberships = fixed_sql.table(user), fixed_sql.table(Membership)
    return (
        f"SELECT u.{name} FROM {users} u JOIN {memberships} m ON m.user_id = u.{pk} "  # noqa: S608
        f"WHERE m.team_id = %s ORDER BY u.{name}"
    )


def people_for_team(team) -> list[str]:
    """Usernames a team's log can be filtered by: its members (suggested in the "Who" box).
    Fixed SQL: every owner's and viewer's audit page reads it (see ``core.fixed_sql``)."""
    team_id = Membership._meta.get_field("team").get_db_prep_value(team.pk, connection)
    return [username for (username,) in fixed_sql.rows(_people_for_team_sql(), [team_id])]
