"""Slow-gateway benchmark: can one slow gateway take the portal down?

    .venv/bin/python -m benchmarks.slow_gateway [--users 32] [--seconds 15] [--interval 0.25]
        [--rounds hang,trickle] [--max-concurrent N] [--baseline-seconds 3]
        [--max-requests 20000] [--workers W] [--threads K] [--json FILE] [--keep]

(``.venv/bin/python benchmarks/slow_gateway.py ...`` works too.) The claim measured: *the login
page, a login, the dashboard and /healthz answer within 1 s while N users keep token requests
hanging on a slow gateway*. The portal bounds each gateway call by one deadline
(``PORTAL_TOKEN_TIMEOUT``) and lets at most ``PORTAL_GATEWAY_MAX_CONCURRENT`` calls per process
wait on one gateway; the next is refused at once as ``busy``. Pass ``--max-concurrent 100`` (or
set ``PORTAL_GATEWAY_MAX_CONCURRENT``) to see what the portal does without that limit.

It reuses the load test's parts (``benchmarks/load``), all on 127.0.0.1:

1. A throwaway PostgreSQL cluster (``scripts/pg-throwaway.sh``), the stub gateway (its own
   process), the portal under gunicorn with the project's ``gunicorn.conf.py`` (its default
   workers and threads unless told) and the load test's environment (production settings, rate
   limits off, ``PORTAL_TOKEN_TIMEOUT`` 3 s, connect timeout 1 s); N + 2 users (two for the
   probes) in one team with a credential on the stub.
2. A baseline: the probes below for a few seconds with nobody else about (reported, not judged).
3. One round per ``--rounds`` entry: the stub switched to ``hang`` (each /token call held 4.5 s,
   past the deadline) or ``trickle`` (every answer dripped over 8 s, each piece within the read
   timeout, so only the deadline ends it). N logged-in users each loop for ``--seconds``: POST
   the generate form, and when it returns, POST it again at once - N requests always in flight,
   at most ``--max-requests`` in the round. Meanwhile, each on its own thread and session, every
   ``--interval`` seconds: ``GET /healthz``, ``GET /accounts/login/`` and the dashboard
   (``GET /``, logged in as a user of its own); every 4 intervals a whole login (form, then
   ``POST /accounts/login/``, a fresh session; the POST is what is timed).

Printed per round: each probe's p50 / p95 / max latency and how many took 1 s or more (or
failed), how the generate requests ended as their pages said (issued / busy / timeout / other,
with duration p50 / max each) and as the database recorded them (failed issuances by
``failure_kind``), how many calls the stub received and how many the portal held on it at once,
the portal's CPU and the load average. **PASS** when every probe of every round answered as
expected in under 1 s; exit status 0 on PASS, 1 on FAIL, 2 when the benchmark could not run.
Everything it starts is stopped again, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/slow_gateway.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from benchmarks.load import (  # noqa: E402
    HANG_SECONDS,
    TOKEN_CONNECT_TIMEOUT,
    TOKEN_TIMEOUT,
    TRICKLE_SECONDS,
    TRICKLE_STEPS,
)
from benchmarks.load.cast import portal_env, prepare  # noqa: E402
from benchmarks.load.processes import Database, Portal, Stub, children  # noqa: E402
from benchmarks.load.report import pct, say  # noqa: E402
from benchmarks.load.users import (  # noqa: E402
    Results,
    SimulatedUser,
    loopback_cookies,
    new_session,
)

GOAL_SECONDS = 1.0
# A probe that gets no answer at all within this long is recorded as this long (and over 1 s).
PROBE_TIMEOUT = 10.0
LOGIN_EVERY = 4  # intervals between two whole-login probes (a login hashes a password)
ROUNDS = ("hang", "trickle")
HELD_SAMPLE_SECONDS = 0.05
PROBE_ORDER = ["GET /healthz", "GET /accounts/login/", "POST /accounts/login/", "GET / (logged in)"]
# gunicorn's access log line (gunicorn.conf.py): the time a worker thread spent on the request,
# from taking it up to the response - so the client's latency less this is time spent queued.
ACCESS_LINE = re.compile(r'"(GET|POST) (\S+) HTTP/[\d.]+" (\d+) \S+ ([\d.]+)s')
SERVER_SIDE = {  # a probe -> its request in the access log
    "GET /healthz": ("GET", "/healthz"),
    "GET /accounts/login/": ("GET", "/accounts/login/"),
    "POST /accounts/login/": ("POST", "/accounts/login/"),
    "GET / (logged in)": ("GET", "/"),
    "generate": ("POST", "/tokens/generate/"),
}
RESULT_URL = re.compile(r"/tokens/[0-9a-f-]{36}/result/$")


# --- What was measured -----------------------------------------------------------------------------


@dataclass
class Probe:
    name: str
    started: float  # wall clock
    latency: float
    status: int  # 0: no answer
    ok: bool  # the expected status, in under GOAL_SECONDS


@dataclass
class Generate:
    kind: str  # issued, busy, timeout, ... (the page's message), form_error, http_<n>, no_answer
    started: float  # wall clock
    latency: float


@dataclass
class Round:
    mode: str
    seconds: float = 0.0
    wall: tuple[float, float] = (0.0, 0.0)
    probes: list[Probe] = field(default_factory=list)
    generates: list[Generate] = field(default_factory=list)
    recorded: Counter = field(default_factory=Counter)  # "failed/busy" -> n, from the database
    held: list[int] = field(default_factory=list)  # open connections to the stub, sampled
    stub_calls: int = 0  # /token calls that reached the stub during the round
    portal_cpu: float = 0.0
    loadavg: list[float] = field(default_factory=list)  # 1-minute load average, sampled
    log_span: tuple[int, int] = (0, 0)  # the round's part of gunicorn's log (byte offsets)
    server: dict[str, list[float]] = field(default_factory=dict)  # access-log times by probe

    @property
    def passed(self) -> bool:
        return bool(self.probes) and all(p.ok for p in self.probes)


def loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


# --- How a generate request ended --------------------------------------------------------------------


def page_kinds() -> list[tuple[str, str]]:
    """(needle, kind): the fixed start of each of the client's failure messages, longest first,
    so that a generate page's error can be told apart by kind."""
    from portal.gateway.errors import MESSAGES

    needles = {}
    for (kind, _grant), template in MESSAGES.items():
        needle = template.split("{")[0].strip()
        if len(needle) >= 20:
            needles.setdefault(needle, kind)
    return sorted(needles.items(), key=lambda item: -len(item[0]))


