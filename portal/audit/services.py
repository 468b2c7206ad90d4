"""The only writer of the audit trail.

``record()`` must run inside the transaction of the change it records: if it fails, the change
rolls back with it (fail closed) and the caller sees ``AuditWriteError``. Appends are serialized -
a PostgreSQL advisory transaction lock, SQLite's immediate transactions - so concurrent writers
never fork or gap the chain.
"""

import functools
import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction

from portal.audit import chain
from portal.audit.chain import AuditWriteError
from portal.audit.models import GENESIS_HASH, Action, AuditEvent, Outcome
from portal.core import context, fixed_sql

# Any constant works; it only has to be the same for every writer.
_ADVISORY_LOCK_ID = 0x70_6F_72_74_61_6C  # "portal"

# Keys that can only mean a secret is about to be written into the trail. Tokens belong in
# details only as fingerprints, passwords never. A hit is a programming error: refuse loudly.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "password",
        "new_password",
        "old_password",
        "secret",
        "consumer_secret",
        "client_secret",
        "consumer_key",
        "org_key",
        "access_token",
        "refresh_token",
        "token",
        "api_key",
        "authorization",
    }
)


def _printable(value: str, limit: int) -> str:
    """Text as stored: no NUL or other control characters (PostgreSQL rejects NUL), bounded."""
    text = str(value)
    if text.isprintable():  # nearly always: one check in C instead of a loop over characters
        return text[:limit]
    return "".join(c for c in text if c.isprintable())[:limit]


