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


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)
# The C encoder ``_CANONICAL.encode`` itself builds on every call, built once: the same code and
# output for every value, at half the cost (the verifier dumps a million details).
_encode = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, _CANONICAL.default, _quote, None, ":", ",", True, False, True
)


def _dump_details(value) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``."""
    return "".join(_encode(value, 0)) if _encode else _CANONICAL.encode(value)


# The C scanner ``json.loads`` runs, without its Python wrapper (two regex matches for the
# whitespace around the value, which JSON text from the database does not have).
_decode = json.JSONDecoder().decode
_scan = json.scanner.make_scanner(json.JSONDecoder())


def canonical_details(text: str) -> str:
    """``_dump_details(json.loads(text))``: the canonical form of details stored as JSON text
    (PostgreSQL's jsonb text orders keys and spaces items its own way, so it is re-encoded)."""
    if text == "{}":  # the commonest details; its canonical form is itself
        return text
    try:
        value, end = _scan(text, 0)
    except (StopIteration, ValueError):
        end = -1
    if end != len(text):  # surrounding whitespace or not JSON: json.loads decides
        value = _decode(text)
    return _dump_details(value)


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
    return hashed_text(
        "", seq, at_iso, actor_id, actor_label, team_str, action, target_type, target_id,
        outcome, ip, user_agent, request_id, _dump_details(details),
    ).encode()  # fmt: skip


def hashed_text(
    prev_hash, seq, at_iso, actor_id, actor_label, team_str, action, target_type, target_id,
    outcome, ip, user_agent, request_id, details_json,
) -> str:  # fmt: skip
    """``prev_hash`` followed by the canonical JSON of the event (``details_json``: its details
    already as canonical JSON text): the text whose UTF-8 bytes the event's HMAC covers."""
    # One join of a tuple: chained ``+`` would build and copy a dozen intermediate strings.
    return "".join(
        (
            prev_hash,
            '{"action":', _quote(action),
            ',"actor_id":', _number(actor_id),
            ',"actor_label":', _quote(actor_label),
            ',"at":', _quote(at_iso),
            ',"details":', details_json,
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
    )  # fmt: skip


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


# HMAC's inner and outer key pads (RFC 2104): the key's bytes XOR 0x36 and XOR 0x5C.
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


def event_hasher():
    """``hexdigest(message)`` = ``hmac.new(audit key, message, sha256).hexdigest()``, for the
    verifier's million messages: HMAC spelt out over hashlib, so the two SHA-256 states that
    absorb the padded key are made once and copied per event (copying an ``hmac`` object runs
    Python code and costs nearly twice as much; ``hmac.digest`` sets the key up every time)."""
    block = key()
    if len(block) > hashlib.sha256().block_size:
        block = hashlib.sha256(block).digest()
    block = block.ljust(hashlib.sha256().block_size, b"\0")
    inner_start = hashlib.sha256(block.translate(_INNER_PAD))
    outer_start = hashlib.sha256(block.translate(_OUTER_PAD))

    def hexdigest(message: bytes) -> str:
        inner = inner_start.copy()
        inner.update(message)
        outer = outer_start.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    return hexdigest


def compute_hash(prev_hash: str, event) -> str:
    return hmac.new(key(), prev_hash.encode() + canonical_json(event), hashlib.sha256).hexdigest()


def checkpoint_hmac(seq: int, hash_: str) -> str:
    """The MAC of a checkpoint line ``seq hash``: forging one needs the audit key."""
    return hmac.new(key(), f"{seq} {hash_}".encode(), hashlib.sha256).hexdigest()
