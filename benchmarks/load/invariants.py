"""What must hold after a run, one function per invariant, each returning a :class:`Verdict`.

They read the database (Django is set up by ``cast.prepare``), the stub's record of every token
and what the simulated users saw. ``nothing_pending`` runs first: it resolves what a database
outage left ``pending``, so the others see final states.
"""

from __future__ import annotations

import logging
import subprocess
from collections import Counter
from datetime import timedelta

from benchmarks.load import PY, ROOT, TOKEN_CONNECT_TIMEOUT, TOKEN_TIMEOUT, scaleout
from benchmarks.load.evidence import (
    RECORDING_FAILURES,
    Checks,
    Evidence,
    Run,
    Verdict,
    event_count,
    issuances,
    pairs,
)
from benchmarks.load.faults import FAULT_KIND, in_outage, overlaps_outage
from benchmarks.load.report import pct

TRICKLE_SHAPES = ("trickle_headers", "trickle_body")

# --- the invariants ----------------------------------------------------------------------------


def nothing_pending(run: Run) -> Verdict:
    """No issuance left ``pending``. What the database outage left is resolved by the
    ``reconcile`` service (older-than 0: gunicorn is stopped, nothing is running), and each must
    have started during the outage. The same service also finishes revocations the gateway
    carried out while the portal could not record them, so stub and portal agree afterwards:
    it always runs."""
    from portal.tokens import services
    from portal.tokens.models import Status

    pending = list(issuances().filter(status=Status.PENDING).values("id", "issued_at"))
    unexplained = [
        p for p in pending if not in_outage(p["issued_at"].timestamp(), run.outage, before=8)
    ]
    # Its INFO lines (and the gateway calls it makes) would interleave with the verdicts.
    logging.getLogger("portal").setLevel(logging.WARNING)
    resolved = services.token_reconcile(older_than=timedelta(0))
    reconciled = [i for i in resolved if i.status == Status.FAILED]
    return Verdict(
        not unexplained and len(reconciled) == len(pending),
        "nothing left pending",
        f"{len(pending)} pending after the run"
        + (
            f", resolved by reconcile ({len(reconciled)}), all started during the database restart"
            if pending and not unexplained
            else ""
        )
        + (f"; {len(unexplained)} NOT explained by the outage" if unexplained else ""),
        {
            "pending_after_run": len(pending),
            "revocations_finished_by_reconcile": len(resolved) - len(reconciled),
        },
    )


def no_lost_token(run: Run, ev: Evidence) -> Verdict:
    """Every token the stub still considers live is recorded as an ``active`` issuance. A token
    the gateway still accepts while the portal says it is gone (revoked, renewed) is as lost as
    an unrecorded one: the person believes it is dead."""
    from portal.tokens.models import Status

    live_not_active = [(t, r) for t, r in ev.disagree if t["state"] == "live"]
    return Verdict(
        not ev.lost and not ev.unrecorded_odd and not live_not_active,
        "no lost token (every token live at the gateway is an active issuance)",
        f"{run.stub_state['live']} live at the stub, {ev.status_counts[Status.ACTIVE]} active "
        "issuances"
        + (f"; {len(ev.lost)} LIVE AND UNRECORDED" if ev.lost else "")
        + (
            f"; {len(live_not_active)} LIVE BUT RECORDED AS "
            + ", ".join(sorted({r["status"] for _, r in live_not_active}))
            if live_not_active
            else ""
        )
        + (f"; {len(ev.unrecorded_odd)} unrecorded but rotated" if ev.unrecorded_odd else ""),
    )


