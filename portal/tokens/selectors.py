"""Reads of issuances: the team history (filtered, keyset-paged, streamed), renewal chains, the
dashboard's lists and the charts' data.

Nothing here counts a team's whole history: a history page is one range scan of the
``(team, -issued_at, -id)`` index from the cursor on, so page 500 costs what page 1 costs.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, StrIndex
from django.utils import timezone

from portal.core import fixed_sql, paging
from portal.core.dates import day_range, day_start
from portal.core.dbtext import UtcIso, UuidText
from portal.teams.models import Membership
from portal.tokens import selection
from portal.tokens.models import EXPIRING_SOON, Issuance, Status
from portal.vault.models import Credential

PAGE_SIZE = 25

ISSUED_OK_STATUSES = (Status.ACTIVE, Status.RENEWED, Status.REVOKED)

# Columns the history table and export need; the loaded rows never leave the server otherwise.
_RELATED = ("credential", "issued_by", "revoked_by")


@dataclass(frozen=True)
class HistoryFilters:
    """What a reader narrowed the history to. Empty values mean "any"; dates are inclusive."""

    search: str = ""
    credential_id: uuid.UUID | None = None
    member_id: int | None = None
    status: str = ""
    scope: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def is_set(self) -> bool:
        return any(v not in ("", None) for v in asdict(self).values())

    def as_details(self) -> dict[str, str]:
        """The filters that are set, as strings (for the export's audit event)."""
        return {k: str(v) for k, v in asdict(self).items() if v not in ("", None)}


def _status_q(status: str, now: datetime) -> Q:
    soon = now + EXPIRING_SOON
    if status == "expired":
        return Q(status=Status.ACTIVE, expires_at__lte=now)
    if status == "expiring_soon":
        return Q(status=Status.ACTIVE, expires_at__gt=now, expires_at__lte=soon)
    if status == Status.ACTIVE:
        # What the badge calls "active": not yet in its last ten minutes.
        return Q(status=Status.ACTIVE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=soon))
    return Q(status=status)


def _search_q(text: str) -> Q:
    """A token's name or note containing ``text`` (any case), or - for up to four characters,
    with or without a leading "…" - its last characters."""
    text = text.strip()
    q = Q(name__icontains=text) | Q(note__icontains=text)
    tail = text.lstrip("….").strip()
    if 0 < len(tail) <= 4:
        q |= Q(access_token_last4__endswith=tail)
    return q


def issuance_list_for_team(
    *, team, filters: HistoryFilters | None = None, now: datetime | None = None
) -> QuerySet:
    """The team's issuances matching ``filters``, any order (pages and exports order them)."""
    filters = filters or HistoryFilters()
    now = now or timezone.now()
    qs = Issuance.objects.filter(team=team)
    if filters.search:
        qs = qs.filter(_search_q(filters.search))
    if filters.credential_id:
        qs = qs.filter(credential_id=filters.credential_id)
    if filters.member_id:
        qs = qs.filter(issued_by_id=filters.member_id)
    if filters.status:
        qs = qs.filter(_status_q(filters.status, now))
    if filters.scope and connection.vendor == "postgresql":
        # Lists holding the scope (jsonb @>): GIN indexes answer it (tokens migration 0005), so
        # a rare scope does not walk the team's whole history. The same lists as the text
        # search below finds.
        qs = qs.filter(
            Q(requested_scopes__contains=[filters.scope])
            | Q(granted_scopes__contains=[filters.scope])
        )
    elif filters.scope:
        # Scopes are stored as JSON lists; a scope token (RFC 6749: no quote, backslash or space)
        # appears in the JSON text exactly as "scope", so a case-sensitive substring search for
        # the quoted token finds exactly the lists holding it (JSON "contains" is missing on
        # SQLite, and LIKE there ignores case; INSTR doesn't).
        needle = Value(f'"{filters.scope}"')
        qs = qs.annotate(
            _requested_at=StrIndex(Cast("requested_scopes", TextField()), needle),
            _granted_at=StrIndex(Cast("granted_scopes", TextField()), needle),
        ).filter(Q(_requested_at__gt=0) | Q(_granted_at__gt=0))
    start, end = day_range(filters.date_from, filters.date_to)
    if start is not None:
        qs = qs.filter(issued_at__gte=start)
    if end is not None:
        qs = qs.filter(issued_at__lt=end)
    return qs


