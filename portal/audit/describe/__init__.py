"""Audit events in words, for the audit pages.

``describe(events)`` turns a page of events into rows: a sentence saying what happened - "alice
generated token …0Vmw “CI deploy” with Orders API — default, read — expires 14:05" - with names
instead of ids and links to what still exists, the technical fields one click away, and the
row's whole HTML. By topic:

- ``sentences``: one event in words (``sentence``, ``plain``);
- ``technical``: the event as stored (``technical_fields``);
- ``mentions``: the tokens and teams a page names, one query each (``token_refs``);
- ``rows``: a page of events as table rows (``describe``, ``rows_html``);
- ``vocabulary``: failure reasons, grant names, the filters' choices (``action_choices``).
"""

from portal.audit.describe.mentions import TokenRef, token_refs
from portal.audit.describe.rows import EventRow, describe, rows_html
from portal.audit.describe.sentences import Context, plain, sentence
from portal.audit.describe.technical import technical_fields
from portal.audit.describe.vocabulary import ACTION_GROUPS, TARGET_KINDS, action_choices

__all__ = [
    "ACTION_GROUPS",
    "TARGET_KINDS",
    "Context",
    "EventRow",
    "TokenRef",
    "action_choices",
    "describe",
    "plain",
    "rows_html",
    "sentence",
    "technical_fields",
    "token_refs",
]