def classify(status: int | None, location: str, text: str, kinds: list[tuple[str, str]]) -> str:
    """The outcome of one generate POST from its answer (None: no answer)."""
    if status is None:
        return "no_answer"
    if status == 302:
        return "issued" if RESULT_URL.search(location) else "redirect"
    if status != 200:
        return f"http_{status}"
    page = html.unescape(text)
    for needle, kind in kinds:
        if needle in page:
            return kind
    return "form_error"


def server_times(log_path: Path, span: tuple[int, int]) -> dict[str, list[float]]:
    """The access log's request times (seconds) in the byte range ``span``, by probe name
    (``SERVER_SIDE``; "generate" for the generate POSTs)."""
    with open(log_path, "rb") as f:
        f.seek(span[0])
        text = f.read(span[1] - span[0]).decode(errors="replace")
    wanted = {request: name for name, request in SERVER_SIDE.items()}
    times: dict[str, list[float]] = {}
    for method, path, _status, seconds in ACCESS_LINE.findall(text):
        name = wanted.get((method, path))
        if name:
            times.setdefault(name, []).append(float(seconds))
    return times


def own_sockets() -> set[str]:
    """The inodes of this process's sockets (its control connection to the stub among them)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def connections_to(port: int, table: str = "/proc/net/tcp") -> int:
    """Established TCP connections from other processes of this machine (the portal's) to
    127.0.0.1:``port``: the gateway calls in flight. A call the deadline ended has shut its
    socket down, so it no longer counts."""
    remote = f"0100007F:{port:04X}"
    mine = own_sockets()
    with open(table) as f:
        next(f)
        rows = [line.split() for line in f]
    return sum(1 for row in rows if row[2:4] == [remote, "01"] and row[9] not in mine)


def sample_held(port: int, stop: threading.Event, out: list[int]) -> None:
    while not stop.wait(HELD_SAMPLE_SECONDS):
        out.append(connections_to(port))


# --- The probes and the users ------------------------------------------------------------------------


class Prober:
    """The probes of one phase, each on its own thread at its own pace."""

    def __init__(
        self, *, base: str, probe_user: SimulatedUser, login_index: int, interval: float
    ) -> None:
        self.base = base
        self.probe_user = probe_user  # logged in: the dashboard probe uses its session
        self.login_index = login_index  # the user the login probe logs in, again and again
        self.interval = interval
        self.anonymous = {"healthz": new_session(), "login_page": new_session()}
        self.lock = threading.Lock()

    def _get(self, session: requests.Session, path: str) -> int:
        status = session.get(self.base + path, allow_redirects=False, timeout=PROBE_TIMEOUT)
        loopback_cookies(session)  # a renewed session or CSRF cookie comes back Secure
        return status.status_code

    def _login(self) -> tuple[int, float]:
        """A whole login on a fresh session: (status, latency) of its POST."""
        user = SimulatedUser(
            index=self.login_index,
            bases=[self.base],
            credential_id="",
            results=Results(),
            start_barrier=None,
            stop_at=[0],
            seed=0,
        )
        user.login()
        posts = [s for s in user.results.samples if s.kind == "login"][1:]
        if not posts:  # the login page itself did not answer
            return 0, PROBE_TIMEOUT
        return posts[0].status, posts[0].latency

    def probes(self):
        """(name, expected status, every n intervals, call -> status or (status, latency))."""
        return [
            ("GET /healthz", 200, 1, lambda: self._get(self.anonymous["healthz"], "/healthz")),
            (
                "GET /accounts/login/",
                200,
                1,
                lambda: self._get(self.anonymous["login_page"], "/accounts/login/"),
            ),
            ("GET / (logged in)", 200, 1, lambda: self._get(self.probe_user.session, "/")),
            ("POST /accounts/login/", 302, LOGIN_EVERY, self._login),
        ]

    def start(self, stop: threading.Event, out: list[Probe]) -> list[threading.Thread]:
        threads = [
            threading.Thread(
                target=self._loop, args=(probe, stop, out), name=f"probe {probe[0]}", daemon=True
            )
            for probe in self.probes()
        ]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self, probe, stop: threading.Event, out: list[Probe]) -> None:
        name, expected, every, call = probe
        pace = self.interval * every
        next_at = time.monotonic()
        while not stop.is_set():
            started, t0 = time.time(), time.perf_counter()
            try:
                answer = call()
            except requests.RequestException:
                answer = 0
            status, latency = answer if isinstance(answer, tuple) else (answer, None)
            if latency is None:
                latency = time.perf_counter() - t0
            if status == 0:
                latency = max(latency, PROBE_TIMEOUT)
            ok = status == expected and latency < GOAL_SECONDS
            with self.lock:
                out.append(Probe(name, started, latency, status, ok))
            next_at = max(next_at + pace, time.monotonic())
            stop.wait(next_at - time.monotonic())


class Budget:
    """At most ``n`` generate requests in a round, shared by its users."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def generate_loop(user: SimulatedUser, *, stop, budget: Budget, kinds, out, lock) -> None:
    """POST the generate form; when it returns, again - until ``stop`` or the budget is spent."""
    while not stop.is_set() and budget.take():
        started = time.time()
        response = user._request(
            "generate", "POST", "/tokens/generate/", data=user._generate_form()
        )
        if response is None:
            kind, latency = "no_answer", time.time() - started
        else:
            kind = classify(
                response.status_code, response.headers.get("Location", ""), response.text, kinds
            )
            latency = response.sample.latency
        with lock:
            out.append(Generate(kind, started, latency))


# --- One round ---------------------------------------------------------------------------------------


def stub_calls(stub: Stub) -> int:
    """/token calls the stub has received: issued, refused or held by a fault."""
    counts = stub.state()["counts"]
    return sum(
        n
        for name, n in counts.items()
        if name.startswith("fault_token_") or name.startswith("issued_")
    )


def recorded(wall: tuple[float, float]) -> Counter:
    """Issuances requested in the wall-clock window as the database recorded them: a count by
    status (and failure kind)."""
    from django.db import connections

    from portal.tokens.models import Issuance

    since, until = (datetime.fromtimestamp(t, tz=UTC) for t in wall)
    rows = Issuance.objects.filter(issued_at__gte=since, issued_at__lte=until).values_list(
        "status", "failure_kind"
    )
    counts = Counter(f"{status}/{kind}" if kind else status for status, kind in rows)
    connections.close_all()
    return counts


def run_round(
    mode: str, *, args, portal: Portal, stub: Stub, users, prober: Prober, kinds
) -> Round:
    result = Round(mode)
    if mode == "trickle":
        stub.set_mode("trickle", share=1.0)  # every call trickled, not a share of them
    else:
        stub.set_mode(mode)
    calls_before, cpu_before = stub_calls(stub), portal.cpu()
    log_start = portal.log_path.stat().st_size
    stop, lock, budget = threading.Event(), threading.Lock(), Budget(args.max_requests)
    result.loadavg.append(loadavg())
    started, t0 = time.time(), time.monotonic()
    workers = [
        threading.Thread(
            target=generate_loop,
            args=(user,),
            kwargs={
                "stop": stop,
                "budget": budget,
                "kinds": kinds,
                "out": result.generates,
                "lock": lock,
            },
            name=f"generate {user.index}",
            daemon=True,
        )
        for user in users
    ]
    probe_threads = prober.start(stop, result.probes)
    sampler = threading.Thread(
        target=sample_held, args=(stub.port, stop, result.held), name="held", daemon=True
    )
    sampler.start()
    try:
        for worker in workers:
            worker.start()
        while time.monotonic() - t0 < args.seconds and any(w.is_alive() for w in workers):
            time.sleep(min(1.0, max(0.0, args.seconds - (time.monotonic() - t0))))
            result.loadavg.append(loadavg())
    finally:
        stop.set()
    result.seconds = time.monotonic() - t0
    for worker in workers:  # the requests in flight end by the portal's deadline
        worker.join(TOKEN_TIMEOUT + TOKEN_CONNECT_TIMEOUT + 30)
    for thread in [*probe_threads, sampler]:
        thread.join(PROBE_TIMEOUT + 5)
    result.wall = (started, time.time())
    stub.set_mode("ok")
    result.loadavg.append(loadavg())
    result.portal_cpu = portal.cpu() - cpu_before
    result.stub_calls = stub_calls(stub) - calls_before
    result.recorded = recorded(result.wall)
    result.log_span = (log_start, portal.log_path.stat().st_size)
    result.server = server_times(portal.log_path, result.log_span)
    return result


def baseline(args, *, portal: Portal, prober: Prober) -> Round:
    result = Round("baseline")
    stop = threading.Event()
    log_start = portal.log_path.stat().st_size
    t0 = time.monotonic()
    threads = prober.start(stop, result.probes)
    try:
        time.sleep(args.baseline_seconds)
    finally:
        stop.set()
    for thread in threads:
        thread.join(PROBE_TIMEOUT + 5)
    result.seconds = time.monotonic() - t0
    result.server = server_times(portal.log_path, (log_start, portal.log_path.stat().st_size))
    return result


# --- The report --------------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def probe_rows(probes: list[Probe], server: dict[str, list[float]]) -> list[dict]:
    rows = []
    for name in sorted({p.name for p in probes}, key=PROBE_ORDER.index):
        mine = [p for p in probes if p.name == name]
        latencies = [p.latency for p in mine]
        rows.append(
            {
                "url": name,
                "n": len(mine),
                "p50": pct(latencies, 50),
                "p95": pct(latencies, 95),
                "max": max(latencies),
                "over_1s": sum(1 for p in mine if p.latency >= GOAL_SECONDS),
                "failed": sum(1 for p in mine if not p.ok and p.latency < GOAL_SECONDS),
                "worker_p50": pct(server[name], 50) if server.get(name) else None,
                "worker_max": max(server[name]) if server.get(name) else None,
            }
        )
    return rows


def print_probes(probes: list[Probe], server: dict[str, list[float]]) -> list[dict]:
    """The probes' latencies as the client saw them, and (access log) the time a worker thread
    spent on them: the difference is time spent queued for a thread."""
    rows = probe_rows(probes, server)
    say(
        f"    {'probe':<24}{'n':>5}{'p50':>9}{'p95':>9}{'max':>9}{'over 1 s':>10}"
        f"   in a worker thread p50 / max"
    )
    for r in rows:
        failed = f" ({r['failed']} wrong status)" if r["failed"] else ""
        say(
            f"    {r['url']:<24}{r['n']:>5}{ms(r['p50']):>9}{ms(r['p95']):>9}{ms(r['max']):>9}"
            f"{r['over_1s']:>10}   {ms(r['worker_p50']):>9} / {ms(r['worker_max'])}{failed}"
        )
    return rows


def print_round(result: Round, *, users: int, limit: int, workers: int) -> dict:
    say()
    say(f"Round '{result.mode}': {users} users generating for {result.seconds:.1f} s")
    generates = result.generates
    by_kind = Counter(g.kind for g in generates)
    per_second = len(generates) / result.seconds if result.seconds else 0
    say(f"  generate requests ended: {len(generates)} ({per_second:.1f}/s)")
    kinds = {}
    for kind, n in by_kind.most_common():
        took = [g.latency for g in generates if g.kind == kind]
        kinds[kind] = {"n": n, "p50": pct(took, 50), "max": max(took)}
        say(f"    {kind:<14}{n:>6}   duration p50 {ms(pct(took, 50)):>8}, max {ms(max(took)):>8}")
    busy_in_worker = [t for t in result.server.get("generate", []) if t < TOKEN_TIMEOUT]
    if busy_in_worker:
        say(
            f"    (generate POSTs answered within {TOKEN_TIMEOUT:g} s spent p50 "
            f"{ms(pct(busy_in_worker, 50))}, max {ms(max(busy_in_worker))} in a worker thread; "
            "the rest of their duration was spent queued)"
        )
    say(
        "  recorded in the database: "
        + (", ".join(f"{k} {v}" for k, v in result.recorded.most_common()) or "nothing")
    )
    peak = max(result.held, default=0)
    mean = sum(result.held) / len(result.held) if result.held else 0
    say(
        f"  /token calls the stub received: {result.stub_calls}; calls open on it at once "
        f"(sampled every {HELD_SAMPLE_SECONDS * 1000:.0f} ms): mean {mean:.1f}, peak {peak}"
        + (f" (limit {limit} per process × {workers} workers)" if limit else " (no limit)")
    )
    cores = result.portal_cpu / result.seconds if result.seconds else 0
    say(
        f"  portal CPU {result.portal_cpu:.1f} s ({cores:.2f} cores); load average (1 min) "
        f"{result.loadavg[0]:.2f} at the start, max {max(result.loadavg):.2f}, "
        f"{result.loadavg[-1]:.2f} at the end"
    )
    say("  probes:")
    rows = print_probes(result.probes, result.server)
    verdict = "PASS" if result.passed else "FAIL"
    bad = sum(1 for p in result.probes if not p.ok)
    say(
        f"  {verdict}: "
        + (
            f"every one of {len(result.probes)} probes answered under 1 s"
            if result.passed
            else f"{bad} of {len(result.probes)} probes took 1 s or more or failed"
        )
    )
    return {
        "mode": result.mode,
        "seconds": result.seconds,
        "generates": len(generates),
        "generate_kinds": kinds,
        "recorded": dict(result.recorded),
        "stub_calls": result.stub_calls,
        "held_peak": peak,
        "held_mean": mean,
        "portal_cpu": result.portal_cpu,
        "loadavg": result.loadavg,
        "probes": rows,
        "passed": result.passed,
    }


# --- A whole run -------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.slow_gateway",
        description="Do login, the dashboard and /healthz answer within 1 s while users keep "
        "token requests hanging on a slow gateway?",
    )
    parser.add_argument("--users", type=int, default=32, help="users generating at once")
    parser.add_argument("--seconds", type=float, default=15, help="length of each round")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between probes")
    parser.add_argument(
        "--rounds",
        default=",".join(ROUNDS),
        help="comma list of the stub's slow modes, one round each: hang, trickle",
    )
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=(
            int(os.environ["PORTAL_GATEWAY_MAX_CONCURRENT"])
            if os.environ.get("PORTAL_GATEWAY_MAX_CONCURRENT")
            else None
        ),
        help="PORTAL_GATEWAY_MAX_CONCURRENT for the portal (default: the environment's, else "
        "the portal's own default)",
    )
    parser.add_argument(
        "--baseline-seconds", type=float, default=3, help="probes alone first (0: none)"
    )
    parser.add_argument(
        "--max-requests", type=int, default=20000, help="generate requests per round at most"
    )
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--threads", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--log-level", default="INFO", help="the portal's LOG_LEVEL")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    args.round_list = [m.strip() for m in args.rounds.split(",") if m.strip()]
    unknown = set(args.round_list) - set(ROUNDS)
    if unknown or not args.round_list:
        parser.error(f"--rounds: a comma list of {', '.join(ROUNDS)}")
    if args.users < 1 or args.seconds <= 0 or args.interval <= 0 or args.max_requests < 1:
        parser.error("--users, --seconds, --interval and --max-requests must be positive")
    # What processes.Portal expects of the load test's arguments.
    args.worker_class, args.nodes, args.profile = None, 1, None
    return args