def issued_recorded_audited(run: Run, ev: Evidence) -> Verdict:
    """An *issuance* is every successful ``/token`` answer of the stub, renewals included (a
    refresh-token grant mints a new token). Tokens issued by the stub = issuances with a token
    (``active`` + ``renewed`` + ``revoked``) + tokens the portal revoked again because it could
    not record them ("taken back", only possible while the database is down); and those
    issuances = ``token.issued`` + ``token.renewed`` audit events (successes)."""
    from portal.audit.models import Action, Outcome
    from portal.tokens.models import Status

    counts = run.counts
    issued = counts.get("issued", 0)
    recorded = ev.count(Status.ACTIVE, Status.RENEWED, Status.REVOKED)
    audited = event_count(
        action__in=[Action.TOKEN_ISSUED, Action.TOKEN_RENEWED], outcome=Outcome.SUCCESS
    )
    recording_failures = sum(
        1
        for r in ev.rows
        if r["status"] == Status.FAILED and r["failure_kind"] in RECORDING_FAILURES
    )
    taken_back = len(ev.taken_back)
    taken_back_ok = taken_back <= recording_failures and (not taken_back or run.outage is not None)
    return Verdict(
        issued == recorded + taken_back
        and recorded == audited
        and not ev.phantom
        and taken_back_ok,
        "issued by the stub = recorded issuances = token.issued + token.renewed events",
        f"stub issued {issued} (password {counts.get('issued_password', 0)}, client credentials "
        f"{counts.get('issued_client_credentials', 0)}, refresh "
        f"{counts.get('issued_refresh_token', 0)}); recorded {recorded} = active "
        f"{ev.status_counts[Status.ACTIVE]} + renewed {ev.status_counts[Status.RENEWED]} + "
        f"revoked {ev.status_counts[Status.REVOKED]}; audit events {audited}; taken back after a "
        f"recording failure {taken_back}"
        + (f"; {len(ev.phantom)} recorded tokens the stub never issued" if ev.phantom else ""),
        {
            "stub_issued": issued,
            "stub_revoked": counts.get("revoked", 0),
            "recorded": recorded,
            "taken_back": taken_back,
            "audited_issued_renewed": audited,
        },
    )


def revokes_recorded(run: Run, ev: Evidence) -> Verdict:
    """Every token the stub revoked is a ``revoked`` issuance, or a taken-back one; the stub's
    state of every recorded token agrees with its status (live ↔ active, rotated ↔ renewed,
    revoked ↔ revoked). A disagreement is *explained* only when the stub changed the token's
    state while the database was down (the portal could not record the outcome; the token is
    dead upstream, not live and unrecorded) — it fails otherwise."""
    from portal.tokens.models import Status

    counts = run.counts
    revoked_rows = sum(
        1
        for t in run.stub_tokens
        if t["state"] == "revoked" and ev.by_fp.get(t["fp"], {}).get("status") == Status.REVOKED
    )
    explained_revoked = sum(1 for t, _ in ev.explained if t["state"] == "revoked")
    return Verdict(
        not ev.disagree and (not ev.explained or run.outage is not None),
        "every revoke the stub saw is recorded; every recorded token's state agrees",
        f"stub revoked {counts.get('revoked', 0)} = revoked issuances {revoked_rows} + taken back "
        f"{len(ev.taken_back)} + explained {explained_revoked}; stub rotated "
        f"{counts.get('rotated', 0)}"
        + (f"; {len(ev.disagree)} DISAGREE ({pairs(ev.disagree)})" if ev.disagree else "")
        + (
            f"; {len(ev.explained)} explained by the database outage ({pairs(ev.explained)})"
            if ev.explained
            else ""
        ),
        {"disagreements_explained_by_outage": len(ev.explained)},
    )


def shown_is_recorded(run: Run, ev: Evidence) -> Verdict:
    """Every token a result page displayed has the fingerprint of that issuance, and both
    halves of a double submit landed on the same issuance."""
    from portal.vault import crypto

    results = run.results
    wrong_shown = [
        i
        for i, token in results.shown
        if ev.by_id.get(i, {}).get("access_token_fingerprint") != crypto.fingerprint(token)
    ]
    doubles = sum(1 for s in results.samples if s.kind == "double") // 2
    return Verdict(
        not wrong_shown and not results.double_mismatch,
        "every token shown is the one recorded; double submits minted one token",
        f"{len(results.shown)} tokens shown, {len(wrong_shown)} mismatched; {doubles} double "
        f"submits, {len(results.double_mismatch)} landed on different issuances",
    )