# --- Keyset pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in the (issued_at, id) descending order, carried in links as one string."""

    issued_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        stamp = self.issued_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"{stamp}_{self.id.hex}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Raises ``ValueError`` for anything that is not a cursor this module wrote."""
        stamp, _, hex_id = (text or "").partition("_")
        moment = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        return cls(issued_at=moment, id=uuid.UUID(hex=hex_id))

    @classmethod
    def of(cls, issuance: Issuance) -> Cursor:
        return cls(issued_at=issuance.issued_at, id=issuance.id)


def _older_than(c: Cursor) -> Q:
    # The redundant ``issued_at <= t`` bound lets the database start the index scan at the cursor
    # instead of filtering every newer row (an OR alone is not index-friendly everywhere).
    return Q(issued_at__lte=c.issued_at) & (
        Q(issued_at__lt=c.issued_at) | Q(issued_at=c.issued_at, id__lt=c.id)
    )


def _newer_than(c: Cursor) -> Q:
    return Q(issued_at__gte=c.issued_at) & (
        Q(issued_at__gt=c.issued_at) | Q(issued_at=c.issued_at, id__gt=c.id)
    )


NEWEST_FIRST = ("-issued_at", "-id")
OLDEST_FIRST = ("issued_at", "id")

# The history's order, the ``(team, -issued_at, -id)`` index's. A page past the end links to the
# rows newer than its cursor (a compound key has no predecessor to reopen at).
HISTORY_ORDER = paging.Keyset(
    newest_first=NEWEST_FIRST,
    oldest_first=OLDEST_FIRST,
    position=Cursor.of,
    older_than=_older_than,
    newer_than=_newer_than,
)


@dataclass
class HistoryPage:
    issuances: list[Issuance]
    older: Cursor | None = None  # link with ?before=<older.encode()> when set
    newer: Cursor | None = None  # link with ?after=<newer.encode()> when set
    renewed_by: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)


