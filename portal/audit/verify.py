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
    count: int
    head_seq: int
    head_hash: str
    checkpoints: int = 0


def read_checkpoints(path: Path) -> dict[int, str]:
    """``seq -> hash`` from a checkpoint file, each line's MAC checked with the audit key."""
    checkpoints: dict[int, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[0].isdigit():
            raise CheckpointError(f"line {number} is not 'seq hash hmac'")
        seq, hash_, mac = int(parts[0]), parts[1], parts[2]
        if not hmac.compare_digest(checkpoint_hmac(seq, hash_), mac):
            raise CheckpointError(f"line {number} (seq {seq}) is forged: its MAC does not match")
        if checkpoints.get(seq, hash_) != hash_:
            raise CheckpointError(f"line {number} contradicts an earlier line for seq {seq}")
        checkpoints[seq] = hash_
    return checkpoints


def _raw_chain(*, chunk: int):
    """(seq, at_iso, actor_id, actor_label, team_str, action, target_type, target_id, outcome,
    ip, user_agent, request_id, details, prev_hash, hash) rows in seq order, keyset batches.

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
    last = 0
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


def verify_chain(*, checkpoints: dict[int, str] | None = None, chunk: int = 5000) -> ChainSummary:
    """Walk the whole chain; raise ChainBroken at the first altered, missing or reordered event,
    or at the first checkpointed event the table no longer holds (truncation)."""
    checkpoints = checkpoints or {}
    key = audit_key()  # raises AuditWriteError when the key is not configured
    digest = hmac.digest
    expected, prev = 1, GENESIS_HASH
    for row in _raw_chain(chunk=chunk):
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
    count = expected - 1
    beyond = [seq for seq in checkpoints if seq > count]
    if beyond:
        raise ChainBroken(
            min(beyond), f"checkpointed event missing: the log was truncated after seq {count}"
        )
    return ChainSummary(count=count, head_seq=count, head_hash=prev, checkpoints=len(checkpoints))


def checkpoint_append(path: Path) -> str:
    """Append ``seq hash hmac`` for the current head to ``path``; returns the line."""
    head = selectors.chain_head()
    if head is None:
        raise CheckpointError("the audit trail is empty: nothing to checkpoint")
    seq, hash_ = head
    line = f"{seq} {hash_} {checkpoint_hmac(seq, hash_)}"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return line
