"""CSV and JSON Lines exports: contents, filters, scope, injection safety, and their own audit."""

import csv
import io
import json

import pytest
from django.urls import reverse

from portal.audit import exports, selectors
from portal.audit import services as audit
from portal.audit.exports import COLUMNS
from portal.audit.models import Action, AuditEvent
from portal.core.csv import csv_safe

pytestmark = pytest.mark.django_db


def _export(client, fmt, **params):
    return client.get(reverse("audit:export", args=[fmt]), params)


def _body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def _csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(_body(response))))


def test_csv_export_parses_back_to_the_teams_events_newest_first(alice_client, acme):
    response = _export(alice_client, "csv", team=acme.pk)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith('.csv"')
    assert "no-store" in response["Cache-Control"]
    rows = _csv_rows(response)
    expected = list(AuditEvent.objects.filter(team=acme).order_by("-seq"))
    assert [int(r["seq"]) for r in rows] == [e.seq for e in expected]
    assert list(rows[0].keys()) == list(COLUMNS)
    member_added = next(r for r in rows if r["action"] == Action.MEMBER_ADDED)
    assert json.loads(member_added["details"])["member"] in {"bob", "carol"}
    assert rows[-1]["hash"] == expected[-1].hash


def test_jsonl_export_parses_back_line_by_line(alice_client, acme):
    response = _export(alice_client, "jsonl", team=acme.pk)
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.jsonl"')
    lines = _body(response).splitlines()
    records = [json.loads(line) for line in lines]
    expected = list(AuditEvent.objects.filter(team=acme).order_by("-seq"))
    assert [r["seq"] for r in records] == [e.seq for e in expected]
    assert records[-1]["details"] == expected[-1].details
    assert records[-1]["actor"] == "alice"


def test_export_is_audited_with_its_filters_before_streaming(alice_client, acme, alice):
    response = _export(alice_client, "csv", team=acme.pk, action=Action.MEMBER_ADDED)
    event = AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).get()
    assert event.actor_id == alice.pk and event.team_id == acme.pk
    assert event.details == {"format": "csv", "filters": {"action": "member.added"}}
    rows = _csv_rows(response)
    assert {r["action"] for r in rows} == {"member.added"}
    assert len(rows) == 2


def test_unfiltered_export_includes_its_own_audit_event(alice_client, acme):
    records = [
        json.loads(x) for x in _body(_export(alice_client, "jsonl", team=acme.pk)).splitlines()
    ]
    assert records[0]["action"] == Action.AUDIT_EXPORTED


def test_issuer_export_holds_only_their_own_events_and_says_so(cast, acme, client_for):
    audit.record(action=Action.TOKEN_REQUESTED, actor=cast["bob"], team=acme)
    rows = _csv_rows(_export(client_for(cast["bob"]), "csv", team=acme.pk))
    assert {r["actor"] for r in rows} == {"bob"}
    assert len(rows) == 2  # the token request and the export itself
    export = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED)
    assert export.details["filters"] == {"scope": "own events"}


def test_viewer_may_export_the_whole_team(cast, acme, client_for):
    rows = _csv_rows(_export(client_for(cast["carol"]), "csv", team=acme.pk))
    assert {r["actor"] for r in rows} >= {"alice", "carol"}


def test_csv_cells_that_look_like_formulas_are_neutralised(alice_client, acme):
    for label in ('=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)"):
        audit.record(action=Action.LOGIN_FAILED, actor_label=label, team=acme, details={"x": label})
    rows = _csv_rows(_export(alice_client, "csv", team=acme.pk, action=Action.LOGIN_FAILED))
    labels = {r["actor"] for r in rows}
    assert labels == {'\'=HYPERLINK("http://evil")', "'+1+2", "'-3", "'@SUM(A1)"}
    assert all(not r["details"].startswith(("=", "+", "-", "@")) for r in rows)


def test_csv_safe_leaves_ordinary_text_alone():
    assert csv_safe("alice") == "alice"
    assert csv_safe(12) == "12"
    assert csv_safe(None) == ""
    assert csv_safe("\t=1") == "'\t'=1"  # both cells a tab split makes are defused


def test_export_streams_large_logs_in_batches(alice_client, acme, alice):
    for i in range(1203):
        audit.record(action=Action.PROFILE_UPDATED, actor=alice, team=acme, details={"i": i})
    lines = _body(_export(alice_client, "jsonl", team=acme.pk)).splitlines()
    seqs = [json.loads(line)["seq"] for line in lines]
    assert len(seqs) == AuditEvent.objects.filter(team=acme).count()
    assert seqs == sorted(set(seqs), reverse=True)


def test_unknown_format_is_404(alice_client, acme):
    assert _export(alice_client, "xlsx", team=acme.pk).status_code == 404
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()


def test_invalid_filters_are_400_and_not_exported(alice_client, acme):
    response = _export(alice_client, "csv", team=acme.pk, outcome="maybe")
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).exists()


def _tricky_events(acme, alice):
    """Events whose text needs escaping in JSON and defusing in CSV, and one without a team."""
    details = [
        {"z": [1, 2.5, None, True], "a": {"y": "ü", "b": "\n"}, "q": 'say "hi" \\ \u2028'},
        {"formula": "=1+1", "list": ["a;=b", "@x"], "n": -3},
        {},
    ]
    for n, detail in enumerate(details):
        audit.record(
            action=Action.LOGIN_FAILED,
            actor=alice if n % 2 else None,
            actor_label=f'Zoë "{n}"; -{n}',
            team=acme,
            details=detail,
        )
    audit.record(action=Action.USER_CREATED, actor=alice, details={"x": "no team"})


def test_jsonl_lines_are_exactly_json_dumps_of_each_event(alice_client, acme, alice):
    _tricky_events(acme, alice)
    body = _body(_export(alice_client, "jsonl", team=acme.pk))
    events = AuditEvent.objects.filter(team=acme).order_by("-seq")
    expected = "".join(
        json.dumps(exports.event_dict(e), ensure_ascii=False, sort_keys=True) + "\n" for e in events
    )
    assert body == expected
    # No team: the hand-made line and json.dumps agree on null too.
    loner = AuditEvent.objects.filter(team=None).latest("seq")
    ((row,),) = selectors.event_export_batches(AuditEvent.objects.filter(pk=loner.pk))
    reference = json.dumps(exports.event_dict(loner), ensure_ascii=False, sort_keys=True)
    assert exports.jsonl_line(*row) == reference + "\n"


def test_csv_lines_are_each_events_values_made_safe(alice_client, acme, alice):
    _tricky_events(acme, alice)
    body = _body(_export(alice_client, "csv", team=acme.pk))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for event in AuditEvent.objects.filter(team=acme).order_by("-seq"):
        row = exports.event_dict(event)
        row["details"] = json.dumps(row["details"], ensure_ascii=False, sort_keys=True)
        writer.writerow([csv_safe(row[c]) for c in COLUMNS])
    assert body == out.getvalue()
