"""Which issuances a history page shows, read as fixed SQL.

A history page is one indexed range scan (and one "is there a newer page?" probe), but building
it as a queryset - cloning it per filter, compiling the filters, the keyset condition and three
joins to SQL, for each of the two queries - cost the portal more CPU than the database spent
answering it. ``HistorySelection`` holds the same filters as ``selectors.issuance_list_for_team``
(the team, the reader's ``HistoryFilters`` and the moment that "expires soon" counts from) and
does the few things ``core.paging.page`` asks of a queryset - ``filter()`` with a keyset
condition, ``order_by()`` newest or oldest first, a ``[:n]`` slice, ``exists()`` - each as one
SELECT of fixed text. Its rows are ``TableRow`` tuples, the same values under the same names as
``selectors.history_table_rows`` gives; ``queryset()`` is the same selection as a queryset for
everything else (the charts, the benchmarks' COUNT + OFFSET baseline).

The text conditions (search) are made from the database backend's own lookup tables - the cast
and operator the ORM would use, the pattern escaped by ``prep_for_like_query`` - so they match
what ``icontains`` and ``endswith`` match on each database; tests compare both ways of reading
over hostile filters on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import json
from collections import namedtuple
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from portal.core import fixed_sql
from portal.core.dates import day_range
from portal.tokens.models import EXPIRING_SOON, Issuance, Status
from portal.vault.models import Credential

# The issuance's own fields a history row shows (``selectors._TABLE_FIELDS``), then the joined
# ones, under ``selectors._TABLE_JOINED``'s names.
OWN_FIELDS = (
    "id",
    "team_id",
    "name",
    "note",
    "access_token_last4",
    "grant_type",
    "upstream_username",
    "requested_scopes",
    "granted_scopes",
    "issued_at",
    "expires_at",
    "status",
    "failure_message",
    "renewed_from_id",
    "issued_by_id",
    "has_refresh_token",
)
JOINED_FIELDS = ("credential_name", "credential_archived_at", "issued_by_username", "holds_token")
TableRow = namedtuple("TableRow", OWN_FIELDS + JOINED_FIELDS)

_CREDENTIAL_FIELDS = ("name", "archived_at")
_NEWEST_FIRST = ("-issued_at", "-id")
_OLDEST_FIRST = ("issued_at", "id")


@dataclass(frozen=True)
class Seek:
    """A keyset condition: the rows strictly ``older`` (or newer) than ``cursor`` - a
    ``selectors.Cursor`` - in the ``(issued_at, id)`` order."""

    older: bool
    cursor: object


@dataclass(frozen=True)
class HistorySelection:
    """The issuances of team ``team_id`` matching ``filters`` (a ``selectors.HistoryFilters``)
    at ``now``, past the ``seeks``, in ``ordering`` (newest or oldest first)."""

    team_id: int
    filters: object
    now: datetime
    seeks: tuple[Seek, ...] = ()
    ordering: tuple[str, ...] = _NEWEST_FIRST

    def queryset(self) -> QuerySet:
        """The same issuances (without the seeks) as ``selectors.issuance_list_for_team``."""
        from portal.tokens import selectors  # which builds selections: imported when used

        return selectors.issuance_list_for_team(
            team=self.team_id, filters=self.filters, now=self.now
        )

    # --- What core.paging.page uses of a queryset ---------------------------------------------

    def filter(self, seek: Seek) -> HistorySelection:
        if not isinstance(seek, Seek):
            raise TypeError(f"HistorySelection is narrowed by a Seek, not {seek!r}")
        return replace(self, seeks=self.seeks + (seek,))

    def order_by(self, *fields: str) -> HistorySelection:
        if fields not in (_NEWEST_FIRST, _OLDEST_FIRST):
            raise ValueError(f"HistorySelection reads newest or oldest first, not {fields!r}")
        return replace(self, ordering=fields)

    def __getitem__(self, bounds: slice) -> list[TableRow]:
        if not isinstance(bounds, slice) or bounds.start or bounds.step or bounds.stop is None:
            raise TypeError("HistorySelection reads the first rows only: [:n]")
        where, params = self._where()
        direction = "DESC" if self.ordering == _NEWEST_FIRST else "ASC"
        sql = (
            f"SELECT {_select_list()} FROM {_joined_tables()} WHERE {where} "  # noqa: S608
            f"ORDER BY i.{_col('issued_at')} {direction}, i.{_col('id')} {direction} LIMIT %s"
        )
        return [_table_row(row) for row in fixed_sql.rows(sql, [*params, bounds.stop])]

    def exists(self) -> bool:
        where, params = self._where()
        sql = f"SELECT 1 FROM {fixed_sql.table(Issuance)} i WHERE {where} LIMIT 1"  # noqa: S608
        return fixed_sql.row(sql, params) is not None

    # --- The WHERE clause ---------------------------------------------------------------------

    def _where(self) -> tuple[str, list]:
        terms, params = [f"i.{_col('team')} = %s"], [_prep("team", self.team_id)]
        for term, values in _filter_terms(self.filters, self.now):
            terms.append(term)
            params.extend(values)
        for seek in self.seeks:
            term, values = _seek_term(seek)
            terms.append(term)
            params.extend(values)
        return " AND ".join(terms), params


def _col(name: str) -> str:
    return fixed_sql.column(Issuance, name)


def _prep(name: str, value):
    return Issuance._meta.get_field(name).get_db_prep_value(value, connection)


def _filter_terms(filters, now: datetime):
    """``(sql, params)`` for each condition of ``filters``, as ``issuance_list_for_team``
    applies them."""
    if filters.search:
        yield _search_term(filters.search)
    if filters.credential_id:
        yield f"i.{_col('credential')} = %s", [_prep("credential", filters.credential_id)]
    if filters.member_id:
        yield f"i.{_col('issued_by')} = %s", [filters.member_id]
    if filters.status:
        yield _status_term(filters.status, now)
    if filters.scope:
        yield _scope_term(filters.scope)
    start, end = day_range(filters.date_from, filters.date_to)
    if start is not None:
        yield f"i.{_col('issued_at')} >= %s", [_prep("issued_at", start)]
    if end is not None:
        yield f"i.{_col('issued_at')} < %s", [_prep("issued_at", end)]


def _pattern_term(name: str, lookup: str, text: str) -> tuple[str, str]:
    """The ORM's ``<name>__<lookup>=text`` for ``icontains`` or ``endswith``: the backend's cast
    of the column, its operator and the escaped pattern."""
    field = Issuance._meta.get_field(name)
    lhs = connection.ops.lookup_cast(lookup, field.get_internal_type()) % f"i.{_col(name)}"
    rhs = connection.operators[lookup] % "%s"
    escaped = connection.ops.prep_for_like_query(text)
    pattern = f"%{escaped}%" if lookup == "icontains" else f"%{escaped}"
    return f"{lhs} {rhs}", pattern


def _search_term(text: str) -> tuple[str, list]:
    """``selectors._search_q``: the name or note containing ``text`` (any case), or - for up to
    four characters, with or without a leading "…" - the token's last characters."""
    text = text.strip()
    alternatives, params = [], []
    for name in ("name", "note"):
        term, pattern = _pattern_term(name, "icontains", text)
        alternatives.append(term)
        params.append(pattern)
    tail = text.lstrip("….").strip()
    if 0 < len(tail) <= 4:
        term, pattern = _pattern_term("access_token_last4", "endswith", tail)
        alternatives.append(term)
        params.append(pattern)
    return f"({' OR '.join(alternatives)})", params