def history_page(
    qs: QuerySet,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> HistoryPage:
    """One keyset page of ``qs``, newest first (see ``core.paging.page``), with the renewals of
    its renewed tokens."""
    page = paging.page(
        qs.select_related(*_RELATED), HISTORY_ORDER, before=before, after=after, size=size
    )
    return HistoryPage(
        issuances=page.items,
        older=page.older,
        newer=page.newer,
        renewed_by=renewed_by_map(page.items),
    )


# What a row of the history table shows, as plain values: building 25 issuances with their
# credentials and users as model instances cost twice the query itself. The names are the
# model's where they exist, so the keyset's cursor and ``access.issuance_may_manage`` read a
# row as they read an issuance. The pages read the same values as fixed SQL
# (``selection.HistorySelection``); this queryset form is the reference its tests compare with,
# and the benchmarks' COUNT + OFFSET page.
_TABLE_FIELDS = selection.OWN_FIELDS
_TABLE_JOINED = {
    "credential_name": F("credential__name"),
    "credential_archived_at": F("credential__archived_at"),
    "issued_by_username": F("issued_by__username"),
    # What ``Issuance.can_be_revoked`` asks of the ciphertexts, without loading them.
    "holds_token": ExpressionWrapper(
        ~Q(access_token_encrypted="") | ~Q(refresh_token_encrypted=""),
        output_field=BooleanField(),
    ),
}


def history_table_rows(qs: QuerySet) -> QuerySet:
    """``qs`` as the history table's rows: named tuples of ``_TABLE_FIELDS`` and the joined
    credential name, its archive time, the issuer's username and ``holds_token``."""
    return qs.annotate(**_TABLE_JOINED).values_list(*_TABLE_FIELDS, *_TABLE_JOINED, named=True)


def history_selection(*, team, filters: HistoryFilters | None = None, now: datetime | None = None):
    """``issuance_list_for_team`` as a ``selection.HistorySelection``: what the history table
    pages through, as fixed SQL (its ``queryset()`` is the same issuances)."""
    return selection.HistorySelection(
        team_id=getattr(team, "pk", team),
        filters=filters or HistoryFilters(),
        now=now or timezone.now(),
    )


# HISTORY_ORDER for a HistorySelection: the same order, sought with its Seek conditions.
HISTORY_TABLE_ORDER = paging.Keyset(
    newest_first=NEWEST_FIRST,
    oldest_first=OLDEST_FIRST,
    position=Cursor.of,
    older_than=lambda cursor: selection.Seek(older=True, cursor=cursor),
    newer_than=lambda cursor: selection.Seek(older=False, cursor=cursor),
)


def history_table_page(
    chosen,
    *,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> HistoryPage:
    """``history_page`` for the history table, of a ``history_selection``: its ``issuances`` are
    ``selection.TableRow`` tuples, the values ``history_table_rows`` reads."""
    page = paging.page(chosen, HISTORY_TABLE_ORDER, before=before, after=after, size=size)
    return HistoryPage(
        issuances=page.items,
        older=page.older,
        newer=page.newer,
        renewed_by=renewed_by_map(page.items),
    )


def renewed_by_map(issuances: list) -> dict[uuid.UUID, uuid.UUID]:
    """For each given issuance (or table row) that was renewed: the id of the issuance that
    replaced it (fixed SQL: one indexed lookup, on every history page that shows a renewal)."""
    ids = [i.id for i in issuances if i.status == Status.RENEWED]
    if not ids:
        return {}
    prep = Issuance._meta.pk.get_db_prep_value
    renewed_from = fixed_sql.column(Issuance, "renewed_from")
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        f"SELECT {fixed_sql.selected_columns(Issuance, _RENEWAL)} "  # noqa: S608
        f"FROM {fixed_sql.table(Issuance)} WHERE {renewed_from} IN ({marks})"
    )
    rows = fixed_sql.rows(sql, [prep(pk, connection) for pk in ids])
    return dict(fixed_sql.values(Issuance, _RENEWAL, row) for row in rows)


_RENEWAL = ("renewed_from_id", "id")


# What an export reads of each issuance, in this order: plain values, no model instances. Ids
# and times come as text, scopes as JSON text, all made by the database (``_EXPORTED``).
EXPORT_VALUES = (
    "id_text",
    "issued_at_text",
    "issued_by_id",
    "credential_text",
    "grant_type",
    "upstream_username",
    "requested_scopes_json",
    "granted_scopes_json",
    "token_type",
    "token_format",
    "expires_at_text",
    "status",
    "failure_kind",
    "failure_message",
    "renewed_from_text",
    "access_token_last4",
    "access_token_fingerprint",
    "revoked_at_text",
    "revoked_by_id",
    "name",
    "note",
)
_EXPORTED = {
    "id_text": UuidText("id"),
    "issued_at_text": UtcIso("issued_at"),
    "credential_text": UuidText("credential_id"),
    "requested_scopes_json": Cast("requested_scopes", TextField()),
    "granted_scopes_json": Cast("granted_scopes", TextField()),
    "expires_at_text": UtcIso("expires_at"),
    "renewed_from_text": UuidText("renewed_from_id"),
    "revoked_at_text": UtcIso("revoked_at"),
}
_ID, _ISSUED_AT, _ISSUED_BY, _CREDENTIAL, _STATUS, _REVOKED_BY = (
    EXPORT_VALUES.index(name)
    for name in (
        "id_text",
        "issued_at_text",
        "issued_by_id",
        "credential_text",
        "status",
        "revoked_by_id",
    )
)


@dataclass
class ExportBatch:
    """Up to a few thousand issuances as ``EXPORT_VALUES`` tuples, newest first, and the names
    and renewals they refer to, by the ids as the tuples hold them."""

    rows: list[tuple]
    usernames: dict[int, str]  # issued_by_id / revoked_by_id -> username
    credential_names: dict[str, str]
    renewed_by: dict[str, str]  # a renewed issuance's id -> its renewal's id


def _export_cursor(row: tuple) -> Cursor:
    return Cursor(issued_at=datetime.fromisoformat(row[_ISSUED_AT]), id=uuid.UUID(row[_ID]))


def history_export_batches(qs: QuerySet, *, chunk: int = 2000) -> Iterator[ExportBatch]:
    """Every issuance of ``qs``, newest first, for an export: one range query per batch on the
    history's index, plus a query for the batch's renewals and for names not seen before (a
    team has few members and credentials) - never a lookup per row."""
    usernames: dict[int, str] = {}
    credential_names: dict[str, str] = {}
    users = get_user_model().objects
    rows_qs = qs.annotate(**_EXPORTED).values_list(*EXPORT_VALUES)
    for rows in paging.batches(rows_qs, HISTORY_ORDER, chunk=chunk, position=_export_cursor):
        new_users = {r[_ISSUED_BY] for r in rows} | {r[_REVOKED_BY] for r in rows}
        new_users -= usernames.keys()
        new_users.discard(None)
        if new_users:
            usernames.update(users.filter(pk__in=new_users).values_list("pk", "username"))
        new_credentials = {r[_CREDENTIAL] for r in rows} - credential_names.keys()
        if new_credentials:
            credential_names.update(
                Credential.objects.filter(pk__in=new_credentials)
                .annotate(pk_text=UuidText("pk"))
                .values_list("pk_text", "name")
            )
        renewed = [r[_ID] for r in rows if r[_STATUS] == Status.RENEWED]
        renewals = (
            Issuance.objects.filter(renewed_from_id__in=renewed)
            .order_by()  # the model's default ordering would steer SQLite off the unique index
            .annotate(renewed_text=UuidText("renewed_from_id"), renewal_text=UuidText("id"))
            .values_list("renewed_text", "renewal_text")
            if renewed
            else ()
        )
        yield ExportBatch(rows, usernames, credential_names, dict(renewals))


# --- Filter choices -------------------------------------------------------------------------------


# Both choice lists are read on every history page (the filter form), so they are fixed SQL
# (``core.fixed_sql``): the ORM took longer to build each query than the database to answer it.
@functools.cache
def _credential_choices_sql() -> str:
    c = functools.partial(fixed_sql.column, Credential)
    return (
        f"SELECT {c('id')}, {c('name')}, {c('archived_at')} IS NOT NULL "  # noqa: S608
        f"FROM {fixed_sql.table(Credential)} WHERE {c('team')} = %s "
        f"ORDER BY {c('name')}, {c('created_at')}"
    )


@functools.cache
def _member_choices_sql() -> str:
    user_model = get_user_model()
    u = functools.partial(fixed_sql.column, user_model)
    m = functools.partial(fixed_sql.column, Membership)
    return (
        f"SELECT u.{u('id')}, u.{u('username')} "  # noqa: S608
        f"FROM {fixed_sql.table(user_model)} u JOIN {fixed_sql.table(Membership)} m "
        f"ON m.{m('user')} = u.{u('id')} WHERE m.{m('team')} = %s ORDER BY u.{u('username')}"
    )


def _uuid_text(value) -> str:
    # PostgreSQL gives a UUID, SQLite its 32 hex digits: the choices carry the dashed form.
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value))


