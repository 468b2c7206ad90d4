"""What a run prints: the timeline, requests by outcome, throughput, latency and CPU figures."""

from __future__ import annotations

import os
import sys
from collections import Counter, defaultdict
from pathlib import Path


def say(text: str = "") -> None:
    print(text, flush=True)


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def report(
    *, results, stub_state, window, cpu, args, timeline, portal_desc, audit_appends: int
) -> dict:
    counts = stub_state["counts"]
    issued = counts.get("issued", 0)
    by_kind = defaultdict(Counter)
    for s in results.samples:
        by_kind[s.kind][s.outcome or str(s.status)] += 1
    generate_ok = [
        s.latency for s in results.samples if s.kind == "generate" and s.outcome == "issued"
    ]
    delay = args.delay_ms / 1000
    requests_made = sum(1 for s in results.samples if s.kind != "login")
    overhead = [x - delay for x in generate_ok]
    figures = {
        "users": args.users,
        "nodes": args.nodes,
        "seconds": round(window, 2),
        "delay_ms": args.delay_ms,
        "faults": args.faults,
        "portal": portal_desc,
        "issuances": issued,
        "issuances_per_s": issued / window if window else 0,
        "requests": requests_made,
        "mix": args.mix,
        "generate_median_ms": pct(generate_ok, 50) * 1000,
        "generate_p95_ms": pct(generate_ok, 95) * 1000,
        "generate_p99_ms": pct(generate_ok, 99) * 1000,
        "overhead_median_ms": pct(overhead, 50) * 1000,
        "overhead_p95_ms": pct(overhead, 95) * 1000,
        "overhead_p99_ms": pct(overhead, 99) * 1000,
        "audit_appends": audit_appends,
        "audit_appends_per_s": audit_appends / window if window else 0,
        "cpu_portal_s": cpu["portal"],
        "cpu_portal_ms_per_request": cpu["portal"] / requests_made * 1000 if requests_made else 0,
        "cpu_portal_ms_per_issuance": cpu["portal"] / issued * 1000 if issued else float("nan"),
        "cpu_postgres_ms_per_issuance": cpu["postgres"] / issued * 1000 if issued else 0,
        "cpu_stub_ms_per_issuance": cpu["stub"] / issued * 1000 if issued else 0,
        "cpu_loadgen_ms_per_issuance": cpu["loadgen"] / issued * 1000 if issued else 0,
        "cpu_all_ms_per_issuance": sum(cpu.values()) / issued * 1000 if issued else float("nan"),
        "cores": os.cpu_count() or 1,
        "load_average": os.getloadavg()[0],
    }
    # Every process of the run shares this machine's cores: at most cores / (their CPU per
    # issuance) issuances a second, however many users.
    figures["cpu_ceiling_per_s"] = (
        figures["cores"] / figures["cpu_all_ms_per_issuance"] * 1000 if issued else 0
    )
    say()
    say(
        f"Run: {portal_desc}; {args.users} users for {window:.1f} s; upstream delay "
        f"{args.delay_ms:g} ms; faults: {args.faults}; mix: {args.mix}"
    )
    for offset, what in timeline.events:
        say(f"  t={offset:5.1f} s  {what}")
    if timeline.outage:
        say(f"  database restart took {timeline.outage[1] - timeline.outage[0]:.2f} s")
    say("Requests (outcome or HTTP status):")
    for kind in ("login", "generate", "double", "result", "renew", "revoke"):
        if by_kind.get(kind):
            say(f"  {kind:<9} " + ", ".join(f"{k} {v}" for k, v in by_kind[kind].most_common()))
    say("Figures:")
    say(
        f"  issuances (stub /token successes, renewals included): {issued} in {window:.1f} s "
        f"= {figures['issuances_per_s']:.1f}/s"
    )
    say(
        f"  audit appends{' (one chain, every node)' if args.nodes > 1 else ''}: "
        f"{audit_appends} in {window:.1f} s = "
        f"{figures['audit_appends_per_s']:.1f}/s"
    )
    say(
        f"  generate POST latency: median {figures['generate_median_ms']:.1f} ms, p95 "
        f"{figures['generate_p95_ms']:.1f} ms, p99 {figures['generate_p99_ms']:.1f} ms "
        f"({len(generate_ok)} successful)"
    )
    say(
        f"  overhead over the {args.delay_ms:g} ms upstream: median "
        f"{figures['overhead_median_ms']:.1f} ms, p95 {figures['overhead_p95_ms']:.1f} ms, "
        f"p99 {figures['overhead_p99_ms']:.1f} ms"
    )
    say(
        f"  CPU per issuance: portal {figures['cpu_portal_ms_per_issuance']:.2f} ms "
        f"(gunicorn master + workers, {cpu['portal']:.2f} s for {requests_made} requests = "
        f"{figures['cpu_portal_ms_per_request']:.2f} ms per request; mix: {args.mix}); "
        f"PostgreSQL {figures['cpu_postgres_ms_per_issuance']:.2f} ms; "
        f"stub {figures['cpu_stub_ms_per_issuance']:.2f} ms; load generator "
        f"{figures['cpu_loadgen_ms_per_issuance']:.2f} ms"
    )
    say(
        f"  CPU ceiling: {figures['cores']} cores / {figures['cpu_all_ms_per_issuance']:.2f} ms "
        f"of CPU per issuance (all of the run's processes) = "
        f"{figures['cpu_ceiling_per_s']:.1f} issuances/s; reached "
        f"{figures['issuances_per_s']:.1f}/s; load average {figures['load_average']:.1f} (other "
        "jobs on the machine share the cores too)"
    )
    return figures


def goals(figures: dict, args) -> None:
    """The performance goals, judged on a quiet run only."""
    if args.faults != "none":
        return
    say("Goals (a quiet run):")
    for label, value, limit, above in (
        ("issuances/s >= 50", figures["issuances_per_s"], 50, True),
        ("p95 overhead <= 50 ms", figures["overhead_p95_ms"], 50, False),
        ("portal CPU per issuance <= 15 ms", figures["cpu_portal_ms_per_issuance"], 15, False),
        *(
            [
                (
                    "portal CPU per issuance request alone <= 6 ms",
                    figures["cpu_portal_ms_per_issuance"],
                    6,
                    False,
                )
            ]
            if args.mix == "generate"
            else []
        ),
    ):
        met = value >= limit if above else value <= limit
        say(f"  {'met   ' if met else 'MISSED'}  {label}: {value:.1f}")


def print_profile(directory: Path, top: int = 30) -> None:
    import pstats

    files = sorted(str(p) for p in directory.glob("worker-*.prof"))
    if not files:
        say(f"No profiles were written to {directory}")
        return
    stats = pstats.Stats(*files)
    stats.strip_dirs()
    say(f"Profile of every request ({len(files)} worker(s)), by cumulative time:")
    stats.sort_stats("cumulative").print_stats(top)
    say("By own time:")
    stats.sort_stats("tottime").print_stats(top)
    sys.stdout.flush()
