"""Links to many objects of one kind, for list pages.

``reverse()`` walks the URL resolver on every call - tens of microseconds - and a list page
links each of its rows two or three times. ``url_for_id("tokens:detail")`` reverses the pattern
once, for a sample id, and returns a function that puts each row's id in its place.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.urls import reverse

# Stands for the id while reversing: a UUID no row has; its text is what a UUID converter
# produces, and UUIDs and integers need no quoting in a path.
_SAMPLE = uuid.UUID(int=0)


def url_for_id(viewname: str, sample=_SAMPLE) -> Callable[[object], str]:
    """``reverse(viewname, args=[id])`` as a function of ``id``, for a pattern whose only
    argument is an id (a UUID by default; pass ``sample=0`` for an integer id)."""
    prefix, found, suffix = reverse(viewname, args=[sample]).partition(str(sample))
    if not found or str(sample) in suffix:
        raise ValueError(f"{viewname}: the id does not appear exactly once in its URL")
    return lambda pk: f"{prefix}{pk}{suffix}"
