"""Audit rows as CSV and JSON Lines, produced lazily for a StreamingHttpResponse."""

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


def _csv_row(event: AuditEvent) -> list:
    row = event_dict(event)
    row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
    return [row[c] for c in COLUMNS]


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    return core_csv.csv_lines(COLUMNS, map(_csv_row, events))


def jsonl_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    for event in events:
        yield json.dumps(event_dict(event), ensure_ascii=False, sort_keys=True) + "\n"


FORMATS = {
    "csv": ("text/csv; charset=utf-8", csv_lines),
    "jsonl": ("application/x-ndjson; charset=utf-8", jsonl_lines),
}