def credential_choices_for_team(team) -> list[tuple[str, str]]:
    """The team's credentials, archived ones too (their history stays readable)."""
    found = fixed_sql.rows(_credential_choices_sql(), [_team_param(team)])
    return [
        (_uuid_text(pk), f"{name} (archived)" if archived else name) for pk, name, archived in found
    ]


def member_choices_for_team(team) -> list[tuple[str, str]]:
    """The team's current members by username."""
    found = fixed_sql.rows(_member_choices_sql(), [_team_param(team)])
    return [(str(pk), username) for pk, username in found]


def _team_param(team):
    field = Membership._meta.get_field("team").target_field
    return field.get_db_prep_value(team.pk, connection)


# --- Detail ------------------------------------------------------------------------------------


def renewal_chain(issuance: Issuance, *, limit: int = 200) -> list[Issuance]:
    """The whole renewal chain holding ``issuance``, oldest first: walked back through
    ``renewed_from`` and forward through ``renewed_by`` (one query per link, bounded by
    ``limit`` so a corrupt cycle cannot loop forever). Every link is of the same team: renewals
    never cross teams."""
    chain = [issuance]
    seen = {issuance.pk}
    current = issuance
    while current.renewed_from_id and len(chain) < limit:
        previous = (
            Issuance.objects.select_related("issued_by").filter(pk=current.renewed_from_id).first()
        )
        if previous is None or previous.pk in seen or previous.team_id != issuance.team_id:
            break
        chain.insert(0, previous)
        seen.add(previous.pk)
        current = previous
    current = issuance
    while len(chain) < limit:
        following = (
            Issuance.objects.select_related("issued_by").filter(renewed_from_id=current.pk).first()
        )
        if following is None or following.pk in seen or following.team_id != issuance.team_id:
            break
        chain.append(following)
        seen.add(following.pk)
        current = following
    return chain


