"""Checking the chain: every hash recomputed, seq contiguous, checkpoints matched.

Streams the table in keyset batches, so memory stays flat at any size.
"""

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from portal.audit import selectors
from portal.audit.models import GENESIS_HASH
from portal.audit.services import _payload, checkpoint_hmac

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


def verify_chain(*, checkpoints: dict[int, str] | None = None, chunk: int = 5000) -> ChainSummary:
    """Walk the whole chain; raise ChainBroken at the first altered, missing or reordered event,
    or at the first checkpointed event the table no longer holds (truncation)."""
    checkpoints = checkpoints or {}
    key = settings.PORTAL_AUDIT_KEY.encode()
    new_mac = hmac.new
    sha256 = hashlib.sha256
    expected, prev = 1, GENESIS_HASH
    for row in selectors.chain_iter(chunk=chunk):
        seq, prev_hash, stored = row[0], row[_N], row[_N + 1]
        if seq != expected:
            raise ChainBroken(expected, f"event missing (the next event present is seq {seq})")
        if prev_hash != prev:
            raise ChainBroken(seq, "prev_hash does not link to the previous event")
        if new_mac(key, prev_hash.encode() + _payload(*row[:_N]), sha256).hexdigest() != stored:
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