def audit_chain_verifies(run: Run, ev: Evidence) -> Verdict:
    """``manage.py verify_audit``: contiguous ``seq`` and every hash recomputed."""
    verify = subprocess.run(
        [PY, "manage.py", "verify_audit"], cwd=ROOT, env=run.env, capture_output=True, text=True
    )
    said = verify.stdout.strip() or verify.stderr.strip()
    return Verdict(
        verify.returncode == 0,
        "manage.py verify_audit",
        said.splitlines()[-1][:200] if said else "",
    )


def no_5xx(run: Run, ev: Evidence) -> Verdict:
    """No 500 (or other 5xx) at all, and every request answered; a 503 "temporarily
    unavailable" page is counted apart and allowed only for requests that overlapped the
    database restart."""
    samples = run.results.samples
    fives = [s for s in samples if s.status >= 500]
    five_hundreds = [s for s in fives if s.status != 503]
    unavailable = [s for s in fives if s.status == 503]
    stray_503 = [s for s in unavailable if not overlaps_outage(s, run.outage)]
    no_answer = [s for s in samples if s.status == 0]
    return Verdict(
        not five_hundreds and not stray_503 and not no_answer,
        "no 5xx (503 'temporarily unavailable' allowed only during the database restart)",
        f"{len(five_hundreds)} × 500/5xx, {len(unavailable)} × 503 "
        f"({len(unavailable) - len(stray_503)} during the restart, {len(stray_503)} outside)"
        + (
            f", {len(no_answer)} without an answer: {dict(run.results.errors)}" if no_answer else ""
        ),
        {"http_500": len(five_hundreds), "http_503": len(unavailable), "no_answer": len(no_answer)},
    )


def failures_recorded(run: Run, ev: Evidence) -> Verdict:
    """Each ``failed`` issuance has a reason (kind and message) and its ``token.failed`` /
    ``token.reconciled`` audit event; every fault answer of the stub's /token is a failed
    issuance of the kind ``FAULT_KIND`` names; every fault answer of /revoke is a failed
    ``token.revoked`` event; every issuance has its ``token.requested`` event."""
    from portal.audit.models import Action, AuditEvent, Outcome
    from portal.tokens.models import Status

    counts = run.counts
    failed = [r for r in ev.rows if r["status"] == Status.FAILED]
    reasonless = [r for r in failed if not (r["failure_kind"] and r["failure_message"])]
    fail_events = Counter(
        AuditEvent.objects.filter(
            action__in=[Action.TOKEN_FAILED, Action.TOKEN_RECONCILED], outcome=Outcome.FAILURE
        ).values_list("target_id", flat=True)
    )
    unaudited = [r for r in failed if fail_events.get(str(r["id"]), 0) < 1]
    requested = event_count(action=Action.TOKEN_REQUESTED)
    kinds = Counter(r["failure_kind"] for r in failed)
    fault_mismatch = []
    for kind in sorted(set(FAULT_KIND.values())):
        answers = [a for a, k in FAULT_KIND.items() if k == kind]
        answered = sum(counts.get(f"fault_token_{a}", 0) for a in answers)
        if answered != kinds.get(kind, 0):
            fault_mismatch.append(
                f"stub {'+'.join(answers)} ×{answered} vs failed {kind} ×{kinds.get(kind, 0)}"
            )
    revoke_faults = sum(counts.get(f"fault_revoke_{a}", 0) for a in FAULT_KIND)
    # A revocation refused as "busy" (too many calls already waiting on the gateway) never
    # reached the stub, so it is no stub fault.
    revoke_failures = event_count(
        action=Action.TOKEN_REVOKED, outcome=Outcome.FAILURE
    ) - event_count(action=Action.TOKEN_REVOKED, outcome=Outcome.FAILURE, details__reason="busy")
    if revoke_faults != revoke_failures:
        fault_mismatch.append(
            f"stub revoke faults ×{revoke_faults} vs failed token.revoked events ×{revoke_failures}"
        )
    by_kind = ", ".join(f"{k} {v}" for k, v in kinds.most_common()) or "none"
    return Verdict(
        not reasonless and not unaudited and requested == len(ev.rows) and not fault_mismatch,
        "every failed attempt is a failed issuance with its reason and audit event",
        f"{len(failed)} failed ({by_kind}); {len(reasonless)} without a reason, {len(unaudited)} "
        f"without an audit event; token.requested {requested} for {len(ev.rows)} issuances; "
        f"failed revocations {revoke_failures}"
        + ("; " + "; ".join(fault_mismatch) if fault_mismatch else ""),
        {"failed_by_kind": dict(kinds)},
    )


