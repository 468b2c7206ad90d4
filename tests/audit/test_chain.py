"""verify_audit finds the first bad seq for altered, deleted and reordered rows and truncation."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.audit.chain import checkpoint_hmac
from portal.audit.models import GENESIS_HASH, AuditEvent
from portal.audit.verify import ChainBroken, verify_chain
from tests.audit.conftest import json_param

pytestmark = pytest.mark.django_db


def _verify(*args) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def _broken_at(*args) -> str:
    with pytest.raises(CommandError) as info:
        _verify(*args)
    return str(info.value)


def test_an_untouched_chain_verifies_and_reports_count_and_head(append):
    events = append(10)
    output = _verify()
    assert "Audit chain OK: 10 events" in output
    assert f"head seq 10 hash {events[-1].hash}" in output


def test_an_empty_trail_verifies(db):
    assert "Audit chain OK: 0 events" in _verify()


def test_chain_starts_at_genesis_and_each_event_links_to_the_last(append):
    events = append(3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash


def test_tampered_details_are_detected_at_that_seq(append, raw_sql):
    append(10)
    raw_sql("UPDATE {table} SET details = " + json_param() + " WHERE seq = 5", ['{"i": 99}'])
    assert AuditEvent.objects.get(seq=5).details == {"i": 99}
    assert "BROKEN at seq 5: hash mismatch" in _broken_at()


def test_tampered_actor_label_is_detected_at_that_seq(append, raw_sql):
    append(6)
    raw_sql("UPDATE {table} SET actor_label = 'someone-else' WHERE seq = 6")
    assert "BROKEN at seq 6" in _broken_at()


def test_a_deleted_middle_row_is_detected_at_its_seq(append, raw_sql):
    append(10)
    raw_sql("DELETE FROM {table} WHERE seq = 4")
    message = _broken_at()
    assert "BROKEN at seq 4: event missing" in message


def test_renumbering_over_a_deleted_row_is_detected(append, raw_sql):
    # Hiding a deletion by shifting later seqs down keeps seq contiguous but breaks the hashes.
    append(8)
    raw_sql("DELETE FROM {table} WHERE seq = 4")
    for seq in range(5, 9):
        raw_sql("UPDATE {table} SET seq = %s WHERE seq = %s", [seq - 1, seq])
    assert "BROKEN at seq 4" in _broken_at()


def test_two_swapped_rows_are_detected_at_the_lower_seq(append, raw_sql):
    append(10)
    raw_sql("UPDATE {table} SET seq = -1 WHERE seq = 3")
    raw_sql("UPDATE {table} SET seq = 3 WHERE seq = 7")
    raw_sql("UPDATE {table} SET seq = 7 WHERE seq = -1")
    assert "BROKEN at seq 3" in _broken_at()


def test_a_recomputed_hash_without_the_key_does_not_help(append, raw_sql, settings):
    # An attacker who edits a row and recomputes its hash under a guessed key still fails.
    events = append(4)
    from portal.audit.chain import compute_hash

    target = events[1]
    target.details = {"i": "forged"}
    settings.PORTAL_AUDIT_KEY = "guessed-key"
    forged = compute_hash(target.prev_hash, target)
    settings.PORTAL_AUDIT_KEY = "test-audit-key-0123456789abcdef0123456789abcdef"
    raw_sql(
        "UPDATE {table} SET details = " + json_param() + ", hash = %s WHERE seq = 2",
        ['{"i": "forged"}', forged],
    )
    with pytest.raises(ChainBroken) as info:
        verify_chain()
    assert info.value.seq == 2


def test_verification_streams_in_small_batches(append):
    append(23)
    summary = verify_chain(chunk=5)
    assert summary.count == 23


def test_checkpoint_command_appends_seq_hash_hmac(append, tmp_path):
    events = append(3)
    path = tmp_path / "checkpoints"
    out = StringIO()
    call_command("audit_checkpoint", str(path), stdout=out)
    append(2)
    call_command("audit_checkpoint", str(path), stdout=StringIO())
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    seq, hash_, mac = lines[0].split()
    assert (int(seq), hash_) == (3, events[-1].hash)
    assert mac == checkpoint_hmac(3, hash_)
    assert out.getvalue().strip() == lines[0]
    assert "2 checkpoint(s) matched" in _verify("--checkpoint", str(path))


def test_checkpoint_of_an_empty_trail_is_refused(db, tmp_path):
    with pytest.raises(CommandError, match="empty"):
        call_command("audit_checkpoint", str(tmp_path / "cp"))


def test_truncation_after_a_checkpoint_is_detected(append, raw_sql, tmp_path):
    append(10)
    path = tmp_path / "checkpoints"
    call_command("audit_checkpoint", str(path), stdout=StringIO())
    raw_sql("DELETE FROM {table} WHERE seq > 7")
    # Without the checkpoint the shortened chain looks fine...
    assert "Audit chain OK: 7 events" in _verify()
    # ...with it, the missing events are named.
    assert "BROKEN at seq 8: events 8-10 missing (the log ends at seq 7)" in _broken_at(
        "--checkpoint", str(path)
    )


def test_truncation_and_regrowth_is_detected_by_the_checkpoint_hash(append, raw_sql, tmp_path):
    append(5)
    path = tmp_path / "checkpoints"
    call_command("audit_checkpoint", str(path), stdout=StringIO())
    raw_sql("DELETE FROM {table} WHERE seq > 3")
    append(3)  # new, validly chained events re-occupy seq 4..6
    assert "Audit chain OK: 6 events" in _verify()
    assert "BROKEN at seq 5: hash differs from the checkpoint" in _broken_at(
        "--checkpoint", str(path)
    )


def test_a_forged_checkpoint_line_is_rejected(append, tmp_path):
    events = append(3)
    path = tmp_path / "checkpoints"
    path.write_text(f"3 {events[-1].hash} {'0' * 64}\n")
    message = _broken_at("--checkpoint", str(path))
    assert "line 1 (seq 3) is forged" in message


def test_a_malformed_checkpoint_file_is_a_clear_error(append, tmp_path):
    append(1)
    path = tmp_path / "checkpoints"
    path.write_text("not a checkpoint\n")
    assert "not 'seq hash hmac'" in _broken_at("--checkpoint", str(path))
    assert "Cannot read checkpoint file" in _broken_at("--checkpoint", str(tmp_path / "missing"))


def test_event_time_never_goes_backwards_along_the_chain(append, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from portal.audit import services

    first = append(1)[0]

    class _ClockBack(datetime):
        @classmethod
        def now(cls, tz=None):
            return first.at - timedelta(hours=1)

    monkeypatch.setattr(services, "datetime", _ClockBack)
    second = append(1)[0]
    assert second.at == first.at
    assert second.at.tzinfo is not None and second.at.utcoffset() == UTC.utcoffset(None)
    assert "Audit chain OK: 2 events" in _verify()


@pytest.mark.parametrize(
    "values",
    [
        (
            1,
            "2025-01-02T03:04:05.000006+00:00",
            None,
            "",
            None,
            "logout",
            "",
            "",
            "success",
            "",
            "",
            "",
            {},
        ),
        (
            987654321,
            "2025-12-31T23:59:59.999999+00:00",
            42,
            'Zoë "quoted" \\ back\u2028slash',
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "token.issued",
            "tokens.issuance",
            "ab/cd",
            "failure",
            "2001:db8::1",
            "Mozilla/5.0 (X11; 日本語)",
            "req-1",
            {"z": [1, 2.5, None, True], "a": {"y": "ü", "b": "\n"}, "scopes": ["read"]},
        ),
    ],
)
def test_canonical_bytes_are_exactly_sorted_compact_json(values):
    import json

    from portal.audit.chain import HASHED_FIELDS, canonical_bytes

    reference = json.dumps(
        dict(zip(HASHED_FIELDS, values, strict=True)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert canonical_bytes(*values) == reference


def test_verification_without_the_audit_key_is_a_clear_error(append, settings, tmp_path):
    append(1)
    settings.PORTAL_AUDIT_KEY = ""
    assert "PORTAL_AUDIT_KEY is not set" in _broken_at()
    with pytest.raises(CommandError, match="PORTAL_AUDIT_KEY"):
        call_command("audit_checkpoint", str(tmp_path / "cp"))


@pytest.mark.parametrize(
    "value",
    [1e16, -1.5e300, 2.0**70, -0.0, 1e-7, 0.1, 1e15, 12345678901234567890, [1e20, {"x": -0.0}]],
)
def test_numbers_the_database_rewrites_do_not_break_a_valid_chain(append, value):
    """PostgreSQL's jsonb stores numbers as ``numeric``: it gives 1e16 back as the integer
    10000000000000000 and -0.0 as 0.0. What is hashed must be what comes back, or an untouched
    chain reads as tampered."""
    append(1, details={"n": value})
    append(1)
    assert "Audit chain OK: 2 events" in _verify()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_numbers_json_cannot_hold_are_refused_before_anything_is_written(append, value):
    with pytest.raises(ValueError, match="number"):
        append(1, details={"n": value})
    assert not AuditEvent.objects.exists()


def test_an_appended_event_is_the_row_the_orm_reads_back(alice, acme):
    # record() writes with fixed SQL; what it returns (and hashed) must be what is stored.
    from portal.audit import services as audit
    from portal.audit.models import Action, Outcome

    event = audit.record(
        action=Action.TOKEN_FAILED,
        outcome=Outcome.FAILURE,
        actor=alice,
        team=acme,
        target=acme,
        details={"scopes": ["read", "wrïte"], "n": 2.5, "nested": {"b": None, "a": True}},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    fields = [f.attname for f in AuditEvent._meta.concrete_fields]
    assert {f: getattr(stored, f) for f in fields} == {f: getattr(event, f) for f in fields}
    assert stored.actor_id == alice.pk and stored.team_id == acme.pk
    assert "Audit chain OK" in _verify()
