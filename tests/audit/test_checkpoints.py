"""Checkpoints on a schedule, kept off the database: audit_checkpoint appends to the configured
file or prints one line for a log system; verify_audit checks them by default, so deleting the
newest events - which the owner of the table can do - is detected and the missing range named.
``--since`` recomputes only the events after the newest checkpoint."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.audit.chain import checkpoint_hmac
from portal.audit.models import AuditEvent
from portal.audit.verify import ChainBroken, verify_chain
from tests.audit.conftest import json_param

pytestmark = pytest.mark.django_db


def _run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def _broken(*args) -> str:
    with pytest.raises(CommandError) as info:
        _run("verify_audit", *args)
    return str(info.value)


@pytest.fixture
def checkpoint_file(settings, tmp_path):
    path = tmp_path / "audit.checkpoints"
    settings.PORTAL_AUDIT_CHECKPOINT_FILE = str(path)
    return path


def test_checkpoint_is_appended_to_the_configured_file(append, checkpoint_file):
    events = append(3)
    printed = _run("audit_checkpoint").strip()
    assert checkpoint_file.read_text() == printed + "\n"
    assert printed == f"3 {events[-1].hash} {checkpoint_hmac(3, events[-1].hash)}"


def test_checkpoint_printed_for_a_log_system_is_one_json_line_and_no_file(append, checkpoint_file):
    events = append(2)
    printed = _run("audit_checkpoint", "--print", "--json")
    assert printed.count("\n") == 1
    assert json.loads(printed) == {
        "event": "audit.checkpoint",
        "seq": 2,
        "hash": events[-1].hash,
        "hmac": checkpoint_hmac(2, events[-1].hash),
    }
    assert not checkpoint_file.exists()


def test_checkpoint_with_nowhere_to_go_is_refused(append):
    append(1)
    with pytest.raises(CommandError, match="PORTAL_AUDIT_CHECKPOINT_FILE"):
        _run("audit_checkpoint")
    with pytest.raises(CommandError, match="--print writes no file"):
        _run("audit_checkpoint", "--print", "somewhere")


def test_verify_checks_the_configured_checkpoint_file_by_default(append, checkpoint_file):
    append(4)
    _run("audit_checkpoint")
    append(2)
    _run("audit_checkpoint")
    output = _run("verify_audit")
    assert "Audit chain OK: 6 events" in output
    assert f"2 checkpoint(s) matched ({checkpoint_file})" in output


def test_verify_refuses_a_configured_checkpoint_file_that_is_gone(append, checkpoint_file):
    # Deleting the checkpoint file must not quietly switch truncation detection off.
    append(1)
    assert "Cannot read checkpoint file" in _broken()


def test_deleting_the_newest_events_is_detected_naming_the_missing_range(
    append, raw_sql, checkpoint_file
):
    # On PostgreSQL this is the table's owner at work (the portal's own role may not delete).
    append(12)
    _run("audit_checkpoint")
    raw_sql("DELETE FROM {table} WHERE seq > 9")
    assert AuditEvent.objects.count() == 9
    message = _broken()
    assert "BROKEN at seq 10: events 10-12 missing (the log ends at seq 9)" in message
    assert "a checkpoint vouches for seq 12" in message
    assert "BROKEN at seq 10: events 10-12 missing" in _broken("--since")


def test_deleting_the_single_newest_event_is_named_as_one(append, raw_sql, checkpoint_file):
    append(5)
    _run("audit_checkpoint")
    raw_sql("DELETE FROM {table} WHERE seq = 5")
    assert "BROKEN at seq 5: event 5 missing (the log ends at seq 4)" in _broken()


def test_checkpoint_lines_collected_from_a_log_system_verify(append, tmp_path):
    append(3)
    first = _run("audit_checkpoint", "--print", "--json")
    append(3)
    second = _run("audit_checkpoint", "--print", "--json")
    path = tmp_path / "from-the-log-system.jsonl"
    path.write_text(first + second)
    assert "2 checkpoint(s) matched" in _run("verify_audit", "--checkpoint", str(path))


def test_a_forged_json_checkpoint_is_rejected(append, tmp_path):
    events = append(3)
    path = tmp_path / "forged.jsonl"
    line = {"event": "audit.checkpoint", "seq": 9, "hash": events[-1].hash, "hmac": "0" * 64}
    path.write_text(json.dumps(line) + "\n")
    assert "line 1 (seq 9) is forged" in _broken("--checkpoint", str(path))


def test_since_recomputes_only_the_events_after_the_newest_checkpoint(
    append, raw_sql, checkpoint_file
):
    append(6)
    _run("audit_checkpoint")
    append(4)
    # A change before the checkpoint is not looked at: those events are trusted.
    raw_sql("UPDATE {table} SET details = " + json_param() + " WHERE seq = 2", ['{"i": 99}'])
    output = _run("verify_audit", "--since")
    assert "Audit chain OK: 4 events after seq 6 (trusted: checkpoint), head seq 10" in output
    # The full walk still finds it.
    assert "BROKEN at seq 2: hash mismatch" in _broken()


def test_since_finds_a_change_after_the_checkpoint(append, raw_sql, checkpoint_file):
    append(6)
    _run("audit_checkpoint")
    append(4)
    raw_sql("UPDATE {table} SET actor_label = 'someone-else' WHERE seq = 8")
    assert "BROKEN at seq 8: hash mismatch" in _broken("--since")


def test_since_detects_a_checkpointed_event_rewritten_after_truncation(
    append, raw_sql, checkpoint_file
):
    append(5)
    _run("audit_checkpoint")
    raw_sql("DELETE FROM {table} WHERE seq > 3")
    append(3)  # new, validly chained events re-occupy seq 4..6
    assert "BROKEN at seq 5: hash differs from the checkpoint" in _broken("--since")


def test_since_a_given_seq_trusts_that_events_stored_hash_and_says_so(append):
    append(10)
    output = _run("verify_audit", "--since", "7")
    assert "Audit chain OK: 3 events after seq 7" in output
    assert "trusted: stored hash, not checked against a checkpoint" in output


def test_since_without_a_checkpoint_is_refused(append):
    append(2)
    with pytest.raises(CommandError, match="there is none"):
        _run("verify_audit", "--since")


def test_since_a_seq_that_does_not_exist_is_refused(append):
    append(2)
    with pytest.raises(ChainBroken, match="no such seq"):
        verify_chain(since=5)