# --- Dashboard ---------------------------------------------------------------------------------


def _member_teams_q(user) -> Q:
    # Only teams the user still belongs to: a removed member no longer sees the team's tokens.
    return Q(team__memberships__user=user)


def issuance_active_for_user(*, user, now: datetime | None = None, limit: int = 20) -> list:
    """The user's own live tokens (active, not expired), soonest expiry first."""
    now = now or timezone.now()
    return list(
        Issuance.objects.filter(_member_teams_q(user), issued_by=user, status=Status.ACTIVE)
        .filter(Q(expires_at__gt=now) | Q(expires_at__isnull=True))
        .select_related("credential", "team")
        .order_by("expires_at", "id")[:limit]
    )


def issuance_any_by_user(*, user) -> bool:
    """Whether the user ever obtained a token (the dashboard's first steps)."""
    return Issuance.objects.filter(issued_by=user, status__in=ISSUED_OK_STATUSES).exists()


def issuance_expiring_soon(
    *, user, team=None, now: datetime | None = None, limit: int = 20
) -> list[Issuance]:
    """Active tokens in their last ten minutes: the ``team``'s when given, else the user's own."""
    now = now or timezone.now()
    qs = Issuance.objects.filter(
        status=Status.ACTIVE, expires_at__gt=now, expires_at__lte=now + EXPIRING_SOON
    )
    qs = (
        qs.filter(team=team)
        if team is not None
        else qs.filter(_member_teams_q(user), issued_by=user)
    )
    return list(
        qs.select_related("credential", "team", "issued_by").order_by("expires_at", "id")[:limit]
    )


def issuance_recent_failures(*, user, team=None, limit: int = 5) -> list[Issuance]:
    """The latest failed attempts: the ``team``'s when given, else the user's own."""
    qs = Issuance.objects.filter(status=Status.FAILED)
    qs = (
        qs.filter(team=team)
        if team is not None
        else qs.filter(_member_teams_q(user), issued_by=user)
    )
    return list(
        qs.select_related("credential", "team", "issued_by").order_by(*NEWEST_FIRST)[:limit]
    )


# --- Chart data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayOutcome:
    day: date
    issued: int
    failed: int


def _bucket_sql(starts: list[datetime]) -> RawSQL:
    """``i`` such that ``starts[i] <= issued_at < starts[i + 1]`` (the last bucket also takes
    anything later), as nested CASEs - a binary search, five comparisons a row for 30 days.

    Written as SQL text because the ORM spends more time compiling 59 ``When`` nodes than the
    database spends running them. No input reaches the text: the bounds are computed here and
    bound as parameters, adapted as the column's own values are."""
    quote = connection.ops.quote_name
    column = f"{quote(Issuance._meta.db_table)}.{quote('issued_at')}"
    params: list = []

    def search(low: int, high: int) -> str:
        if high - low == 1:
            return str(low)
        middle = (low + high) // 2
        params.append(connection.ops.adapt_datetimefield_value(starts[middle]))
        return f"CASE WHEN {column} < %s THEN {search(low, middle)} ELSE {search(middle, high)} END"

    sql = search(0, len(starts) - 1)
    return RawSQL(sql, params, output_field=IntegerField())  # noqa: S611 - no input in the text


def _day_counts_hashed(in_range: QuerySet) -> list[tuple[int, int, int]]:
    """``(bucket, rows, failed)`` of ``in_range`` (annotated with ``bucket``) on PostgreSQL.

    Grouped directly, the day is a function of ``issued_at`` to the planner, which then expects
    as many days as rows and sorts them all (a quarter of a million for the history's 180-day
    page at a million rows: 80 ms of a 116 ms query) instead of hashing 92 groups. Read through
    a subquery that ``OFFSET 0`` keeps whole, the day is a column of unknown spread, and the
    planner hashes it: the same counts (tests compare them) in half the time. The subquery is
    the queryset's own SQL and parameters; the text around it is fixed."""
    sql, params = in_range.values_list("bucket", "status").query.sql_with_params()
    return fixed_sql.rows(
        'SELECT s."bucket", COUNT(*), COUNT(*) FILTER (WHERE s."status" = %s) '  # noqa: S608
        f'FROM ({sql} OFFSET 0) s GROUP BY s."bucket"',
        [Status.FAILED.value, *params],
    )


