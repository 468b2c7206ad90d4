"""A chain walked in consecutive seq ranges by several processes gives exactly the answer of one
walk: the same first bad seq and reason for every kind of damage, wherever the damage falls
against the ranges' edges, and the same summary for an untouched chain."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.audit import verify
from portal.audit.verify import ChainBroken, verify_chain
from tests.audit.conftest import json_param

# The workers read on connections of their own, so they see committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = 30
PIECES = 4  # ranges (0, 8], (8, 16], (16, 24], (24, ...)


def _answer(**options):
    """The summary, or (seq, reason) of the ChainBroken raised."""
    try:
        summary = verify_chain(**options)
    except ChainBroken as exc:
        return exc.seq, exc.reason
    return summary


def _both(**options):
    one = _answer(**options)
    parallel = _answer(workers=2, pieces=PIECES, **options)
    assert parallel == one
    return one


def _set_details(raw_sql, seq: int) -> None:
    raw_sql(f"UPDATE {{table}} SET details = {json_param()} WHERE seq = %s", ['{"i": 99}', seq])


def _renumber(raw_sql, old: int, new: int) -> None:
    raw_sql("UPDATE {table} SET seq = %s WHERE seq = %s", [new, old])


def test_an_untouched_chain_gets_the_same_summary(append):
    events = append(EVENTS)
    summary = _both()
    assert summary.count == EVENTS
    assert summary.head_hash == events[-1].hash


def test_the_ranges_really_are_walked_apart(append, monkeypatch):
    append(EVENTS)
    walked = []
    real = verify._walk

    def spy(**kwargs):
        walked.append((kwargs["after"], kwargs["until"]))
        return real(**kwargs)

    # In one process the spy sees a single walk; with workers the parent walks nothing itself.
    monkeypatch.setattr(verify, "_walk", spy)
    verify_chain()
    assert walked == [(0, None)]
    walked.clear()
    verify_chain(workers=2, pieces=PIECES)
    assert walked == []


@pytest.mark.parametrize("seq", [1, 8, 9, 16, 17, 25, 30])
def test_altered_details_are_found_at_the_same_seq(append, raw_sql, seq):
    append(EVENTS)
    _set_details(raw_sql, seq)
    assert _both() == (seq, "hash mismatch: the event was altered or moved")


@pytest.mark.parametrize(
    "deleted",
    [
        [8],  # the last event of a range
        [9],  # the first event of a range
        list(range(9, 17)),  # a whole range: the next range starts too late
        list(range(9, 20)),  # more than a range
        [1],  # the very first event
    ],
)
def test_deleted_events_are_found_at_the_same_seq(append, raw_sql, deleted):
    append(EVENTS)
    for seq in deleted:
        raw_sql("DELETE FROM {table} WHERE seq = %s", [seq])
    seq, reason = _both()
    assert seq == deleted[0]
    assert reason == f"event missing (the next event present is seq {deleted[-1] + 1})"


def test_renumbering_across_a_range_edge_is_found_at_the_same_seq(append, raw_sql):
    append(EVENTS)
    raw_sql("DELETE FROM {table} WHERE seq = 8")
    for seq in range(9, EVENTS + 1):
        _renumber(raw_sql, seq, seq - 1)
    assert _both() == (8, "prev_hash does not link to the previous event")


def test_rows_swapped_across_a_range_edge_are_found_at_the_same_seq(append, raw_sql):
    append(EVENTS)
    _renumber(raw_sql, 7, -1)
    _renumber(raw_sql, 10, 7)
    _renumber(raw_sql, -1, 10)
    assert _both() == (7, "prev_hash does not link to the previous event")


def test_truncation_is_found_against_the_checkpoints(append, raw_sql):
    events = append(EVENTS)
    checkpoints = {e.seq: e.hash for e in events if e.seq in (12, 27)}
    raw_sql("DELETE FROM {table} WHERE seq > 20")
    assert _both(checkpoints=checkpoints) == (
        21,
        "events 21-27 missing (the log ends at seq 20): a checkpoint vouches for seq 27",
    )


def test_a_checkpoint_that_differs_is_found_in_a_later_range(append):
    events = append(EVENTS)
    checkpoints = {5: events[4].hash, 18: "0" * 64}
    assert _both(checkpoints=checkpoints) == (18, "hash differs from the checkpoint")


def test_since_gets_the_same_answer(append, raw_sql):
    append(EVENTS)
    assert _both(since=10).count == EVENTS - 10
    _set_details(raw_sql, 23)
    assert _both(since=10) == (23, "hash mismatch: the event was altered or moved")


def test_the_command_takes_a_worker_count_and_refuses_zero(append):
    append(EVENTS)
    out = StringIO()
    call_command("verify_audit", "--workers", "2", stdout=out)
    assert f"Audit chain OK: {EVENTS} events" in out.getvalue()
    with pytest.raises(CommandError, match="--workers must be 1 or more"):
        call_command("verify_audit", "--workers", "0")


def test_a_break_in_the_first_of_many_ranges_ends_the_walk(append, raw_sql):
    """Damage in the first of thirty one-event ranges: the walk stops there while most ranges
    are still queued, and the workers are shut down without hanging (the pool it used before
    could deadlock in that spot), several times over."""
    import threading

    append(EVENTS)
    _set_details(raw_sql, 2)
    one = _answer()
    for _ in range(5):
        answers = []
        walk = threading.Thread(
            target=lambda found=answers: found.append(_answer(workers=2, pieces=EVENTS)),
            daemon=True,
        )
        walk.start()
        walk.join(timeout=60)
        assert not walk.is_alive(), "the parallel walk did not end"
        assert answers == [one]
    assert one[0] == 2
