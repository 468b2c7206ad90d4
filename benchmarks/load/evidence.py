"""What a run left behind for the checks (:class:`Run`), the issuances matched against the stub's
tokens (:class:`Evidence`), and the printed list of verdicts (:class:`Checks`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from benchmarks.load.faults import Timeline, in_outage
from benchmarks.load.report import say
from benchmarks.load.users import Results

# Failure kinds of an issuance whose token the portal revoked again because it could not record it.
RECORDING_FAILURES = ("recording_failed", "interrupted", "recording_failed_not_revoked")


@dataclass
class Run:
    """What a run left behind for the checks."""

    env: dict
    stub_state: dict
    stub_tokens: list[dict]
    results: Results
    timeline: Timeline
    nodes: int = 1
    probes: object = None  # scaleout.Probes, when the nodes' sharing was probed

    @property
    def counts(self) -> dict:
        return self.stub_state["counts"]

    @property
    def outage(self):
        return self.timeline.outage


@dataclass
class Verdict:
    ok: bool
    name: str
    detail: str = ""
    info: dict = field(default_factory=dict)


class Checks:
    def __init__(self) -> None:
        self.rows: list[tuple[bool, str, str]] = []
        self.info: dict = {}

    def add(self, verdict: Verdict) -> bool:
        self.rows.append((verdict.ok, verdict.name, verdict.detail))
        self.info.update(verdict.info)
        detail = f" — {verdict.detail}" if verdict.detail else ""
        say(f"  {'PASS' if verdict.ok else 'FAIL'}  {verdict.name}{detail}")
        return verdict.ok

    @property
    def passed(self) -> bool:
        return all(ok for ok, _, _ in self.rows)


@dataclass
class Evidence:
    """The issuances in the database, and the stub's tokens matched against them by the HMAC
    fingerprint of the access token."""

    rows: list[dict]
    by_fp: dict[str, dict]
    by_id: dict[str, dict]
    status_counts: Counter
    lost: list[dict] = field(default_factory=list)  # live at the stub, never recorded
    taken_back: list[dict] = field(default_factory=list)  # revoked, never recorded
    unrecorded_odd: list[dict] = field(default_factory=list)  # rotated, never recorded
    disagree: list[tuple[dict, dict]] = field(default_factory=list)  # (stub token, issuance)
    explained: list[tuple[dict, dict]] = field(default_factory=list)  # ... by the outage
    phantom: list[dict] = field(default_factory=list)  # recorded, never issued by the stub

    @classmethod
    def gather(cls, run: Run) -> Evidence:
        from portal.tokens.models import Status
        from portal.vault import crypto

        rows = list(
            issuances().values(
                "id", "status", "access_token_fingerprint", "failure_kind", "failure_message"
            )
        )
        by_fp = {r["access_token_fingerprint"]: r for r in rows if r["access_token_fingerprint"]}
        ev = cls(
            rows=rows,
            by_fp=by_fp,
            by_id={str(r["id"]): r for r in rows},
            status_counts=Counter(r["status"] for r in rows),
        )
        expected = {"live": Status.ACTIVE, "rotated": Status.RENEWED, "revoked": Status.REVOKED}
        seen = set()
        for token in run.stub_tokens:
            fp = token["fp"] = crypto.fingerprint(token["access_token"])
            row = by_fp.get(fp)
            if row is None:
                if token["state"] == "live":
                    ev.lost.append(token)
                elif token["state"] == "revoked":
                    ev.taken_back.append(token)
                else:
                    ev.unrecorded_odd.append(token)
                continue
            seen.add(fp)
            if row["status"] != expected[token["state"]]:
                changed = token["changed_at"]
                if changed is not None and in_outage(changed, run.outage, before=2):
                    ev.explained.append((token, row))
                else:
                    ev.disagree.append((token, row))
        ev.phantom = [r for fp, r in by_fp.items() if fp not in seen]
        return ev

    def count(self, *statuses) -> int:
        return sum(self.status_counts[s] for s in statuses)


def issuances():
    from portal.tokens.models import Issuance

    return Issuance.objects


def event_count(**filters) -> int:
    from portal.audit.models import AuditEvent

    return AuditEvent.objects.filter(**filters).count()


def pairs(found: list[tuple[dict, dict]]) -> str:
    by_pair = Counter((t["state"], r["status"]) for t, r in found)
    return ", ".join(f"stub {a} / portal {b} ×{n}" for (a, b), n in by_pair.items())
