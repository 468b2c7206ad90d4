"""An event's technical fields - as stored, for the "Technical details" disclosure under its
sentence."""

from __future__ import annotations

import html
import json
from datetime import UTC

# ``json.dumps(value, ensure_ascii=False, sort_keys=True)`` without building an encoder per call.
_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def _detail_value(value) -> str:
    return value if isinstance(value, str) else _json(value)


def technical_fields(event) -> list[tuple[str, str]]:
    """The event as stored, as (label, value) text pairs."""
    rows = [
        ("Event", f"#{event.seq}"),
        ("Time (UTC)", event.at.astimezone(UTC).isoformat(timespec="seconds")),
        ("Action", event.action),
        ("Outcome", event.outcome),
    ]
    if event.actor_label or event.actor_id:
        rows.append(("Actor", f"{event.actor_label} (user id {event.actor_id or '—'})"))
    if event.target_type:
        rows.append(("Target", f"{event.target_type} {event.target_id}".strip()))
    if event.team_id:
        rows.append(("Team id", str(event.team_id)))
    if event.ip:
        rows.append(("Address", event.ip))
    if event.user_agent:
        rows.append(("Browser", event.user_agent))
    if event.request_id:
        rows.append(("Request id", event.request_id))
    details = event.details if isinstance(event.details, dict) else {"details": event.details}
    for key in sorted(details):
        rows.append((str(key), _detail_value(details[key])))
    rows.append(("Hash", event.hash))
    return rows


# The labels ``technical_fields`` gives the stored columns: fixed text with nothing to escape.
_FIXED_LABELS = frozenset(
    ("Event", "Time (UTC)", "Action", "Outcome", "Actor", "Target", "Team id", "Address")
    + ("Browser", "Request id", "Hash")
)


def technical_html(event) -> str:
    """``technical_fields`` as the ``<dt>``/``<dd>`` pairs of a ``<dl>``. Every value and every
    detail's key is escaped as text (they are whatever a browser or a detail carried); escaping
    a fixed label would change nothing, so it is skipped."""
    escape = html.escape
    return "".join(
        f"<dt>{label if label in _FIXED_LABELS else escape(label)}</dt><dd>{escape(value)}</dd>"
        for label, value in technical_fields(event)
    )