def trickled_requests_failed(run: Run, ev: Evidence) -> Verdict | None:
    """Every /token request the stub trickled ended as a failed issuance of kind ``timeout``
    with its reason, requested while the trickle was on (a trickled answer mints nothing, so
    ``no_lost_token`` covers the rest). Reports how long they took, from the pending row to the
    recorded failure, against the client's connect + read timeout. None without a trickle."""
    from portal.tokens.models import Status

    shapes = {shape: run.counts.get(f"fault_token_{shape}", 0) for shape in TRICKLE_SHAPES}
    revoked = sum(run.counts.get(f"fault_revoke_{shape}", 0) for shape in TRICKLE_SHAPES)
    windows = run.timeline.windows("trickle")
    if not windows and not sum(shapes.values()):
        return None
    during = [
        r
        for r in issuances()
        .filter(status=Status.FAILED, failure_kind="timeout")
        .values("issued_at", "updated_at", "failure_message")
        if any(start - 1 <= r["issued_at"].timestamp() <= end + 1 for start, end in windows)
    ]
    took = [(r["updated_at"] - r["issued_at"]).total_seconds() for r in during]
    reasonless = sum(1 for r in during if not r["failure_message"])
    deadline = TOKEN_CONNECT_TIMEOUT + TOKEN_TIMEOUT
    slower = sum(1 for t in took if t > deadline)
    return Verdict(
        len(during) == sum(shapes.values()) and not reasonless,
        "every trickled request ended as a recorded failure with its reason",
        f"stub trickled {sum(shapes.values())} /token answers (headers "
        f"{shapes['trickle_headers']}, body {shapes['trickle_body']}) and {revoked} /revoke "
        f"answers; {len(during)} timeout failures requested while it was on, {reasonless} "
        f"without a reason; they took p50 {pct(took, 50):.1f} s, max {max(took, default=0):.1f} "
        f"s from request to recorded failure, {slower} longer than the client's "
        f"{deadline:g} s connect + read timeout",
        {
            "trickled_token_answers": sum(shapes.values()),
            "trickled_revoke_answers": revoked,
            "trickled_seconds_p50": pct(took, 50),
            "trickled_seconds_max": max(took, default=0),
        },
    )


INVARIANTS = (
    no_lost_token,
    issued_recorded_audited,
    revokes_recorded,
    shown_is_recorded,
    audit_chain_verifies,
    no_5xx,
    failures_recorded,
    trickled_requests_failed,
)


def check_all(run: Run) -> Checks:
    """Every invariant, printed as it is checked; ``checks.passed`` and ``checks.info`` after."""
    checks = Checks()
    checks.add(nothing_pending(run))
    ev = Evidence.gather(run)
    checks.info["issuances_by_status"] = dict(ev.status_counts)
    for invariant in INVARIANTS + scaleout.INVARIANTS:
        verdict = invariant(run, ev)
        if verdict is not None:
            checks.add(verdict)
    return checks
