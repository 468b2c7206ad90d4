"""The only writer of the audit trail.

``record()`` must run inside the transaction of the change it records: if it fails, the change
rolls back with it (fail closed). Appends are serialized - a PostgreSQL advisory transaction lock,
SQLite's immediate transactions - so concurrent writers never fork or gap the chain.
"""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from portal.audit.models import GENESIS_HASH, AuditEvent, Outcome
from portal.middleware import client_ip, current_request_id

# Any constant works; it only has to be the same for every writer.
_ADVISORY_LOCK_ID = 0x70_6F_72_74_61_6C  # "portal"


def canonical_json(event: AuditEvent) -> bytes:
    """The bytes the hash covers: every field but the hashes, sorted keys, UTC ISO-8601 time."""
    payload = {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "team_id": str(event.team_id) if event.team_id else None,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "details": event.details,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(prev_hash: str, event: AuditEvent) -> str:
    key = settings.PORTAL_AUDIT_KEY.encode()
    return hmac.new(key, prev_hash.encode() + canonical_json(event), hashlib.sha256).hexdigest()


def _printable(value: str, limit: int) -> str:
    """Text as stored: no NUL or other control characters (PostgreSQL rejects NUL), bounded."""
    return "".join(c for c in str(value) if c.isprintable())[:limit]


def _clean_details(value: Any) -> Any:
    if isinstance(value, dict):
        return {_printable(k, 100): _clean_details(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_details(v) for v in value]
    if isinstance(value, str):
        return _printable(value, 1000)
    return value


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_ID])
    # SQLite: the surrounding transaction began IMMEDIATE and already holds the write lock.


def record(
    *,
    action: str,
    outcome: str = Outcome.SUCCESS,
    actor=None,
    actor_label: str = "",
    team=None,
    target=None,
    target_type: str = "",
    target_id: str = "",
    details: dict[str, Any] | None = None,
    request=None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (one is opened if none is).

    ``details`` must never hold a secret: tokens appear only as fingerprints.
    ``target`` may be a model instance; its label and pk become target type and id.
    """
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        event = AuditEvent(
            seq=seq,
            at=datetime.now(UTC),
            actor=actor,
            actor_label=_printable(actor_label or (actor.get_username() if actor else ""), 150),
            team_id=getattr(team, "pk", team),
            action=action,
            target_type=_printable(target_type, 40),
            target_id=_printable(target_id, 64),
            outcome=outcome,
            ip=client_ip(request) if request is not None else "",
            user_agent=_printable(request.headers.get("User-Agent", "") if request else "", 255),
            request_id=getattr(request, "request_id", "") or current_request_id().strip("-"),
            details=_clean_details(details or {}),
            prev_hash=prev_hash,
        )
        # Round-trip details through JSON so the hash covers exactly what the database returns.
        event.details = json.loads(json.dumps(event.details, sort_keys=True))
        event.hash = compute_hash(prev_hash, event)
        event.save(force_insert=True)
    return event
