"""Checking the chain: every hash recomputed, seq contiguous, checkpoints matched.

Streams the table in keyset batches, so memory stays flat at any size; a long chain can be
walked in consecutive seq ranges by several processes, linked together here in seq order.
"""

import contextlib
import hmac
import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from django.db import connection, connections

from portal.audit import selectors
from portal.audit.chain import canonical_details, checkpoint_hmac, event_hasher, hashed_text
from portal.audit.chain import key as audit_key
from portal.audit.models import GENESIS_HASH, AuditEvent


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


def _select(vendor: str, *, bounded: bool) -> str:
    """The chain's columns (``selectors.CHAIN_FIELDS``) for ``after < seq [<= until]``, in seq
    order, one keyset batch at a time.

    Raw SQL with hand-made conversions: the ORM's per-value converters would cost more than the
    hashing itself at a million rows. PostgreSQL formats time and team id as text itself; details
    come as JSON text on both databases (decoded by the walk)."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    quoted = [
        connection.ops.quote_name(AuditEvent._meta.get_field(name).column)
        for name in selectors.CHAIN_FIELDS
    ]
    if vendor == "postgresql":
        quoted[1] = (
            f"to_char({quoted[1]} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
        )
        quoted[4] = f"{quoted[4]}::text"
        quoted[12] = f"{quoted[12]}::text"
    elif vendor == "sqlite":
        # As text: SQLite's timestamp converter would build a datetime only to print it again.
        quoted[1] = f"CAST({quoted[1]} AS TEXT)"
    upper = " AND seq <= %s" if bounded else ""
    columns = ", ".join(quoted)
    return f"SELECT {columns} FROM {table} WHERE seq > %s{upper} ORDER BY seq LIMIT %s"  # noqa: S608


def _batches(*, after: int, until: int | None, chunk: int) -> Iterator[Iterable]:
    """Batches of (seq, at_iso, actor_id, actor_label, team_str, action, target_type, target_id,
    outcome, ip, user_agent, request_id, details as JSON text, prev_hash, hash) rows with
    ``after < seq <= until`` (no upper bound when ``until`` is None), in seq order."""
    vendor = connection.vendor
    sql = _select(vendor, bounded=until is not None)
    bound = [] if until is None else [until]
    last = after
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, *bound, chunk])
            batch = cursor.fetchall()
            if batch:
                # Normalized row by row as the walk reaches it, while the row is still hot.
                yield batch if vendor == "postgresql" else map(_normalized, batch)
            if len(batch) < chunk:
                return
            last = batch[-1][0]


def _normalized(row) -> list:
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
    if isinstance(details, bytes):
        row[12] = details.decode()
    return row


@dataclass
class _Segment:
    """What walking one seq range found. The range's first event is not linked to anything
    before it here (``first_seq`` and ``first_prev`` are for the caller to link); every later one
    is: seq contiguous, ``prev_hash`` the hash before. ``broken`` is the first problem found
    inside the range, (seq, reason); the walk stops there."""

    first_seq: int | None = None
    first_prev: str = ""
    last_seq: int = 0
    last_hash: str = ""
    broken: tuple[int, str] | None = None


def _walk(*, after: int, until: int | None, checkpoints: dict[int, str], chunk: int) -> _Segment:
    """Recompute the hash of every event with ``after < seq <= until``, in seq order.

    Each hash is HMAC(audit key, the event's own prev_hash ‖ canonical bytes), compared with the
    stored one. Per event: one text built from the row as it comes (``hashed_text``), one HMAC
    from key states made once (``event_hasher``)."""
    segment = _Segment()
    hexdigest = event_hasher()
    expected = last = None
    prev = ""
    for batch in _batches(after=after, until=until, chunk=chunk):
        for (
            seq, at, actor_id, actor_label, team, action, target_type, target_id, outcome, ip,
            user_agent, request_id, details, prev_hash, stored,
        ) in batch:  # fmt: skip
            if expected is None:
                segment.first_seq, segment.first_prev = seq, prev_hash
            elif seq != expected:
                segment.broken = (expected, f"event missing (the next event present is seq {seq})")
                break
            elif prev_hash != prev:
                segment.broken = (seq, "prev_hash does not link to the previous event")
                break
            message = hashed_text(
                prev_hash, seq, at, actor_id, actor_label, team, action, target_type, target_id,
                outcome, ip, user_agent, request_id, canonical_details(details),
            )  # fmt: skip
            if hexdigest(message.encode()) != stored:
                segment.broken = (seq, "hash mismatch: the event was altered or moved")
                break
            if seq in checkpoints and checkpoints[seq] != stored:
                segment.broken = (seq, "hash differs from the checkpoint")
                break
            prev = stored
            last = seq
            expected = seq + 1
        if segment.broken:
            break
    if last is not None:
        segment.last_seq, segment.last_hash = last, prev
    return segment


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


# Below this many events to check, a second process costs more than it saves.
PARALLEL_MIN_EVENTS = 200_000


def verify_chain(
    *,
    checkpoints: dict[int, str] | None = None,
    chunk: int = 5000,
    since: int | None = None,
    workers: int = 1,
    pieces: int | None = None,
) -> ChainSummary:
    """Walk the chain; raise ChainBroken at the first altered, missing or reordered event, or at
    the first checkpointed event the table no longer holds (truncation).

    With ``since`` only events after that seq are recomputed, starting from its hash - compared
    with the checkpoint for that seq when there is one - so the cost grows with the new events
    only; events up to ``since`` are trusted, not checked.

    With ``workers`` > 1 and at least ``PARALLEL_MIN_EVENTS`` to check (or ``pieces`` given),
    consecutive seq ranges are walked by that many processes at once, and each range's first
    event is linked to the last of the range before it here, in seq order: the same checks in
    the same order, so the same answer, as one walk."""
    checkpoints = checkpoints or {}
    audit_key()  # raises AuditWriteError when the key is not configured
    start, prev, trusted = _start(since, checkpoints)
    expected = start + 1
    segments = _segments(start, checkpoints, chunk=chunk, workers=workers, pieces=pieces)
    with contextlib.closing(segments):  # at the first break, stop handing out ranges
        for segment in segments:
            if segment.first_seq is None:  # an empty range
                continue
            if segment.first_seq != expected:
                raise ChainBroken(
                    expected, f"event missing (the next event present is seq {segment.first_seq})"
                )
            if segment.first_prev != prev:
                raise ChainBroken(
                    segment.first_seq, "prev_hash does not link to the previous event"
                )
            if segment.broken:
                raise ChainBroken(*segment.broken)
            expected, prev = segment.last_seq + 1, segment.last_hash
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


def _segments(
    start: int, checkpoints: dict[int, str], *, chunk: int, workers: int, pieces: int | None
) -> Iterator[_Segment]:
    """The walked ranges after ``start``, in seq order: one walk here, or ``pieces`` ranges (the
    last one open-ended, so events appended meanwhile are checked too) walked by ``workers``
    forked processes."""
    head = selectors.chain_head()
    end = head[0] if head else start
    if pieces is None:
        pieces = 4 * workers if end - start >= PARALLEL_MIN_EVENTS else 1
    if workers < 2 or pieces < 2 or not _can_fork():
        yield _walk(after=start, until=None, checkpoints=checkpoints, chunk=chunk)
        return
    step = max(1, -(-(end - start) // pieces))
    bounds = [start + step * n for n in range(pieces) if start + step * n < end] or [start]
    ranges = [
        (after, until, _within(checkpoints, after, until), chunk)
        for after, until in zip(bounds, [*bounds[1:], None], strict=True)
    ]
    # A forked child must not share the parent's database connection: close it first; each
    # child opens its own, and the parent reconnects when it next needs one.
    connections.close_all()
    executor = ProcessPoolExecutor(
        max_workers=min(workers, len(ranges)), mp_context=multiprocessing.get_context("fork")
    )
    try:
        futures = [executor.submit(_walk_range, one) for one in ranges]
        for future in futures:
            yield future.result()
    finally:
        # At the first break the ranges not started are dropped and the running ones finish.
        # Not multiprocessing.Pool.terminate(): it could deadlock on the pool's task queue when
        # a walk stopped early while ranges were still being handed out (seen under load).
        executor.shutdown(wait=True, cancel_futures=True)


def _within(checkpoints: dict[int, str], after: int, until: int | None) -> dict[int, str]:
    return {
        seq: hash_
        for seq, hash_ in checkpoints.items()
        if seq > after and (until is None or seq <= until)
    }


def _can_fork() -> bool:
    """Forked workers read the chain on connections of their own, so they see only committed
    rows of a database on disk or on a server: not inside a transaction, not in memory."""
    if "fork" not in multiprocessing.get_all_start_methods() or connection.in_atomic_block:
        return False
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


def _walk_range(args) -> _Segment:
    after, until, checkpoints, chunk = args
    try:
        return _walk(after=after, until=until, checkpoints=checkpoints, chunk=chunk)
    finally:
        connections.close_all()


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
