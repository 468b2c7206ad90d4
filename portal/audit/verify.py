"""Checking the chain: every hash recomputed, seq contiguous, checkpoints matched.

Streams the table in keyset batches, so memory stays flat at any size.
"""

import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from django.db import connection

from portal.audit import selectors
from portal.audit.chain import canonical_bytes, checkpoint_hmac
from portal.audit.chain import key as audit_key
from portal.audit.models import GENESIS_HASH, AuditEvent

_N = len(selectors.CHAIN_FIELDS) - 2  # hashed values come first, then prev_hash and hash


class ChainBroken(Exception):
    """The first problem found; ``seq`` names the first event that cannot be trusted."""

    def __init__(self, seq: int, reason: str):
        super().__init__(f"seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class CheckpointError(Exception):
    """A checkpoint file that cannot be trusted (malformed or forged line)."""


@dataclass
class ChainSummary:
    count: int  # events verified (after start_seq)
    head_seq: int
    head_hash: str
    checkpoints: int = 0  # checkpoints matched
    start_seq: int = 0  # events up to this seq were trusted, not verified
    start_trusted: str = "genesis"


def checkpoint_line(seq: int, hash_: str) -> str:
    """``seq hash hmac``: the line a checkpoint file holds."""
    return f"{seq} {hash_} {checkpoint_hmac(seq, hash_)}"


def checkpoint_json(seq: int, hash_: str) -> str:
    """The same checkpoint as one JSON object, for a log system (``audit_checkpoint --json``)."""
    return json.dumps(
        {"event": CHECKPOINT_EVENT, "seq": seq, "hash": hash_, "hmac": checkpoint_hmac(seq, hash_)}
    )


CHECKPOINT_EVENT = "audit.checkpoint"


def _checkpoint_parts(line: str) -> tuple | None:
    if line.startswith("{"):
        try:
            data = json.loads(line)
            parts = (data["seq"], data["hash"], data["hmac"])
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(parts[0], int) or not all(isinstance(p, str) for p in parts[1:]):
            return None
        return parts
    parts = line.split()
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1], parts[2]


def read_checkpoints(path: Path) -> dict[int, str]:
    """``seq -> hash`` from a checkpoint file, each line's MAC checked with the audit key.

    A line is ``seq hash hmac`` (what ``audit_checkpoint FILE`` appends) or the JSON object
    ``audit_checkpoint --json`` prints, so lines collected from a log system verify as well."""
    checkpoints: dict[int, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = _checkpoint_parts(line)
        if parts is None:
            raise CheckpointError(f"line {number} is not 'seq hash hmac' or a checkpoint object")
        seq, hash_, mac = parts
        if not hmac.compare_digest(checkpoint_hmac(seq, hash_), mac):
            raise CheckpointError(f"line {number} (seq {seq}) is forged: its MAC does not match")
        if checkpoints.get(seq, hash_) != hash_:
            raise CheckpointError(f"line {number} contradicts an earlier line for seq {seq}")
        checkpoints[seq] = hash_
    return checkpoints


def _raw_chain(*, chunk: int, after: int = 0):
    """(seq, at_iso, actor_id, actor_label, team_str, action, target_type, target_id, outcome,
    ip, user_agent, request_id, details, prev_hash, hash) rows with seq > ``after`` in seq order,
    keyset batches.

    Raw SQL with hand-made conversions: the ORM's per-value converters would cost more than the
    hashing itself at a million rows. PostgreSQL formats time and team id as text itself.
    """
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    quoted = [
        connection.ops.quote_name(AuditEvent._meta.get_field(name).column)
        for name in selectors.CHAIN_FIELDS
    ]
    vendor = connection.vendor
    if vendor == "postgresql":
        quoted[1] = (
            f"to_char({quoted[1]} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
        )
        quoted[4] = f"{quoted[4]}::text"
        quoted[12] = f"{quoted[12]}::text"
    elif vendor == "sqlite":
        # As text: SQLite's timestamp converter would build a datetime only to print it again.
        quoted[1] = f"CAST({quoted[1]} AS TEXT)"
    columns = ", ".join(quoted)
    sql = f"SELECT {columns} FROM {table} WHERE seq > %s ORDER BY seq LIMIT %s"  # noqa: S608
    loads = json.JSONDecoder().decode
    last = after
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, chunk])
            batch = cursor.fetchall()
            if vendor == "postgresql":
                for row in batch:
                    yield (*row[:12], loads(row[12]), row[13], row[14])
            else:
                for row in batch:
                    yield _normalized(row, loads)
            if len(batch) < chunk:
                return
            last = batch[-1][0]