def _status_term(status: str, now: datetime) -> tuple[str, list]:
    """``selectors._status_q``: "expired" and "expiring soon" are active tokens past or near
    their expiry; "active" the others."""
    state, expires = f"i.{_col('status')} = %s", f"i.{_col('expires_at')}"
    active, at_now = Status.ACTIVE.value, _prep("expires_at", now)
    soon = _prep("expires_at", now + EXPIRING_SOON)
    if status == "expired":
        return f"{state} AND {expires} <= %s", [active, at_now]
    if status == "expiring_soon":
        return f"{state} AND {expires} > %s AND {expires} <= %s", [active, at_now, soon]
    if status == Status.ACTIVE:
        return f"{state} AND ({expires} IS NULL OR {expires} > %s)", [active, soon]
    return state, [status]


def _scope_term(scope: str) -> tuple[str, list]:
    """Lists holding ``scope``: jsonb containment on PostgreSQL (the GIN indexes answer it), the
    quoted token in the JSON text on SQLite - see ``selectors.issuance_list_for_team``."""
    requested, granted = f"i.{_col('requested_scopes')}", f"i.{_col('granted_scopes')}"
    if connection.vendor == "postgresql":
        held = json.dumps([scope])
        return f"({requested} @> %s::jsonb OR {granted} @> %s::jsonb)", [held, held]
    needle = f'"{scope}"'
    return (
        f"(INSTR(CAST({requested} AS TEXT), %s) > 0 OR INSTR(CAST({granted} AS TEXT), %s) > 0)",
        [needle, needle],
    )


