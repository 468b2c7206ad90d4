"""Keyset ("seek") paging, newest first, for every long list of the portal.

A page is one range scan of an index from its cursor on, so page 500 costs what page 1 costs, and
nothing counts the table. Links carry the position as ``?before=`` (the next older page) or
``?after=`` (the next newer one); exports walk the same order in batches, in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

POSITION_PARAMS = ("before", "after")


def _same(cursor):
    return cursor


@dataclass(frozen=True)
class Keyset:
    """A newest-first order and how to seek in it.

    ``position(row)`` is a row's cursor; ``older_than(c)`` and ``newer_than(c)`` select the rows
    strictly older / newer than cursor ``c``; ``newest_first`` and ``oldest_first`` are the
    ``order_by`` arguments. ``reopen(c)`` is the ``after`` cursor of the link out of a page past
    the end (``before=c`` found nothing): by default ``c`` itself.
    """

    newest_first: tuple[str, ...]
    oldest_first: tuple[str, ...]
    position: Callable[[Any], Any]
    older_than: Callable[[Any], Q]
    newer_than: Callable[[Any], Q]
    reopen: Callable[[Any], Any] = _same


@dataclass
class Page:
    items: list = field(default_factory=list)
    older: Any = None  # link with ?before=<older> when set
    newer: Any = None  # link with ?after=<newer> when set


def page(qs: QuerySet, keyset: Keyset, *, before=None, after=None, size: int) -> Page:
    """One page, newest first: just older than ``before``, just newer than ``after``, or the
    newest. At most three small indexed queries, wherever the page is."""
    if after is not None and before is None:
        rows = list(qs.filter(keyset.newer_than(after)).order_by(*keyset.oldest_first)[: size + 1])
        more_newer = len(rows) > size
        items = list(reversed(rows[:size]))
        if not items:  # nothing newer any more: show the newest page, not an empty one
            return page(qs, keyset, size=size)
        more_older = qs.filter(keyset.older_than(keyset.position(items[-1]))).exists()
    else:
        page_qs = qs if before is None else qs.filter(keyset.older_than(before))
        rows = list(page_qs.order_by(*keyset.newest_first)[: size + 1])
        more_older = len(rows) > size
        items = rows[:size]
        if before is None:
            more_newer = False
        elif items:
            more_newer = qs.filter(keyset.newer_than(keyset.position(items[0]))).exists()
        else:  # past the end (rows vanished, or a link made by hand)
            back = keyset.reopen(before)
            more_newer = qs.filter(keyset.newer_than(back)).exists()
            return Page(items=[], newer=back if more_newer else None)
    return Page(
        items=items,
        older=keyset.position(items[-1]) if more_older and items else None,
        newer=keyset.position(items[0]) if more_newer and items else None,
    )


def iterate(qs: QuerySet, keyset: Keyset, *, chunk: int) -> Iterator:
    """Every row of ``qs``, newest first, in keyset batches of ``chunk`` (bounded memory at any
    size, and no long-running cursor held open between batches)."""
    for batch in batches(qs, keyset, chunk=chunk):
        yield from batch


def batches(
    qs: QuerySet, keyset: Keyset, *, chunk: int, position: Callable[[Any], Any] | None = None
) -> Iterator[list]:
    """The rows of ``qs``, newest first, as lists of at most ``chunk``: one indexed range query
    each. ``position(row)`` is a row's cursor (default ``keyset.position``), so ``qs`` may be a
    ``values_list()`` of plain tuples that a caller formats without building model instances."""
    position = position or keyset.position
    cursor = None
    while True:
        batch_qs = qs if cursor is None else qs.filter(keyset.older_than(cursor))
        batch = list(batch_qs.order_by(*keyset.newest_first)[:chunk])
        if batch:
            yield batch
        if len(batch) < chunk:
            return
        cursor = position(batch[-1])


def page_query(request: HttpRequest, **extra) -> str:
    """The current query string without the page position, plus ``extra``: for the links to the
    older and newer pages and to the export, which keep the reader's filters."""
    params = request.GET.copy()
    for key in POSITION_PARAMS:
        params.pop(key, None)
    for key, value in extra.items():
        params[key] = value
    return params.urlencode()