def _normalized(row, loads) -> list:
    row = list(row)
    at, team, details = row[1], row[4], row[12]
    if isinstance(at, str):  # SQLite: naive UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]"
        date_part, _, micro = at.partition(".")
        row[1] = f"{date_part.replace(' ', 'T', 1)}.{micro.ljust(6, '0')}+00:00"
    elif at.tzinfo is None:  # naive values from the database are UTC
        row[1] = at.isoformat(timespec="microseconds") + "+00:00"
    else:
        row[1] = at.astimezone(UTC).isoformat(timespec="microseconds")
    if team is not None:
        if isinstance(team, str) and len(team) == 32:  # SQLite keeps a UUID as 32 hex digits
            team = f"{team[:8]}-{team[8:12]}-{team[12:16]}-{team[16:20]}-{team[20:]}"
        row[4] = str(team)
    if isinstance(details, str | bytes):
        row[12] = loads(details)
    return row


def _stored_hash(seq: int) -> str | None:
    return AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()


def _start(since: int | None, checkpoints: dict[int, str]) -> tuple[int, str, str]:
    """(seq, hash, how it is trusted) of the event verification starts after."""
    if not since:
        return 0, GENESIS_HASH, "genesis"
    stored = _stored_hash(since)
    if since in checkpoints:
        if stored is None:
            head = selectors.chain_head()
            end = head[0] if head else 0
            if end < since:
                raise ChainBroken(
                    end + 1, f"{_missing(end, since)}: a checkpoint vouches for seq {since}"
                )
            raise ChainBroken(since, "checkpointed event missing")
        if stored != checkpoints[since]:
            raise ChainBroken(since, "hash differs from the checkpoint")
        return since, stored, "checkpoint"
    if stored is None:
        raise ChainBroken(since, "event missing: no such seq to start from")
    return since, stored, "stored hash, not checked against a checkpoint"


def _missing(end: int, newest: int) -> str:
    """The events a truncated log lost, as text: the trail ends at ``end``, ``newest`` existed."""
    first = end + 1
    span = f"event {first}" if first == newest else f"events {first}-{newest}"
    return f"{span} missing (the log ends at seq {end})"


def verify_chain(
    *, checkpoints: dict[int, str] | None = None, chunk: int = 5000, since: int | None = None
) -> ChainSummary:
    """Walk the chain; raise ChainBroken at the first altered, missing or reordered event, or at
    the first checkpointed event the table no longer holds (truncation).

    With ``since`` only events after that seq are recomputed, starting from its hash - compared
    with the checkpoint for that seq when there is one - so the cost grows with the new events
    only; events up to ``since`` are trusted, not checked."""
    checkpoints = checkpoints or {}
    key = audit_key()  # raises AuditWriteError when the key is not configured
    digest = hmac.digest
    start, prev, trusted = _start(since, checkpoints)
    expected = start + 1
    for row in _raw_chain(chunk=chunk, after=start):
        seq, prev_hash, stored = row[0], row[_N], row[_N + 1]
        if seq != expected:
            raise ChainBroken(expected, f"event missing (the next event present is seq {seq})")
        if prev_hash != prev:
            raise ChainBroken(seq, "prev_hash does not link to the previous event")
        if digest(key, prev_hash.encode() + canonical_bytes(*row[:_N]), "sha256").hex() != stored:
            raise ChainBroken(seq, "hash mismatch: the event was altered or moved")
        if seq in checkpoints and checkpoints[seq] != stored:
            raise ChainBroken(seq, "hash differs from the checkpoint")
        prev = stored
        expected += 1
    head = expected - 1
    newest = max(checkpoints, default=0)
    if newest > head:
        raise ChainBroken(
            head + 1, f"{_missing(head, newest)}: a checkpoint vouches for seq {newest}"
        )
    return ChainSummary(
        count=head - start,
        head_seq=head,
        head_hash=prev,
        checkpoints=sum(1 for seq in checkpoints if seq >= start),
        start_seq=start,
        start_trusted=trusted,
    )


def checkpoint_head() -> tuple[int, str]:
    """(seq, hash) of the chain's head; CheckpointError for an empty trail."""
    head = selectors.chain_head()
    if head is None:
        raise CheckpointError("the audit trail is empty: nothing to checkpoint")
    return head


def checkpoint_append(path: Path, head: tuple[int, str] | None = None) -> str:
    """Append ``seq hash hmac`` for ``head`` (default: the current head) to ``path``; returns
    the line."""
    line = checkpoint_line(*(head or checkpoint_head()))
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return line
