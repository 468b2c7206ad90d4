"""The hash chain itself: canonical bytes of an event, the HMAC that links it to the one before,
and the MAC of a checkpoint line. Writers (``services.record``), readers (``selectors``) and the
verifier (``verify``) all take these from here, so there is one definition of what is hashed.

``hash = HMAC-SHA256(audit key, prev_hash ‖ canonical JSON)``; the audit key is separate from the
database and from the encryption keys, so whoever can write the table cannot forge a chain.
"""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings


class AuditWriteError(Exception):
    """The audit event could not be written, so the action it records must not happen.

    ``portal.audit.middleware.AuditFailureMiddleware`` turns it into a 503 page that says the
    action was not performed.
    """


# The C string escaper json.dumps(ensure_ascii=False) itself uses.
_quote = json.encoder.encode_basestring


# One encoder for every event: json.dumps would build a new one per call.
_dump_details = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
).encode


def _number(value) -> str:
    return "null" if value is None else str(int(value))


def canonical_bytes(
    seq, at_iso, actor_id, actor_label, team_str, action, target_type, target_id, outcome, ip,
    user_agent, request_id, details,
) -> bytes:  # fmt: skip
    """Canonical JSON of one event, ``at`` already as UTC ISO-8601 text and the team as text.

    Byte for byte ``json.dumps(<the fields as a dict>, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` (a test holds it to that), assembled by hand because the verifier runs
    it a million times.
    """
    # One join of a tuple: chained ``+`` would build and copy a dozen intermediate strings.
    return "".join(
        (
            '{"action":', _quote(action),
            ',"actor_id":', _number(actor_id),
            ',"actor_label":', _quote(actor_label),
            ',"at":', _quote(at_iso),
            ',"details":', _dump_details(details),
            ',"ip":', _quote(ip),
            ',"outcome":', _quote(outcome),
            ',"request_id":', _quote(request_id),
            ',"seq":', _number(seq),
            ',"target_id":', _quote(target_id),
            ',"target_type":', _quote(target_type),
            ',"team_id":', "null" if team_str is None else _quote(team_str),
            ',"user_agent":', _quote(user_agent),
            "}",
        )
    ).encode()  # fmt: skip


def _payload(
    seq, at, actor_id, actor_label, team_id, action, target_type, target_id, outcome, ip,
    user_agent, request_id, details,
) -> bytes:  # fmt: skip
    """Canonical JSON of one event: sorted keys, compact, UTC ISO-8601 time with microseconds."""
    return canonical_bytes(
        seq,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        actor_id,
        actor_label,
        str(team_id) if team_id else None,
        action,
        target_type,
        target_id,
        outcome,
        ip,
        user_agent,
        request_id,
        details,
    )


# The columns ``_payload`` takes, in its argument order; the verifier reads exactly these.
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "team_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "ip",
    "user_agent",
    "request_id",
    "details",
)


def canonical_json(event) -> bytes:
    """The bytes the hash covers: every field but the hashes."""
    return _payload(*(getattr(event, name) for name in HASHED_FIELDS))


def key() -> bytes:
    """The audit key; AuditWriteError when it is not configured."""
    key = settings.PORTAL_AUDIT_KEY
    if not key:
        raise AuditWriteError("PORTAL_AUDIT_KEY is not set; the audit trail cannot be written.")
    return key.encode()


def keyed_mac():
    """HMAC-SHA256 under the audit key with nothing hashed yet. ``copy()`` of it per event and
    ``update(prev_hash)``, ``update(canonical bytes)`` give ``compute_hash`` without setting the
    key up again for every event (the verifier's fast path)."""
    return hmac.new(key(), digestmod=hashlib.sha256)


def compute_hash(prev_hash: str, event) -> str:
    return hmac.new(key(), prev_hash.encode() + canonical_json(event), hashlib.sha256).hexdigest()


def checkpoint_hmac(seq: int, hash_: str) -> str:
    """The MAC of a checkpoint line ``seq hash``: forging one needs the audit key."""
    return hmac.new(key(), f"{seq} {hash_}".encode(), hashlib.sha256).hexdigest()
