"""Which events a list shows, read as fixed SQL.

A page of the audit log is one indexed range query (and one "is there a newer page?" probe), but
building it as a queryset - cloning it per filter, compiling it, then turning 50 rows into model
instances - cost the portal more CPU than the rest of the view. ``EventSelection`` holds the
same filters as plain column conditions and does the few things ``core.paging.page`` asks of a
queryset - ``filter(Q(seq__lt=…))``, ``order_by("-seq")``, a slice, ``exists()`` - as one SELECT
of fixed text each, returning ``PageEvent`` tuples (the fields the pages show, under the model's
attribute names). ``queryset()`` is the same selection for everything else (exports, the API, the
benchmarks' COUNT + OFFSET baseline).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from portal.audit.models import AuditEvent
from portal.core import fixed_sql

# What a page reads of each event: what its sentence, technical fields and links need.
PAGE_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "team_id",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "request_id",
    "details",
    "hash",
)
PageEvent = namedtuple("PageEvent", PAGE_FIELDS)

_OPERATORS = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class EventSelection:
    """Events matching every condition: ``(field, lookup, value)``, a field of ``AuditEvent``
    by name or attname and a lookup of ``_OPERATORS`` (as in ``filter(seq__lt=5)``). ``nothing``
    selects no event at all."""

    conditions: tuple[tuple[str, str, Any], ...] = ()
    nothing: bool = False
    ordering: tuple[str, ...] = ()

    def queryset(self) -> QuerySet:
        """The same events as a queryset of ``AuditEvent`` instances."""
        if self.nothing:
            return AuditEvent.objects.none()
        qs = AuditEvent.objects.filter(
            *(Q(**{f"{name}__{lookup}": value}) for name, lookup, value in self.conditions)
        )
        return qs.order_by(*self.ordering) if self.ordering else qs

    def where(self, *conditions: tuple[str, str, Any]) -> EventSelection:
        return replace(self, conditions=self.conditions + conditions)

    # --- What core.paging.page uses of a queryset ---------------------------------------------

    def filter(self, q: Q) -> EventSelection:
        """Only ``Q(field__lookup=value, …)`` - the conditions a keyset order seeks with."""
        if q.connector != Q.AND or q.negated:
            raise TypeError(f"EventSelection takes plain AND conditions, not {q!r}")
        added = []
        for child in q.children:
            if not isinstance(child, tuple):
                raise TypeError(f"EventSelection takes plain AND conditions, not {q!r}")
            name, _, lookup = child[0].partition("__")
            added.append((name, lookup or "exact", child[1]))
        return self.where(*added)

    def order_by(self, *fields: str) -> EventSelection:
        return replace(self, ordering=fields)

    def __getitem__(self, bounds: slice) -> list[PageEvent]:
        if not isinstance(bounds, slice) or bounds.start or bounds.step or bounds.stop is None:
            raise TypeError("EventSelection reads the first rows only: [:n]")
        if self.nothing:
            return []
        sql, params = self._sql(fixed_sql.selected_columns(AuditEvent, PAGE_FIELDS))
        order = ", ".join(_order_term(field) for field in self.ordering)
        if order:
            sql += f" ORDER BY {order}"
        rows = fixed_sql.rows(f"{sql} LIMIT %s", [*params, bounds.stop])
        return [PageEvent(*fixed_sql.values(AuditEvent, PAGE_FIELDS, row)) for row in rows]

    def exists(self) -> bool:
        if self.nothing:
            return False
        sql, params = self._sql("1")
        return fixed_sql.row(f"{sql} LIMIT 1", params) is not None

    def _sql(self, select: str) -> tuple[str, list]:
        terms, params = [], []
        for name, lookup, value in self.conditions:
            if value is None or lookup not in _OPERATORS:
                raise ValueError(f"EventSelection cannot compare {name}__{lookup} with {value!r}")
            terms.append(f"{fixed_sql.column(AuditEvent, name)} {_OPERATORS[lookup]} %s")
            field = AuditEvent._meta.get_field(name)
            params.append(field.get_db_prep_value(value, connection))
        where = f" WHERE {' AND '.join(terms)}" if terms else ""
        return f"SELECT {select} FROM {fixed_sql.table(AuditEvent)}{where}", params  # noqa: S608


def _order_term(field: str) -> str:
    column = fixed_sql.column(AuditEvent, field.removeprefix("-"))
    return f"{column} DESC" if field.startswith("-") else f"{column} ASC"