def _seek_term(seek: Seek) -> tuple[str, list]:
    """``selectors._older_than`` / ``_newer_than``: the redundant bound on ``issued_at`` lets the
    database start its index scan at the cursor."""
    issued_at, pk = f"i.{_col('issued_at')}", f"i.{_col('id')}"
    at, key = _prep("issued_at", seek.cursor.issued_at), _prep("id", seek.cursor.id)
    bound, strict = ("<=", "<") if seek.older else (">=", ">")
    return (
        f"{issued_at} {bound} %s AND ({issued_at} {strict} %s OR "
        f"({issued_at} = %s AND {pk} {strict} %s))",
        [at, at, at, key],
    )


@functools.cache
def _select_list() -> str:
    """The row's columns: the issuance's own, the credential's name and archive time, the
    issuer's username and whether a ciphertext is held (1 or 0 on every database)."""
    own = ", ".join(f"i.{_col(name)}" for name in OWN_FIELDS)
    credential = ", ".join(f"c.{fixed_sql.column(Credential, n)}" for n in _CREDENTIAL_FIELDS)
    holds = (
        f"CASE WHEN i.{_col('access_token_encrypted')} <> '' "
        f"OR i.{_col('refresh_token_encrypted')} <> '' THEN 1 ELSE 0 END"
    )
    return f"{own}, {credential}, u.{fixed_sql.column(_user_model(), 'username')}, {holds}"


def _user_model():
    return Issuance._meta.get_field("issued_by").related_model


@functools.cache
def _joined_tables() -> str:
    """The issuance, its credential (always one) and its issuer (gone when the member was
    deleted: a left join)."""
    user = _user_model()
    return (
        f"{fixed_sql.table(Issuance)} i "
        f"INNER JOIN {fixed_sql.table(Credential)} c "
        f"ON c.{fixed_sql.column(Credential, 'id')} = i.{_col('credential')} "
        f"LEFT OUTER JOIN {fixed_sql.table(user)} u "
        f"ON u.{fixed_sql.column(user, 'id')} = i.{_col('issued_by')}"
    )


_OWN_COUNT = len(OWN_FIELDS)
_CREDENTIAL_END = _OWN_COUNT + len(_CREDENTIAL_FIELDS)


def _table_row(row) -> TableRow:
    own = fixed_sql.values(Issuance, OWN_FIELDS, row[:_OWN_COUNT])
    credential = fixed_sql.values(Credential, _CREDENTIAL_FIELDS, row[_OWN_COUNT:_CREDENTIAL_END])
    username, holds = row[_CREDENTIAL_END:]
    return TableRow(*own, *credential, username, bool(holds))