def _clean_details(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            key = _printable(key, 100)
            if key.lower() in FORBIDDEN_DETAIL_KEYS:
                raise ValueError(f"Audit details must not hold a secret (key {key!r}).")
            cleaned[key] = _clean_details(item)
        return cleaned
    if isinstance(value, list | tuple):
        return [_clean_details(v) for v in value]
    if isinstance(value, str):
        return _printable(value, 1000)
    if isinstance(value, float):
        return _stable_number(value)
    return value


def _stable_number(value: float) -> float | int:
    """A float as PostgreSQL's jsonb gives it back, so that the hash covers what is stored: its
    ``numeric`` has no -0.0 (read back as 0.0), and prints 1e16 and larger as whole numbers
    (read back as Python ints). NaN and infinities are not JSON: refused."""
    if not math.isfinite(value):
        raise ValueError(f"Audit details must hold JSON numbers, not {value!r}.")
    if value == 0:
        return 0.0
    if value.is_integer() and "e" in repr(value):
        return int(value)
    return value


# The chain's head, read on every append: fixed SQL, because building the same ORM query twice
# per issuance cost more CPU than the round trip itself. ``seq`` is unique, so this is one
# backwards step along its index.
_HEAD_SQL = "SELECT seq, hash, at FROM {table} ORDER BY seq DESC LIMIT 1"
# PostgreSQL: the lock that serializes appends goes in front of the head read, in the same
# simple query (one round trip, not two). The server runs the two statements in order and,
# under READ COMMITTED, gives each its own snapshot: the head is read once the lock is granted
# and sees every append committed before it, as with two separate round trips.
_LOCKED_HEAD_SQL = "SELECT pg_advisory_xact_lock(%s); " + _HEAD_SQL


@functools.cache
def _head_statement(vendor: str) -> str:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    if vendor == "postgresql":
        return _LOCKED_HEAD_SQL.format(table=table)
    # SQLite: the surrounding transaction began IMMEDIATE and already holds the write lock.
    return _HEAD_SQL.format(table=table)


def _chain_head(cursor, along: fixed_sql.Write | None = None) -> tuple[int, str, datetime] | None:
    """``(seq, hash, at)`` of the last event, or None for an empty trail, read under the lock
    that serializes appends (on PostgreSQL this takes the advisory transaction lock first).
    ``along``: the change being recorded, sent first - on PostgreSQL in the same round trip."""
    vendor = cursor.db.vendor  # the cursor's own connection: no lookup through the proxy
    if vendor == "postgresql":
        if along is None:
            cursor.execute(_head_statement(vendor), [_ADVISORY_LOCK_ID])
        else:
            statements = f"{along.sql}; {_head_statement(vendor)}"
            cursor.execute(statements, [*along.params, _ADVISORY_LOCK_ID])
            along.sent(cursor)  # the first result is the write's
            cursor.nextset()
        cursor.nextset()  # past the lock's result to the head's
    else:
        if along is not None:
            along.run(cursor)
        cursor.execute(_head_statement(vendor))
    row = cursor.fetchone()
    if row is None:
        return None
    seq, hash_, at = row
    if isinstance(at, str):  # SQLite hands back the stored text
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:  # stored in UTC (USE_TZ), as the ORM would read it
        at = at.replace(tzinfo=UTC)
    return seq, hash_, at


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
    along: fixed_sql.Write | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (one is opened if none is).

    ``along``: the row write the event records, not yet sent (``fixed_sql.insert_write``,
    ``update_write``). It is sent first, on PostgreSQL in the same round trip as the chain's
    lock and head read (one round trip fewer per recorded change on the hottest paths). Its own
    IntegrityError (a unique key taken) reaches the caller as it is, as if sent alone; any other
    failure is this function's ``AuditWriteError``.

    An event recorded during a request made with an API key gets ``api_key_id`` in its details.
    ``details`` must never hold a secret: tokens appear only as fingerprints; a key named like a
    secret (``FORBIDDEN_DETAIL_KEYS``) raises ValueError. ``target`` may be a model instance; its
    label and pk become target type and id. ``at`` never goes backwards along the chain (a clock
    stepping back repeats the last time), so ordering by seq is ordering by time.

    Raises ``AuditWriteError`` when the event cannot be written; the caller's transaction must
    then roll back (it does, if the error is let through).
    """
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    team_id = getattr(team, "pk", team)
    if team_id is not None and not isinstance(team_id, uuid.UUID):
        team_id = uuid.UUID(str(team_id))
    asking = context.current()
    if asking.api_key_id:
        # Done with an API key: which one stands beside the actor (never the key itself).
        details = {"api_key_id": asking.api_key_id, **(details or {})}
    # Round-trip details through JSON so the hash covers exactly what the database returns.
    clean = json.loads(json.dumps(_clean_details(details or {}), sort_keys=True))
    try:
        # No savepoint: an event that cannot be written dooms the caller's whole transaction
        # anyway (fail closed), and two fewer round trips per event matter on hot paths.
        # One cursor for the locked head read and the insert: each cursor costs as much CPU to
        # set up as a short statement does to run.
        written = along is None
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            last = _chain_head(cursor, along)
            written = True
            now = datetime.now(UTC)
            if last:
                seq, prev_hash, at = last[0] + 1, last[1], max(now, last[2])
            else:
                seq, prev_hash, at = 1, GENESIS_HASH, now
            event = AuditEvent(
                seq=seq,
                at=at,
                actor=actor,
                actor_label=_printable(actor_label or (actor.get_username() if actor else ""), 150),
                team_id=team_id,
                action=action,
                target_type=_printable(target_type, 40),
                target_id=_printable(target_id, 64),
                outcome=outcome,
                ip=asking.ip,
                user_agent=_printable(asking.user_agent, 255),
                request_id=asking.request_id,
                details=clean,
                prev_hash=prev_hash,
            )
            event.hash = chain.compute_hash(prev_hash, event)
            # Fixed SQL: the ORM's save() cost twice the CPU of the INSERT itself, twice per
            # issuance (fixed_sql says what it keeps of save()).
            fixed_sql.insert(event, cursor=cursor)
    except Exception as exc:
        # Fail closed even if a caller swallows the error: its transaction is doomed.
        if connection.in_atomic_block:
            transaction.set_rollback(True)
        if isinstance(exc, AuditWriteError):
            raise
        if not written and isinstance(exc, IntegrityError):
            raise  # the write's own: the lock and the head read break no constraint
        # Re-raised as one type so no caller mistakes it for its own error (e.g. team_create
        # reads IntegrityError as "duplicate name").
        raise AuditWriteError(f"The audit event {action} could not be written.") from exc
    return event


def audit_export_record(*, team, actor, fmt: str, filters: dict[str, str]) -> AuditEvent:
    """Audit an export of a team's log before any row of it leaves the portal."""
    return record(
        action=Action.AUDIT_EXPORTED,
        actor=actor,
        team=team,
        target=team,
        details={"format": fmt, "filters": filters},
    )