def log_in(users: list[SimulatedUser]) -> bool:
    """Log the users in, a few at a time (each login hashes a password)."""
    pending = list(users)
    while pending:
        batch, pending = pending[:4], pending[4:]
        threads = [
            threading.Thread(target=lambda u=u: setattr(u, "logged_in", u.login())) for u in batch
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return all(u.logged_in for u in users)


def run(args, workdir: Path, cleanup: contextlib.ExitStack) -> int:
    say(f"Slow-gateway benchmark: work directory {workdir}; load average {loadavg():.2f}")
    database = Database(url=None, workdir=workdir)
    cleanup.callback(_quietly, database.stop)
    database_url = database.start()
    stub = Stub(delay_ms=50, workdir=workdir)
    cleanup.callback(_quietly, stub.stop)
    env = portal_env(args, database_url, workdir)
    if args.max_concurrent is not None:
        env["PORTAL_GATEWAY_MAX_CONCURRENT"] = str(args.max_concurrent)
    cleanup.callback(_quietly, _close_database_connections)
    # The generating users, then one for the dashboard probe and one for the login probe.
    credential_id = prepare(env, users=args.users + 2, stub=stub)
    from django.conf import settings

    limit = int(settings.PORTAL_GATEWAY_MAX_CONCURRENT)
    portal = Portal(env=env, args=args, workdir=workdir)
    cleanup.callback(_quietly, portal.stop)
    portal.wait_ready()
    workers = len(children(portal.proc.pid))
    say(f"  portal at {portal.base}: {portal.describe()}")
    say(
        f"  PORTAL_GATEWAY_MAX_CONCURRENT={limit}"
        + (" (no limit)" if limit == 0 else "")
        + f"; deadline PORTAL_TOKEN_TIMEOUT={TOKEN_TIMEOUT:g} s (connect "
        f"{TOKEN_CONNECT_TIMEOUT:g} s); the stub hangs {HANG_SECONDS:g} s or trickles "
        f"{TRICKLE_SECONDS * TRICKLE_STEPS:g} s; rate limits off"
    )

    results = Results()
    everyone = [
        SimulatedUser(
            index=n,
            bases=[portal.base],
            credential_id=credential_id,
            results=results,
            start_barrier=None,
            stop_at=[0],
            seed=n,
        )
        for n in range(args.users + 1)
    ]  # the login probe's user logs in on its own, again and again
    if not log_in(everyone):
        say(f"  could not log every user in; see {portal.log_path}")
        return 2
    users, probe_user = everyone[:-1], everyone[-1]
    say(f"  {len(everyone)} users logged in ({args.users} generating, 1 probing the dashboard)")
    prober = Prober(
        base=portal.base,
        probe_user=probe_user,
        login_index=args.users + 1,
        interval=args.interval,
    )

    figures: dict = {"max_concurrent": limit, "users": args.users, "rounds": []}
    if args.baseline_seconds > 0:
        quiet = baseline(args, portal=portal, prober=prober)
        say()
        say(f"Baseline: probes alone for {quiet.seconds:.1f} s (not judged)")
        figures["baseline"] = print_probes(quiet.probes, quiet.server)

    kinds = page_kinds()
    rounds = []
    for mode in args.round_list:
        result = run_round(
            mode, args=args, portal=portal, stub=stub, users=users, prober=prober, kinds=kinds
        )
        rounds.append(result)
        figures["rounds"].append(
            print_round(result, users=args.users, limit=limit, workers=workers)
        )
        time.sleep(1)  # let the last failures be recorded before the next round's window

    passed = all(r.passed for r in rounds)
    figures["passed"] = passed
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    say()
    say(
        "RESULT: "
        + ("PASS" if passed else "FAIL")
        + f" — every probe under {GOAL_SECONDS:g} s while {args.users} users kept token requests "
        f"on a slow gateway (PORTAL_GATEWAY_MAX_CONCURRENT={limit})"
    )
    return 0 if passed else 1


def _quietly(stop) -> None:
    with contextlib.suppress(Exception):
        stop()


def _close_database_connections() -> None:
    from django.db import connections

    connections.close_all()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="portal-slowgw-", dir="/tmp"))
    # As root the cluster runs as the postgres user, who must reach the cluster directory.
    workdir.chmod(0o755)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # a kill cleans up like Ctrl-C
    with contextlib.ExitStack() as cleanup:
        if args.keep:
            cleanup.callback(say, f"Logs kept in {workdir}")
        else:
            cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        try:
            return run(args, workdir, cleanup)
        except KeyboardInterrupt:
            say("Interrupted; stopping what was started.")
            return 2
        except Exception as exc:  # noqa: BLE001 - the benchmark itself broke: say so, exit 2
            say(f"The slow-gateway benchmark could not run: {exc!r}")
            traceback.print_exc()
            return 2


if __name__ == "__main__":
    sys.exit(main())
