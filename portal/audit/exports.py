"""Audit rows as CSV and JSON Lines, produced lazily for a StreamingHttpResponse.

Rows are formatted from plain values (``selectors.event_export_batches``) a batch at a time, and
each batch leaves as one block of lines: no model instance per row, so a million events stream
in seconds in flat memory.
"""

import json
from collections.abc import Iterable, Iterator

from portal.audit.models import AuditEvent
from portal.core import csv as core_csv

COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "team_id",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "request_id",
    "details",
    "prev_hash",
    "hash",
)


def event_dict(event: AuditEvent) -> dict:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor": event.actor_label,
        "team_id": str(event.team_id) if event.team_id else None,
        "action": event.action,
        "outcome": event.outcome,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


# Details as json.dumps(details, ensure_ascii=False, sort_keys=True) writes them; one encoder.
_details_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True, check_circular=False).encode
_decode = json.JSONDecoder().decode
# The C string escaper json.dumps(ensure_ascii=False) itself uses.
_quote = json.encoder.encode_basestring


def _csv_rows(batch: list[tuple]) -> list[tuple]:
    return [
        (
            seq, at, actor_id, actor_label, team, action, outcome,
            target_type, target_id, ip, user_agent, request_id, _details_json(_decode(details)),
            prev_hash, hash_,
        )
        for (
            seq, at, actor_id, actor_label, team, action, outcome, target_type, target_id, ip,
            user_agent, request_id, details, prev_hash, hash_,
        ) in batch
    ]  # fmt: skip


def csv_lines(batches: Iterable[list[tuple]]) -> Iterator[str]:
    """The header line, then one block of CSV lines per batch of ``EXPORT_VALUES`` tuples."""
    return core_csv.csv_blocks(COLUMNS, map(_csv_rows, batches))


def jsonl_line(
    seq, at, actor_id, actor_label, team, action, outcome, target_type, target_id, ip,
    user_agent, request_id, details, prev_hash, hash_,
) -> str:  # fmt: skip
    """One event (``selectors.EXPORT_VALUES``: the time and team id as text, details as JSON
    text) as ``json.dumps(event_dict(event), ensure_ascii=False, sort_keys=True)`` writes it,
    and a newline, byte for byte (a test holds it to that); assembled by hand because an export
    writes it a million times."""
    return "".join(
        (
            '{"action": ', _quote(action),
            ', "actor": ', _quote(actor_label),
            ', "actor_id": ', "null" if actor_id is None else str(int(actor_id)),
            ', "at": ', _quote(at),
            ', "details": ', _details_json(_decode(details)),
            ', "hash": ', _quote(hash_),
            ', "ip": ', _quote(ip),
            ', "outcome": ', _quote(outcome),
            ', "prev_hash": ', _quote(prev_hash),
            ', "request_id": ', _quote(request_id),
            ', "seq": ', str(int(seq)),
            ', "target_id": ', _quote(target_id),
            ', "target_type": ', _quote(target_type),
            ', "team_id": ', "null" if team is None else _quote(team),
            ', "user_agent": ', _quote(user_agent),
            "}\n",
        )
    )  # fmt: skip


def jsonl_lines(batches: Iterable[list[tuple]]) -> Iterator[str]:
    """One block of JSON Lines per batch of ``EXPORT_VALUES`` tuples."""
    for batch in batches:
        yield "".join([jsonl_line(*row) for row in batch])


FORMATS = {
    "csv": ("text/csv; charset=utf-8", csv_lines),
    "jsonl": ("application/x-ndjson; charset=utf-8", jsonl_lines),
}
