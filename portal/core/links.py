"""Links to many objects of one kind, for list pages.

``reverse()`` walks the URL resolver on every call - tens of microseconds - and a list page
links each of its rows once or more. ``url_for_id("tokens:detail")`` reverses the pattern once,
for a sample id, and returns a function that puts each row's id in its place; ``id_url`` keeps
those functions for the life of the process (per URLconf and script prefix). ``plain_url`` does
the same for pages without arguments, and templates use it as ``{% link "dashboard" %}``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# Stands for the id while reversing: a UUID no row has; its text is what a UUID converter
# produces, and UUIDs and integers need no quoting in a path.
_SAMPLE = uuid.UUID(int=0)


def url_for_id(viewname: str, sample=_SAMPLE) -> Callable[[object], str]:
    """``reverse(viewname, args=[id])`` as a function of ``id``, for a pattern whose only
    argument is an id (a UUID by default; pass ``sample=0`` for an integer id). The function
    does not check its argument: give it ids of the sample's kind."""
    prefix, found, suffix = reverse(viewname, args=[sample]).partition(str(sample))
    if not found or str(sample) in suffix:
        raise ValueError(f"{viewname}: the id does not appear exactly once in its URL")
    return lambda pk: f"{prefix}{pk}{suffix}"


@functools.lru_cache(maxsize=256)
def _uuid_link(viewname: str, urlconf: str, script_prefix: str) -> Callable[[object], str]:
    return url_for_id(viewname)


@functools.lru_cache(maxsize=256)
def _plain_url(viewname: str, urlconf: str, script_prefix: str) -> str:
    return reverse(viewname)


def plain_url(viewname: str) -> str:
    """``reverse(viewname)`` for a pattern without arguments, reversed once per process (per
    URLconf and script prefix): the page frame alone links a dozen such pages."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return _plain_url(viewname, str(urlconf), get_script_prefix())


def id_url(viewname: str, value) -> str:
    """``reverse(viewname, args=[value])`` for a pattern taking one UUID. ``value`` is checked
    as ``reverse()`` would check it: anything but a UUID raises ValueError."""
    pk = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    return _uuid_link(viewname, str(urlconf), get_script_prefix())(pk)