def _day_counts_by_day(team, starts: list[datetime]) -> list[tuple[int, int, int]]:
    """``(bucket, rows, failed)`` of all the team's settled rows on PostgreSQL, one indexed count
    per day: each day is one range of the (team, issued_at, status) index, read without the
    table, and nothing is grouped or hashed. For a 180-day page at a million rows this takes
    half the time of one scan grouped by day (two parallel workers hand every row to the
    leader to hash it). Only for the whole team: with other filters one scan remains better
    (a rare scope is one lookup in its GIN index, not 92)."""
    column = functools.partial(fixed_sql.column, Issuance)
    team_id = Issuance._meta.get_field("team").get_db_prep_value(
        getattr(team, "pk", team), connection
    )
    return fixed_sql.rows(
        "SELECT d.n - 1, c.n, c.failed "  # noqa: S608 - names from the model, values bound
        "FROM unnest(%s::timestamptz[], %s::timestamptz[]) WITH ORDINALITY AS d(lo, hi, n) "
        "CROSS JOIN LATERAL ("
        f"SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE i.{column('status')} = %s) AS failed "
        f"FROM {fixed_sql.table(Issuance)} i WHERE i.{column('team')} = %s "
        f"AND i.{column('issued_at')} >= d.lo AND i.{column('issued_at')} < d.hi "
        f"AND i.{column('status')} <> %s) c",
        [starts[:-1], starts[1:], Status.FAILED.value, team_id, Status.PENDING.value],
    )


def daily_outcomes_for_team(
    *,
    team,
    days: int = 30,
    now: datetime | None = None,
    last: date | None = None,
    qs: QuerySet | None = None,
) -> list:
    """One ``DayOutcome`` per local calendar day of the ``days`` ending ``last`` (default
    today), oldest first. ``qs`` narrows the count (the history's filtered issuances; default
    all of the team's). Pending attempts are still in flight and count as neither."""
    now = now or timezone.now()
    today = last or timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    # Days are told apart by the local midnights computed here (portable, DST-safe, no per-row
    # date function - SQLite's are Python callbacks).
    starts = [day_start(first + timedelta(days=n)) for n in range(days + 1)]
    if connection.vendor == "postgresql" and qs is None:
        rows = _day_counts_by_day(team, starts)
    else:
        # Each row's day by a binary search of nested CASEs (five comparisons a row for 30
        # days), then grouped: one pass over one index range, a few dozen rows back.
        in_range = (
            (qs if qs is not None else Issuance.objects.filter(team=team))
            .filter(issued_at__gte=starts[0], issued_at__lt=starts[-1])
            .exclude(status=Status.PENDING)
            .order_by()
            .annotate(bucket=_bucket_sql(starts))
        )
        if connection.vendor == "postgresql":
            rows = _day_counts_hashed(in_range)
        else:
            rows = (
                # Grouped by the day only: grouping by status too tempts SQLite to walk a whole
                # status index instead of the team's recent range.
                in_range.values("bucket")
                # Counting rows and statuses, not ids: the (team, issued_at, status) index
                # holds everything the query reads; the database never visits the table.
                .annotate(n=Count("*"), failed=Count("status", filter=Q(status=Status.FAILED)))
                .values_list("bucket", "n", "failed")
            )
    counts = [[0, 0] for _ in range(days)]
    for index, n, failed in rows:
        counts[index] = [n - failed, failed]
    return [
        DayOutcome(day=first + timedelta(days=n), issued=c[0], failed=c[1])
        for n, c in enumerate(counts)
    ]


def active_expiries_for_team(
    *, team, now: datetime | None = None, limit: int = 40, qs: QuerySet | None = None
):
    """``(tokens, total)``: the team's live tokens with an expiry, soonest first (at most
    ``limit``), and how many there are in all; ``qs`` narrows them (the history's filters)."""
    now = now or timezone.now()
    base = qs if qs is not None else Issuance.objects.filter(team=team)
    qs = base.filter(status=Status.ACTIVE, expires_at__gt=now)
    tokens = list(
        qs.select_related("issued_by")
        .only("id", "expires_at", "access_token_last4", "name", "issued_by__username", "issued_at")
        .order_by("expires_at", "id")[:limit]
    )
    total = len(tokens) if len(tokens) < limit else qs.count()
    return tokens, total
