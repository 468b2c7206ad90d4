"""``python -m benchmarks.load``: the command line of the load and consistency test (see the
package's docstring for what it does)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load import CLIENT_TIMEOUT, scaleout
from benchmarks.load.cast import portal_env, prepare
from benchmarks.load.evidence import Run
from benchmarks.load.faults import FAULTS, Timeline, run_faults, schedule
from benchmarks.load.processes import Database, Nodes, Stub, tree_cpu
from benchmarks.load.report import goals, print_profile, report, say
from benchmarks.load.users import Results, SimulatedUser


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="Load and consistency test: the portal under gunicorn against a stub gateway.",
    )
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--delay-ms", type=float, default=50, help="the stub's upstream delay")
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--worker-class", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, help="threads per gthread worker")
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="portal instances (gunicorn on ports of their own) on the one database; the users' "
        "requests go to each in turn. Default workers per node: cores / nodes",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url", help="a PostgreSQL server; a database load_<pid> is created on it"
    )
    where.add_argument(
        "--pg-throwaway",
        action="store_true",
        help="a throwaway PostgreSQL cluster (the default; needed for the dbrestart fault)",
    )
    parser.add_argument(
        "--faults",
        default="none",
        help="none, all, or a comma list of 503,hang,html,dbrestart,trickle",
    )
    parser.add_argument(
        "--small", action="store_true", help="CI size: 4 users, 24 s (unless given)"
    )
    parser.add_argument(
        "--mix",
        choices=("full", "generate"),
        default="full",
        help="full: generate, result page, renew, revoke, double submits (the default); "
        "generate: only the generate POST, to measure the cost of one issuance request alone",
    )
    parser.add_argument("--log-level", default="INFO", help="the portal's LOG_LEVEL")
    parser.add_argument("--json", type=Path, help="also write the figures and checks here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="cProfile every request (gunicorn_profile.conf.py in this package); print the top "
        "functions and keep worker-<pid>.prof files in DIR (figures are then inflated)",
    )
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    given = set(a.split("=")[0] for a in (argv if argv is not None else sys.argv[1:]))
    if args.small:
        if "--users" not in given:
            args.users = 4
        if "--seconds" not in given:
            args.seconds = 24
    if args.faults == "all":
        args.fault_list = list(FAULTS)
    elif args.faults == "none":
        args.fault_list = []
    else:
        args.fault_list = [f.strip() for f in args.faults.split(",") if f.strip()]
        unknown = set(args.fault_list) - set(FAULTS)
        if unknown:
            parser.error(f"unknown fault(s): {', '.join(sorted(unknown))}")
    if "dbrestart" in args.fault_list and args.database_url:
        parser.error("the dbrestart fault needs the throwaway cluster (leave out --database-url)")
    if args.users < 1 or args.seconds <= 0 or args.nodes < 1:
        parser.error("--users, --seconds and --nodes must be positive")
    return args


# --- The measured window ----------------------------------------------------------------------------


@dataclass
class Window:
    results: Results
    timeline: Timeline
    seconds: float
    wall: tuple[float, float]  # wall clock start and end
    cpu: dict[str, float]  # CPU seconds spent in the window, by process group


def cpu_now(*, nodes, stub, database) -> dict:
    pg_pid = database.postmaster_pid()
    return {
        "portal": nodes.cpu(),
        "postgres": tree_cpu(pg_pid),
        "postgres_pid": pg_pid,
        "stub": tree_cpu(stub.proc.pid),
        "loadgen": sum(os.times()[:2]),
    }


def cpu_spent(before: dict, after: dict) -> dict:
    spent = {k: after[k] - before[k] for k in ("portal", "stub", "loadgen")}
    # After a restart the postmaster is new: count it from zero.
    same_postmaster = after["postgres_pid"] == before["postgres_pid"]
    spent["postgres"] = after["postgres"] - (before["postgres"] if same_postmaster else 0)
    return spent


def drive(args, *, nodes, stub, database, credential_id: str) -> Window | None:
    """Log the users in, then let them work for ``args.seconds`` while the faults happen.
    None when not every user could log in."""
    results = Results()
    barrier = threading.Barrier(args.users + 1)
    stop_at = [float("inf")]
    users = [
        SimulatedUser(
            index=n,
            bases=nodes.bases,
            credential_id=credential_id,
            results=results,
            start_barrier=barrier,
            stop_at=stop_at,
            seed=args.seed * 1000 + n,
            mix=args.mix,
        )
        for n in range(args.users)
    ]
    for user in users:
        user.start()
    barrier.wait(timeout=120)
    if not all(u.logged_in for u in users):
        say("  FAIL: not every user could log in; see " + ", ".join(map(str, nodes.log_paths)))
        return None
    before = cpu_now(nodes=nodes, stub=stub, database=database)
    t0, started = time.monotonic(), time.time()
    stop_at[0] = t0 + args.seconds
    timeline = Timeline()
    faults = threading.Thread(
        target=run_faults,
        args=(schedule(args.fault_list, args.seconds),),
        kwargs={"t0": t0, "stub": stub, "database": database, "timeline": timeline},
        daemon=True,
    )
    faults.start()
    say(f"  {args.users} users logged in; running for {args.seconds:g} s …")
    for user in users:
        user.join(args.seconds + CLIENT_TIMEOUT * 3)
    faults.join(5)
    seconds = time.monotonic() - t0
    after = cpu_now(nodes=nodes, stub=stub, database=database)
    return Window(results, timeline, seconds, (started, time.time()), cpu_spent(before, after))


def bare_request_cpu(nodes, count: int = 1000) -> float:
    """Portal CPU milliseconds per bare request - ``GET /healthz``: no session, one ``SELECT 1`` -
    sent one after another on one connection right after the window. What this machine charges
    for the smallest request at the moment, to read the issuance's figure against: the same code
    measured 6.2 and 12.3 ms of CPU per issuance at different hours of one day."""
    import requests

    url = f"{nodes.bases[0]}/healthz"
    try:
        with requests.Session() as session:
            session.get(url, timeout=CLIENT_TIMEOUT)
            before = nodes.cpu()
            for _ in range(count):
                session.get(url, timeout=CLIENT_TIMEOUT)
            return (nodes.cpu() - before) / count * 1000
    except requests.RequestException as exc:  # a figure for the reader, not a check: say so
        say(f"  machine reference not measured: {exc!r}")
        return float("nan")


# --- A whole run --------------------------------------------------------------------------------------


def run(args, workdir: Path, cleanup: contextlib.ExitStack) -> int:
    database = Database(url=args.database_url, workdir=workdir)
    cleanup.callback(database.stop)
    say(f"Load test: work directory {workdir}")
    database_url = database.start()
    say("  database ready" + (" (throwaway cluster)" if database.restartable else ""))
    stub = Stub(delay_ms=args.delay_ms, workdir=workdir)
    cleanup.callback(_quietly, stub.stop)
    env = portal_env(args, database_url, workdir)
    cleanup.callback(_quietly, _close_database_connections)
    credential_id = prepare(env, users=args.users, stub=stub)
    say(f"  migrated; {args.users} users, one team, one credential on the stub at {stub.base}")
    say(
        "  rate limits disabled for this run (PORTAL_RATE_LIMIT_PER_USER=0, "
        "PORTAL_RATE_LIMIT_PER_TEAM=0)"
        + ("; no per-gateway call limit (--mix generate)" if args.mix == "generate" else "")
    )
    nodes = Nodes(env=env, args=args, workdir=workdir)
    cleanup.callback(_quietly, nodes.stop)
    nodes.wait_ready()
    say(f"  portal up at {', '.join(nodes.bases)}: {nodes.describe()}")

    issued_before = stub.state()["counts"].get("issued", 0)
    window = drive(args, nodes=nodes, stub=stub, database=database, credential_id=credential_id)
    if window is None:
        return 2
    portal_desc = nodes.describe()
    stub.set_mode("ok")
    bare_ms = bare_request_cpu(nodes)
    nodes.stop()
    stub_state = stub.state()
    if issued_before:
        say(f"  note: the stub issued {issued_before} tokens before the measured window")
    if window.timeline.error:
        say(f"  FAIL: a fault could not be applied: {window.timeline.error}")
        return 2
    figures = report(
        results=window.results,
        stub_state=stub_state,
        window=window.seconds,
        cpu=window.cpu,
        args=args,
        timeline=window.timeline,
        portal_desc=portal_desc,
        audit_appends=scaleout.audit_appends(*window.wall),
    )
    figures["cpu_bare_request_ms"] = bare_ms
    say(
        f"  machine reference: a bare GET /healthz (no session, one SELECT 1) cost {bare_ms:.2f} ms "
        f"of portal CPU right after the window; an issuance cost "
        f"{figures['cpu_portal_ms_per_issuance'] / bare_ms:.1f} times that"
    )
    probes = probe_nodes(args, env=env, workdir=workdir, stub=stub, cleanup=cleanup)
    run = Run(
        env=env,
        stub_state=stub.state(),  # the probes' tokens included
        stub_tokens=stub.tokens(),
        results=window.results,
        timeline=window.timeline,
        nodes=args.nodes,
        probes=probes,
    )
    return finish(args, figures=figures, log_paths=nodes.log_paths, run=run)


def probe_nodes(args, *, env, workdir: Path, stub, cleanup: contextlib.ExitStack):
    """With several nodes: restart them with low rate limits and lockout threshold, and probe
    whether those hold across nodes (``scaleout.py``). None with one node."""
    if args.nodes < 2:
        return None
    say(
        f"Scale-out probes: the nodes restarted with {scaleout.PER_USER} tokens per user and "
        f"{scaleout.PER_TEAM} per team a minute, lockout after {scaleout.LOGIN_FAILURES} failures"
    )
    nodes = Nodes(env=scaleout.probe_env(env), args=args, workdir=workdir, name="probe-node")
    cleanup.callback(_quietly, nodes.stop)
    nodes.wait_ready()
    try:
        return scaleout.probe_sharing(nodes.bases, stub=stub)
    finally:
        nodes.stop()


def finish(args, *, figures: dict, log_paths: list[Path], run) -> int:
    """Check the invariants, print what helps to understand a failure, write --json; the exit
    status."""
    from benchmarks.load.invariants import check_all

    say("Invariants:")
    checks = check_all(run)
    goals(figures, args)
    for log_path in log_paths:
        log_text = log_path.read_text(errors="replace")
        if "Traceback" in log_text and checks.info.get("http_500"):
            first = log_text.index("Traceback")
            say(f"First traceback in {log_path.name}:")
            say(log_text[first : first + 3000])
    if args.profile:
        print_profile(args.profile)
    if args.json:
        rows = [{"ok": ok, "name": name, "detail": detail} for ok, name, detail in checks.rows]
        args.json.write_text(
            json.dumps(
                {"figures": figures, "info": checks.info, "checks": rows}, indent=2, default=str
            )
        )
    say()
    say("RESULT: " + ("PASS — every invariant holds" if checks.passed else "FAIL"))
    return 0 if checks.passed else 1


def _quietly(stop) -> None:
    with contextlib.suppress(Exception):
        stop()


def _close_database_connections() -> None:
    from django.db import connections

    connections.close_all()


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="portal-load-", dir="/tmp"))
    # As root the cluster runs as the postgres user, who must reach the cluster directory.
    workdir.chmod(0o755)
    with contextlib.ExitStack() as cleanup:
        if args.keep:
            cleanup.callback(say, f"Logs kept in {workdir}")
        else:
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        try:
            return run(args, workdir, cleanup)
        except Exception as exc:  # noqa: BLE001 - the harness itself broke: say so, exit 2
            say(f"The load test could not run: {exc!r}")
            traceback.print_exc()
            return 2


if __name__ == "__main__":
    sys.exit(main())
