"""Faults, one after another with quiet periods between them: the stub gateway misbehaves
(503 + Retry-After, a hang past the portal's read timeout, 200 with an HTML page, a trickled
answer for a share of the requests) and the throwaway PostgreSQL cluster restarts once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

# Trickle last: a trickled request holds its user for seconds, which would starve the faults
# after it of traffic.
FAULTS = ("503", "hang", "html", "dbrestart", "trickle")
STUB_MODE = {"503": "503", "hang": "hang", "html": "html", "trickle": "trickle"}
# What the portal must record for each faulty answer of the stub (its counters' names). A
# trickled answer outlasts the client's connect + read timeout, so it must end as a timeout.
FAULT_KIND = {
    "503": "rate_limited",
    "hang": "timeout",
    "html": "bad_response",
    "trickle_headers": "timeout",
    "trickle_body": "timeout",
}
# The share of the requests the stub trickles while the trickle fault is on.
TRICKLE_SHARE = 0.25


@dataclass
class Timeline:
    events: list[tuple[float, str]] = field(default_factory=list)  # (offset s, what)
    outage: tuple[float, float] | None = None  # wall clock of the DB restart (start, end)
    # (stub mode, wall clock start, end) of every fault of the stub
    modes: list[tuple[str, float, float]] = field(default_factory=list)
    error: str = ""

    def stub_mode(self, mode: str, at: float) -> None:
        """Record that the stub switched to ``mode`` at wall clock ``at``."""
        if self.modes and self.modes[-1][2] == float("inf"):
            self.modes[-1] = (*self.modes[-1][:2], at)
        if mode != "ok":
            self.modes.append((mode, at, float("inf")))

    def windows(self, mode: str) -> list[tuple[float, float]]:
        return [(start, end) for m, start, end in self.modes if m == mode]


def schedule(faults: list[str], seconds: float) -> list[tuple[float, str]]:
    """Quiet, fault, quiet, fault, …, quiet: 2k+1 equal slots for k faults."""
    if not faults:
        return []
    slot = seconds / (2 * len(faults) + 1)
    plan = []
    for n, fault in enumerate(faults):
        start = slot * (2 * n + 1)
        plan.append((start, fault))
        if fault != "dbrestart":
            plan.append((start + slot, "ok"))
    return plan


def run_faults(plan, *, t0: float, stub, database, timeline: Timeline) -> None:
    """Apply ``plan`` (offsets from the monotonic ``t0``); runs in its own thread."""
    for offset, what in plan:
        delay = t0 + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        timeline.events.append((time.monotonic() - t0, what))
        try:
            if what == "dbrestart":
                began = time.time()
                database.restart()
                timeline.outage = (began, time.time())
                timeline.events.append((time.monotonic() - t0, "database back"))
            else:
                mode = STUB_MODE.get(what, "ok")
                stub.set_mode(mode, share=TRICKLE_SHARE)
                timeline.stub_mode(mode, time.time())
        except Exception as exc:  # noqa: BLE001 - reported as a harness failure below
            timeline.error = f"{what}: {exc!r}"


def in_outage(when: float, outage, *, before: float = 0.0, after: float = 1.0) -> bool:
    return outage is not None and outage[0] - before <= when <= outage[1] + after


def overlaps_outage(sample, outage) -> bool:
    if outage is None:
        return False
    return sample.started <= outage[1] + 1.0 and sample.started + sample.latency >= outage[0]
