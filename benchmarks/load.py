"""Load and consistency test (issue 8): the portal under gunicorn on PostgreSQL, many users
generating, renewing and revoking tokens against a stub gateway; afterwards, proof that nothing
was lost.

    .venv/bin/python benchmarks/load.py [--users 16] [--seconds 60] [--delay-ms 50]
        [--workers W] [--worker-class sync|gthread] [--threads K]
        [--database-url URL | --pg-throwaway] [--faults none|all|503,hang,html,dbrestart]
        [--small] [--json FILE] [--keep]

What it does, all on 127.0.0.1 and bounded in time (it stops by itself):

1. A fresh PostgreSQL database: a throwaway cluster (``scripts/pg-throwaway.sh``, the default)
   or a new database ``load_<pid>`` on the server ``--database-url`` names (dropped afterwards).
   Migrated; ``collectstatic`` (production static storage, into the work directory:
   ``benchmarks/load_settings.py``); N users, one team (the first user
   owns it, the others are issuers) and one credential on a gateway pointing at the stub.
2. The stub gateway (``benchmarks/stub_gateway.py``, its own process): WSO2's /token and
   /revoke with an adjustable delay, remembering every token it issued and revoked.
3. The portal under gunicorn (``gunicorn -c gunicorn.conf.py portal.wsgi``) with production
   settings (``DEBUG=False``, secure cookies, HSTS) except ``PORTAL_SSL_REDIRECT=False`` (plain
   HTTP on loopback), ``PORTAL_ALLOW_HTTP_GATEWAYS=True`` (the stub), ``PORTAL_TOKEN_TIMEOUT=2``
   (so the hang fault ends quickly) and **rate limits off** (``PORTAL_RATE_LIMIT_PER_USER=0``,
   ``PORTAL_RATE_LIMIT_PER_TEAM=0``: the point is to load the portal, not to test the limiter).
4. N simulated users (threads, one ``requests`` session each): GET the login page, POST it with
   its CSRF token, then for T seconds: generate (POST with CSRF and a fresh idempotency key;
   90 % password grant, 10 % client credentials) → the result page (the token is read from it)
   → sometimes renew (30 %, with its own idempotency key) → sometimes revoke (50 %). 5 % of the
   generate POSTs are double submits: the same form sent twice at once (same key).
5. Faults (``--faults``), one after another with quiet periods between them: the stub answers
   503 + Retry-After, hangs past the portal's read timeout, answers 200 with an HTML page; and
   PostgreSQL is restarted once (``pg-throwaway.sh restart``: fast shutdown, start).

Afterwards gunicorn is stopped and the harness checks, printing PASS/FAIL for each:

- **no lost token**: every token the stub still considers live is recorded as an ``active``
  issuance (matched by the HMAC fingerprint the portal stores).
- **issued = recorded = audited**: an *issuance* is every successful ``/token`` answer of the
  stub, renewals included (a refresh-token grant mints a new token). Tokens issued by the stub
  = issuances in the database with a token (status ``active`` + ``renewed`` + ``revoked``)
  + tokens the portal revoked again because it could not record them ("taken back", only
  possible while the database is down); and those issuances = ``token.issued`` +
  ``token.renewed`` audit events (successes).
- **every revoke recorded**: every token the stub revoked is a ``revoked`` issuance, or a
  taken-back one; the stub's state of every recorded token agrees with its status (live ↔
  active, rotated ↔ renewed, revoked ↔ revoked). A disagreement is *explained* only when the
  stub changed the token's state while the database was down (the portal could not record the
  outcome; the token is dead upstream, not live and unrecorded) — it fails otherwise.
- **shown = recorded**: every token a result page displayed has the fingerprint of that
  issuance.
- ``manage.py verify_audit`` passes.
- **no 5xx**: no 500 (or other 5xx) at all; a 503 "temporarily unavailable" page is counted
  apart and allowed only for requests that overlapped the database restart.
- **nothing pending**: no issuance left ``pending``; if the database outage left some, the
  ``reconcile`` service resolves them (older-than 0: gunicorn is stopped, nothing is running),
  and each must have started during the outage. The same service also finishes revocations the
  gateway carried out while the portal could not record them.
- **every failure recorded**: each ``failed`` issuance has a reason (kind and message) and its
  ``token.failed``/``token.reconciled`` audit event; every 503/hang/HTML answer of the stub's
  /token is a failed issuance of kind ``rate_limited``/``timeout``/``bad_response``; every such
  answer of /revoke is a failed ``token.revoked`` audit event; every issuance has its
  ``token.requested`` event; double submits minted one token.

Figures: issuances/s, median/p95/p99 latency of the generate POST and its overhead over the
stub's delay, and the CPU time of the portal (gunicorn master + workers, from
``/proc/<pid>/stat`` utime+stime, reaped workers included) per issuance, with the same for
PostgreSQL, the stub and the load generator. Exit status 1 when an invariant fails, 2 when the
harness could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import stub_gateway  # noqa: E402

PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
PG_SCRIPT = str(ROOT / "scripts" / "pg-throwaway.sh")
USER_PASSWORD = "load test password 12345 xyz"
FAULTS = ("503", "hang", "html", "dbrestart")
STUB_MODE = {"503": "503", "hang": "hang", "html": "html"}
FAULT_KIND = {"503": "rate_limited", "hang": "timeout", "html": "bad_response"}
TOKEN_TIMEOUT = 2.0
HANG_SECONDS = 3.5
CLIENT_TIMEOUT = 30
RESULT_TOKEN = re.compile(r'<textarea id="access-token"[^>]*>([^<]+)</textarea>')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ISSUANCE_URL = re.compile(r"/tokens/([0-9a-f-]{36})/(result/)?$")
TICK = os.sysconf("SC_CLK_TCK")


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- Process accounting -------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(ppid, own CPU seconds, reaped children's CPU seconds) from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, (utime + stime) / TICK, (cutime + cstime) / TICK


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of a process and its children, living and reaped (gunicorn's master and
    workers; PostgreSQL's postmaster and backends). A worker that exits mid-run is counted in
    the master's reaped time, so recycled workers are not lost."""
    if not pid:
        return 0.0
    own = _stat(pid)
    if own is None:
        return 0.0
    total = own[1] + own[2]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            child = _stat(int(entry))
            if child is not None and child[0] == pid:
                total += child[1] + child[2]
    return total


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            child = _stat(int(entry))
            if child is not None and child[0] == pid:
                found.append(int(entry))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- The database ---------------------------------------------------------------------------------


class Database:
    """A fresh database: on a throwaway cluster (restartable) or beside the one a URL names."""

    def __init__(self, *, url: str | None, workdir: Path) -> None:
        self.cluster_dir = None if url else workdir / "pg"
        self.server_url = url
        self.url = ""
        self.name = f"load_{os.getpid()}"

    def start(self) -> str:
        import psycopg

        if self.cluster_dir is not None:
            out = subprocess.run(
                [PG_SCRIPT, "start", str(self.cluster_dir)], capture_output=True, text=True
            )
            if out.returncode != 0:
                raise RuntimeError(f"pg-throwaway.sh start failed: {out.stderr.strip()[-500:]}")
            self.server_url = out.stdout.strip().splitlines()[-1]
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = urlunsplit(urlsplit(self.server_url)._replace(path=f"/{self.name}"))
        return self.url

    @property
    def restartable(self) -> bool:
        return self.cluster_dir is not None

    def restart(self) -> None:
        subprocess.run(
            [PG_SCRIPT, "restart", str(self.cluster_dir)], check=True, capture_output=True
        )

    def postmaster_pid(self) -> int | None:
        if self.cluster_dir is None:
            return None
        try:
            return int((self.cluster_dir / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.cluster_dir is not None:
            subprocess.run([PG_SCRIPT, "stop", str(self.cluster_dir)], capture_output=True)
            return
        if self.server_url and self.url:
            import psycopg

            with contextlib.suppress(Exception):
                with psycopg.connect(self.server_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# --- The stub gateway and the portal --------------------------------------------------------------


class Stub:
    def __init__(self, *, delay_ms: float, workdir: Path) -> None:
        self.log = open(workdir / "stub.log", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                PY,
                str(ROOT / "benchmarks" / "stub_gateway.py"),
                "--delay-ms",
                str(delay_ms),
                "--hang-seconds",
                str(HANG_SECONDS),
            ],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the stub gateway did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.control = requests.Session()
        self.control.trust_env = False

    def set_mode(self, mode: str) -> None:
        self.control.post(f"{self.base}/_stub/mode", json={"mode": mode}, timeout=5)

    def state(self) -> dict:
        return self.control.get(f"{self.base}/_stub/state", timeout=10).json()

    def tokens(self) -> list[dict]:
        return self.control.get(f"{self.base}/_stub/tokens", timeout=60).json()

    def stop(self) -> None:
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self.log.close()


class Portal:
    """gunicorn with the project's gunicorn.conf.py, configured through the environment."""

    def __init__(self, *, env: dict, args, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        genv = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}")
        # What gunicorn.conf.py will use when not told.
        self.threads = args.threads or runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"]
        if args.worker_class:
            genv["GUNICORN_WORKER_CLASS"] = args.worker_class
        if args.workers:
            genv["GUNICORN_WORKERS"] = str(args.workers)
        if args.threads:
            genv["GUNICORN_THREADS"] = str(args.threads)
        config = "gunicorn.conf.py"
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            genv["PORTAL_PROFILE_DIR"] = str(args.profile.resolve())
            config = str(ROOT / "benchmarks" / "gunicorn_profile.conf.py")
        self.log_path = workdir / "gunicorn.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [GUNICORN, "-c", config, "portal.wsgi"],
            cwd=ROOT,
            env=genv,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become healthy; see {self.log_path}")

    def describe(self) -> str:
        workers = children(self.proc.pid)
        self.log.flush()
        used = re.search(r"Using worker: (\w+)", self.log_path.read_text(errors="replace"))
        self.worker_class = used.group(1) if used else "?"
        threads = f" × {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn {self.worker_class}, {len(workers)} worker process(es){threads}"

    def cpu(self) -> float:
        return tree_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- Measurements -----------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str  # login, generate, double, result, renew, revoke
    status: int  # HTTP status; 0 = no answer (connection error / client timeout)
    started: float  # wall clock (time.time()), to compare with the outage window
    latency: float
    outcome: str = ""


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: list[Sample] = field(default_factory=list)
    shown: list[tuple[str, str]] = field(default_factory=list)  # (issuance id, token shown)
    double_mismatch: list[tuple[str, str]] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def new_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.headers["User-Agent"] = "token-portal-load-test"
    return s


def loopback_cookies(session: requests.Session) -> None:
    """The portal runs with production settings, so its cookies are ``Secure``; on loopback over
    plain HTTP the client sends them anyway, as a TLS-terminating proxy in front would. (A
    cookie policy would not do: requests merges cookies into a fresh jar with the default one.)"""
    for cookie in session.cookies:
        cookie.secure = False


class SimulatedUser(threading.Thread):
    def __init__(
        self, *, index, base, credential_id, results, start_barrier, stop_at, seed, mix="full"
    ):
        super().__init__(name=f"user{index}", daemon=True)
        self.index = index
        self.base = base
        self.credential_id = credential_id
        self.results = results
        self.start_barrier = start_barrier
        self.stop_at = stop_at
        self.random = random.Random(seed)
        self.session = new_session()
        self.logged_in = False
        self.mix = mix

    # --- one request, measured --------------------------------------------------------------------

    def _request(self, kind: str, method: str, path: str, session=None, **kwargs):
        session = session or self.session
        started_wall, started = time.time(), time.perf_counter()
        try:
            response = session.request(
                method,
                self.base + path,
                allow_redirects=False,
                timeout=CLIENT_TIMEOUT,
                **kwargs,
            )
        except requests.RequestException as exc:
            self.results.add(Sample(kind, 0, started_wall, time.perf_counter() - started))
            with self.results.lock:
                self.results.errors[f"{kind}: {type(exc).__name__}"] += 1
            return None
        sample = Sample(kind, response.status_code, started_wall, time.perf_counter() - started)
        loopback_cookies(session)
        self.results.add(sample)
        response.sample = sample
        return response

    def _csrf(self) -> str:
        return self.session.cookies.get("csrftoken", "")

    def _issuance_from(self, response) -> tuple[str | None, bool]:
        """(issuance id, is a result page) from a redirect's Location."""
        match = ISSUANCE_URL.search(urlsplit(response.headers.get("Location", "")).path)
        if not match:
            return None, False
        return match.group(1), bool(match.group(2))

    def _show_result(self, issuance_id: str) -> None:
        response = self._request("result", "GET", f"/tokens/{issuance_id}/result/")
        if response is not None and response.status_code == 200:
            match = RESULT_TOKEN.search(response.text)
            if match:
                with self.results.lock:
                    self.results.shown.append((issuance_id, match.group(1).strip()))
                response.sample.outcome = "shown"

    # --- the flows -------------------------------------------------------------------------------

    def login(self) -> bool:
        page = self._request("login", "GET", "/accounts/login/")
        if page is None or page.status_code != 200:
            return False
        match = CSRF_INPUT.search(page.text)
        response = self._request(
            "login",
            "POST",
            "/accounts/login/",
            data={
                "username": f"user{self.index}",
                "password": USER_PASSWORD,
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": self.base + "/accounts/login/"},
        )
        return response is not None and response.status_code == 302

    def _generate_form(self) -> dict:
        client_credentials = self.random.random() < 0.10
        return {
            "csrfmiddlewaretoken": self._csrf(),
            "credential": self.credential_id,
            "grant_type": "client_credentials" if client_credentials else "password",
            "upstream_username": f"user{self.index}@example.com",
            "password": stub_gateway.USER_PASSWORD,
            "scopes": ["read", "write"],
            # Now and then a scope the gateway drops silently (granted differs from requested).
            "extra_scopes": "admin" if self.random.random() < 0.1 else "",
            "idempotency_key": str(uuid.uuid4()),
        }

    def generate(self) -> tuple[str | None, bool]:
        """POST the generate form; (issuance id, has a refresh token) on success."""
        form = self._generate_form()
        if self.random.random() < 0.05:
            return self._double_submit(form)
        response = self._request("generate", "POST", "/tokens/generate/", data=form)
        return self._after_generate(response, form)

    def _after_generate(self, response, form) -> tuple[str | None, bool]:
        if response is None:
            return None, False
        if response.status_code == 302:
            issuance_id, is_result = self._issuance_from(response)
            if issuance_id and is_result:
                response.sample.outcome = "issued"
                self._show_result(issuance_id)
                return issuance_id, form["grant_type"] == "password"
            response.sample.outcome = "redirect_elsewhere"
        elif response.status_code == 200:
            response.sample.outcome = "form_error"
        return None, False

    def _double_submit(self, form) -> tuple[str | None, bool]:
        """The same form twice at once (a double click): one token, both land on one result."""
        twin = new_session()
        twin.cookies.update(self.session.cookies)
        answers: dict[str, object] = {}

        def send(name, session):
            answers[name] = self._request("double", "POST", "/tokens/generate/", session, data=form)

        other = threading.Thread(target=send, args=("twin", twin))
        other.start()
        send("main", self.session)
        other.join()
        first, second = answers.get("main"), answers.get("twin")
        if first is not None and second is not None:
            if first.status_code == 302 and second.status_code == 302:
                a, b = (self._issuance_from(r)[0] for r in (first, second))
                if a != b:
                    with self.results.lock:
                        self.results.double_mismatch.append((a, b))
        return self._after_generate(first, form)

    def renew(self, issuance_id: str) -> tuple[str | None, bool]:
        response = self._request(
            "renew",
            "POST",
            f"/tokens/{issuance_id}/renew/",
            data={"csrfmiddlewaretoken": self._csrf(), "idempotency_key": str(uuid.uuid4())},
        )
        if response is None or response.status_code != 302:
            return issuance_id, True
        new_id, is_result = self._issuance_from(response)
        if new_id and is_result:
            response.sample.outcome = "renewed"
            self._show_result(new_id)
            return new_id, True
        response.sample.outcome = "refused"  # back to the detail page with a message
        return issuance_id, True

    def revoke(self, issuance_id: str) -> None:
        response = self._request(
            "revoke",
            "POST",
            f"/tokens/{issuance_id}/revoke/",
            data={"csrfmiddlewaretoken": self._csrf()},
        )
        if response is not None and response.status_code == 302:
            response.sample.outcome = "answered"

    def run(self) -> None:
        try:
            self.logged_in = self.login()
        finally:
            self.start_barrier.wait()
        if not self.logged_in:
            return
        while time.monotonic() < self.stop_at[0]:
            if self.mix == "generate":
                form = self._generate_form()
                response = self._request("generate", "POST", "/tokens/generate/", data=form)
                if response is not None and response.status_code == 302:
                    response.sample.outcome = "issued"
                continue
            issuance_id, renewable = self.generate()
            if issuance_id is None:
                continue
            if renewable and self.random.random() < 0.30 and time.monotonic() < self.stop_at[0]:
                issuance_id, renewable = self.renew(issuance_id)
            if self.random.random() < 0.50 and time.monotonic() < self.stop_at[0]:
                self.revoke(issuance_id)


# --- Faults -------------------------------------------------------------------------------------------


@dataclass
class Timeline:
    events: list[tuple[float, str]] = field(default_factory=list)  # (offset s, what)
    outage: tuple[float, float] | None = None  # wall clock of the DB restart (start, end)
    error: str = ""


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


def run_faults(plan, *, t0: float, stub: Stub, database: Database, timeline: Timeline) -> None:
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
                stub.set_mode(STUB_MODE.get(what, "ok"))
        except Exception as exc:  # noqa: BLE001 - reported as a harness failure below
            timeline.error = f"{what}: {exc!r}"


# --- Setup of the portal's data -----------------------------------------------------------------------


def portal_env(args, database_url: str, workdir: Path) -> dict:
    import base64

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "GUNICORN_", "DJANGO_"))
        and k not in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
    }
    env.update(
        {
            "PORTAL_ENV_FILE": "",  # never read .env: it names the development database
            "DEBUG": "False",
            "SECRET_KEY": "load-" + base64.b64encode(os.urandom(40)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORTAL_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
            "PORTAL_AUDIT_KEY": base64.b64encode(os.urandom(48)).decode(),
            "DATABASE_URL": database_url,
            "PORTAL_SSL_REDIRECT": "False",
            "PORTAL_ALLOW_HTTP_GATEWAYS": "True",
            "PORTAL_SANDBOX": "False",
            "PORTAL_TOKEN_TIMEOUT": str(TOKEN_TIMEOUT),
            "PORTAL_TOKEN_CONNECT_TIMEOUT": "1",
            "PORTAL_RATE_LIMIT_PER_USER": "0",
            "PORTAL_RATE_LIMIT_PER_TEAM": "0",
            "LOG_LEVEL": args.log_level,
            # portal.settings with STATIC_ROOT in the work directory (collectstatic runs there).
            "DJANGO_SETTINGS_MODULE": "benchmarks.load_settings",
            "PORTAL_LOAD_STATIC_ROOT": str(workdir / "static"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def prepare(env: dict, *, users: int, stub: Stub) -> str:
    """Migrate, collect static files, create the cast; returns the credential's id."""
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connections

    from portal.accounts import services as accounts
    from portal.teams import services as teams
    from portal.teams.models import Role
    from portal.vault import services as vault

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    people = [
        accounts.user_create(username=f"user{n}", password=None, email=f"user{n}@example.com")
        for n in range(users)
    ]
    # One Argon2 hash for all: hashing N passwords here would only slow the set-up down.
    get_user_model().objects.filter(pk__in=[u.pk for u in people]).update(
        password=make_password(USER_PASSWORD)
    )
    team = teams.team_create(name="Load team", owner=people[0])
    for person in people[1:]:
        teams.member_add(team=team, user=person, role=Role.ISSUER, actor=people[0])
    gateway, _ = vault.gateway_create(
        name="Stub gateway",
        token_url=f"{stub.base}/token",
        revoke_url=f"{stub.base}/revoke",
        actor_label="load test",
    )
    credential = vault.credential_create(
        team=team,
        name="Load credential",
        gateway=gateway,
        consumer_key=stub_gateway.CONSUMER_KEY,
        consumer_secret=stub_gateway.CONSUMER_SECRET,
        default_scopes=["read", "write"],
        allow_client_credentials=True,
        actor=people[0],
    )
    connections.close_all()  # the database may restart mid-run
    return str(credential.pk)


# --- Checks ----------------------------------------------------------------------------------------


class Checks:
    def __init__(self) -> None:
        self.rows: list[tuple[bool, str, str]] = []

    def add(self, ok: bool, name: str, detail: str = "") -> bool:
        self.rows.append((ok, name, detail))
        say(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f" — {detail}" if detail else ""))
        return ok

    @property
    def passed(self) -> bool:
        return all(ok for ok, _, _ in self.rows)


def in_outage(when: float, outage, *, before: float = 0.0, after: float = 1.0) -> bool:
    return outage is not None and outage[0] - before <= when <= outage[1] + after


def overlaps_outage(sample: Sample, outage) -> bool:
    if outage is None:
        return False
    return sample.started <= outage[1] + 1.0 and sample.started + sample.latency >= outage[0]


def check_invariants(*, env, stub_state, stub_tokens, results, timeline, args) -> tuple:

    from portal.audit.models import Action, AuditEvent, Outcome
    from portal.tokens import services
    from portal.tokens.models import Issuance, Status
    from portal.vault import crypto

    checks = Checks()
    outage = timeline.outage
    counts = stub_state["counts"]
    info: dict = {}

    # --- pending rows first: resolve them, so the rest sees final states --------------------------
    pending = list(Issuance.objects.filter(status=Status.PENDING).values("id", "issued_at"))
    unexplained = [
        p for p in pending if not in_outage(p["issued_at"].timestamp(), outage, before=8)
    ]
    import logging
    from datetime import timedelta

    # Always run it: it also finishes revocations the gateway carried out while the portal could
    # not record them (the database restart), so the stub and the portal agree afterwards.
    logging.getLogger("portal.tokens.services").setLevel(logging.WARNING)
    resolved = services.issuances_reconcile(older_than=timedelta(0))
    reconciled = [i for i in resolved if i.status == Status.FAILED]
    info["pending_after_run"] = len(pending)
    info["revocations_finished_by_reconcile"] = len(resolved) - len(reconciled)
    checks.add(
        not unexplained and len(reconciled) == len(pending),
        "nothing left pending",
        f"{len(pending)} pending after the run"
        + (
            f", resolved by reconcile ({len(reconciled)}), all started during the database restart"
            if pending and not unexplained
            else ""
        )
        + (f"; {len(unexplained)} NOT explained by the outage" if unexplained else ""),
    )

    rows = list(
        Issuance.objects.values(
            "id", "status", "access_token_fingerprint", "failure_kind", "failure_message"
        )
    )
    by_fp = {r["access_token_fingerprint"]: r for r in rows if r["access_token_fingerprint"]}
    by_id = {str(r["id"]): r for r in rows}
    status_counts = Counter(r["status"] for r in rows)
    info["issuances_by_status"] = dict(status_counts)

    # --- the stub's tokens against the database ----------------------------------------------------
    expected = {"live": Status.ACTIVE, "rotated": Status.RENEWED, "revoked": Status.REVOKED}
    lost, taken_back, unrecorded_odd, disagree, explained = [], [], [], [], []
    seen_fps = set()
    for token in stub_tokens:
        fp = crypto.fingerprint(token["access_token"])
        token["fp"] = fp
        row = by_fp.get(fp)
        if row is None:
            if token["state"] == "live":
                lost.append(token)
            elif token["state"] == "revoked":
                taken_back.append(token)
            else:
                unrecorded_odd.append(token)
            continue
        seen_fps.add(fp)
        if row["status"] != expected[token["state"]]:
            changed = token["changed_at"]
            if changed is not None and in_outage(changed, outage, before=2):
                explained.append((token, row))
            else:
                disagree.append((token, row))
    phantom = [r for fp, r in by_fp.items() if fp not in seen_fps]
    recorded = sum(status_counts[s] for s in (Status.ACTIVE, Status.RENEWED, Status.REVOKED))
    issued = counts.get("issued", 0)
    audited = AuditEvent.objects.filter(
        action__in=[Action.TOKEN_ISSUED, Action.TOKEN_RENEWED], outcome=Outcome.SUCCESS
    ).count()
    info.update(
        stub_issued=issued,
        stub_revoked=counts.get("revoked", 0),
        recorded=recorded,
        taken_back=len(taken_back),
        audited_issued_renewed=audited,
    )
    # A token the gateway still accepts while the portal says it is gone (revoked, renewed) is as
    # lost as an unrecorded one: the person believes it is dead.
    live_not_active = [(t, r) for t, r in disagree if t["state"] == "live"]
    checks.add(
        not lost and not unrecorded_odd and not live_not_active,
        "no lost token (every token live at the gateway is an active issuance)",
        f"{stub_state['live']} live at the stub, {status_counts[Status.ACTIVE]} active issuances"
        + (f"; {len(lost)} LIVE AND UNRECORDED" if lost else "")
        + (
            f"; {len(live_not_active)} LIVE BUT RECORDED AS "
            + ", ".join(sorted({r["status"] for _, r in live_not_active}))
            if live_not_active
            else ""
        )
        + (f"; {len(unrecorded_odd)} unrecorded but rotated" if unrecorded_odd else ""),
    )
    recording_failures = sum(
        1
        for r in rows
        if r["status"] == Status.FAILED
        and r["failure_kind"] in ("recording_failed", "interrupted", "recording_failed_not_revoked")
    )
    taken_back_ok = len(taken_back) <= recording_failures and (not taken_back or outage is not None)
    checks.add(
        issued == recorded + len(taken_back)
        and recorded == audited
        and not phantom
        and taken_back_ok,
        "issued by the stub = recorded issuances = token.issued + token.renewed events",
        f"stub issued {issued} (password {counts.get('issued_password', 0)}, client credentials "
        f"{counts.get('issued_client_credentials', 0)}, refresh {counts.get('issued_refresh_token', 0)})"
        f"; recorded {recorded} = active {status_counts[Status.ACTIVE]} + renewed "
        f"{status_counts[Status.RENEWED]} + revoked {status_counts[Status.REVOKED]}; audit events "
        f"{audited}; taken back after a recording failure {len(taken_back)}"
        + (f"; {len(phantom)} recorded tokens the stub never issued" if phantom else ""),
    )
    revoked_rows = sum(
        1
        for t in stub_tokens
        if t["state"] == "revoked" and by_fp.get(t["fp"], {}).get("status") == Status.REVOKED
    )
    checks.add(
        not disagree and (not explained or outage is not None),
        "every revoke the stub saw is recorded; every recorded token's state agrees",
        f"stub revoked {counts.get('revoked', 0)} = revoked issuances {revoked_rows} + taken back "
        f"{len(taken_back)} + explained {sum(1 for t, _ in explained if t['state'] == 'revoked')}"
        f"; stub rotated {counts.get('rotated', 0)}"
        + (
            f"; {len(disagree)} DISAGREE ("
            + ", ".join(
                f"stub {a} / portal {b} ×{n}"
                for (a, b), n in Counter((t["state"], r["status"]) for t, r in disagree).items()
            )
            + ")"
            if disagree
            else ""
        )
        + (
            f"; {len(explained)} explained by the database outage ("
            + ", ".join(
                f"stub {a} / portal {b} ×{n}"
                for (a, b), n in Counter((t["state"], r["status"]) for t, r in explained).items()
            )
            + ")"
            if explained
            else ""
        ),
    )
    info["disagreements_explained_by_outage"] = len(explained)

    # --- what users saw ----------------------------------------------------------------------------
    wrong_shown = [
        i
        for i, token in results.shown
        if by_id.get(i, {}).get("access_token_fingerprint") != crypto.fingerprint(token)
    ]
    checks.add(
        not wrong_shown and not results.double_mismatch,
        "every token shown is the one recorded; double submits minted one token",
        f"{len(results.shown)} tokens shown, {len(wrong_shown)} mismatched; "
        f"{sum(1 for s in results.samples if s.kind == 'double') // 2} double submits, "
        f"{len(results.double_mismatch)} landed on different issuances",
    )

    # --- audit chain -----------------------------------------------------------------------------
    verify = subprocess.run(
        [PY, "manage.py", "verify_audit"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    checks.add(
        verify.returncode == 0,
        "manage.py verify_audit",
        (verify.stdout.strip() or verify.stderr.strip()).splitlines()[-1][:200]
        if (verify.stdout.strip() or verify.stderr.strip())
        else "",
    )

    # --- 5xx --------------------------------------------------------------------------------------
    fives = [s for s in results.samples if s.status >= 500]
    five_hundreds = [s for s in fives if s.status != 503]
    unavailable = [s for s in fives if s.status == 503]
    stray_503 = [s for s in unavailable if not overlaps_outage(s, outage)]
    no_answer = [s for s in results.samples if s.status == 0]
    info.update(http_500=len(five_hundreds), http_503=len(unavailable), no_answer=len(no_answer))
    checks.add(
        not five_hundreds and not stray_503 and not no_answer,
        "no 5xx (503 'temporarily unavailable' allowed only during the database restart)",
        f"{len(five_hundreds)} × 500/5xx, {len(unavailable)} × 503 "
        f"({len(unavailable) - len(stray_503)} during the restart, {len(stray_503)} outside)"
        + (f", {len(no_answer)} without an answer: {dict(results.errors)}" if no_answer else ""),
    )

    # --- failures ---------------------------------------------------------------------------------
    failed = [r for r in rows if r["status"] == Status.FAILED]
    reasonless = [r for r in failed if not (r["failure_kind"] and r["failure_message"])]
    fail_events = Counter(
        AuditEvent.objects.filter(
            action__in=[Action.TOKEN_FAILED, Action.TOKEN_RECONCILED], outcome=Outcome.FAILURE
        ).values_list("target_id", flat=True)
    )
    unaudited = [r for r in failed if fail_events.get(str(r["id"]), 0) < 1]
    requested = AuditEvent.objects.filter(action=Action.TOKEN_REQUESTED).count()
    kinds = Counter(r["failure_kind"] for r in failed)
    info["failed_by_kind"] = dict(kinds)
    fault_mismatch = []
    for fault, kind in FAULT_KIND.items():
        answered = counts.get(f"fault_token_{fault}", 0)
        if answered != kinds.get(kind, 0):
            fault_mismatch.append(
                f"stub {fault} ×{answered} vs failed {kind} ×{kinds.get(kind, 0)}"
            )
    revoke_faults = sum(counts.get(f"fault_revoke_{f}", 0) for f in FAULT_KIND)
    # A revocation refused as "busy" (too many calls already waiting on the gateway) never
    # reached the stub, so it is no stub fault.
    revoke_failures = (
        AuditEvent.objects.filter(action=Action.TOKEN_REVOKED, outcome=Outcome.FAILURE)
        .exclude(details__reason="busy")
        .count()
    )
    if revoke_faults != revoke_failures:
        fault_mismatch.append(
            f"stub revoke faults ×{revoke_faults} vs failed token.revoked events ×{revoke_failures}"
        )
    checks.add(
        not reasonless and not unaudited and requested == len(rows) and not fault_mismatch,
        "every failed attempt is a failed issuance with its reason and audit event",
        f"{len(failed)} failed ({', '.join(f'{k} {v}' for k, v in kinds.most_common()) or 'none'})"
        f"; {len(reasonless)} without a reason, {len(unaudited)} without an audit event; "
        f"token.requested {requested} for {len(rows)} issuances; failed revocations {revoke_failures}"
        + ("; " + "; ".join(fault_mismatch) if fault_mismatch else ""),
    )
    return checks, info


# --- Report ----------------------------------------------------------------------------------------


def report(*, results, stub_state, window, cpu, args, timeline, portal_desc) -> dict:
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
        "cpu_portal_s": cpu["portal"],
        "cpu_portal_ms_per_request": cpu["portal"] / requests_made * 1000 if requests_made else 0,
        "cpu_portal_ms_per_issuance": cpu["portal"] / issued * 1000 if issued else float("nan"),
        "cpu_postgres_ms_per_issuance": cpu["postgres"] / issued * 1000 if issued else 0,
        "cpu_stub_ms_per_issuance": cpu["stub"] / issued * 1000 if issued else 0,
        "cpu_loadgen_ms_per_issuance": cpu["loadgen"] / issued * 1000 if issued else 0,
    }
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
        f"{figures['cpu_portal_ms_per_request']:.2f} ms per request; mix: {args.mix}); PostgreSQL {figures['cpu_postgres_ms_per_issuance']:.2f} ms; "
        f"stub {figures['cpu_stub_ms_per_issuance']:.2f} ms; load generator "
        f"{figures['cpu_loadgen_ms_per_issuance']:.2f} ms"
    )
    return figures


def goals(figures: dict, args) -> None:
    if args.faults != "none":
        return
    say("Goals (issue 8; a quiet run):")
    for label, value, limit, above in (
        ("issuances/s >= 50", figures["issuances_per_s"], 50, True),
        ("p95 overhead <= 50 ms", figures["overhead_p95_ms"], 50, False),
        ("portal CPU per issuance <= 15 ms", figures["cpu_portal_ms_per_issuance"], 15, False),
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


# --- Main ------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Load and consistency test: the portal under gunicorn against a stub gateway."
    )
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--delay-ms", type=float, default=50, help="the stub's upstream delay")
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--worker-class", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, help="threads per gthread worker")
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
        "--faults", default="none", help="none, all, or a comma list of 503,hang,html,dbrestart"
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
        help="cProfile every request (benchmarks/gunicorn_profile.conf.py); print the top "
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
    if args.users < 1 or args.seconds <= 0:
        parser.error("--users and --seconds must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="portal-load-", dir="/tmp"))
    # As root the cluster runs as the postgres user, who must reach the cluster directory.
    workdir.chmod(0o755)
    database = Database(url=args.database_url, workdir=workdir)
    stub = portal = None
    try:
        say(f"Load test: work directory {workdir}")
        database_url = database.start()
        say("  database ready" + (" (throwaway cluster)" if database.restartable else ""))
        stub = Stub(delay_ms=args.delay_ms, workdir=workdir)
        env = portal_env(args, database_url, workdir)
        credential_id = prepare(env, users=args.users, stub=stub)
        say(f"  migrated; {args.users} users, one team, one credential on the stub at {stub.base}")
        say(
            "  rate limits disabled for this run (PORTAL_RATE_LIMIT_PER_USER=0, "
            "PORTAL_RATE_LIMIT_PER_TEAM=0)"
        )
        portal = Portal(env=env, args=args, workdir=workdir)
        portal.wait_ready()
        say(f"  portal up at {portal.base}: {portal.describe()}")

        results = Results()
        barrier = threading.Barrier(args.users + 1)
        stop_at = [float("inf")]
        users = [
            SimulatedUser(
                index=n,
                base=portal.base,
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
            say("  FAIL: not every user could log in; see " + str(portal.log_path))
            return 2
        issued_before = stub.state()["counts"].get("issued", 0)
        pg_pid = database.postmaster_pid()
        cpu0 = {
            "portal": portal.cpu(),
            "postgres": tree_cpu(pg_pid),
            "stub": tree_cpu(stub.proc.pid),
            "loadgen": sum(os.times()[:2]),
        }
        t0 = time.monotonic()
        stop_at[0] = t0 + args.seconds
        timeline = Timeline()
        plan = schedule(args.fault_list, args.seconds)
        faults = threading.Thread(
            target=run_faults,
            kwargs={
                "plan": plan,
                "t0": t0,
                "stub": stub,
                "database": database,
                "timeline": timeline,
            },
            daemon=True,
        )
        faults.start()
        say(f"  {args.users} users logged in; running for {args.seconds:g} s …")
        for user in users:
            user.join(args.seconds + CLIENT_TIMEOUT * 3)
        faults.join(5)
        window = time.monotonic() - t0
        pg_pid_after = database.postmaster_pid()
        cpu = {
            "portal": portal.cpu() - cpu0["portal"],
            # After a restart the postmaster is new: count it from zero.
            "postgres": tree_cpu(pg_pid_after)
            - (cpu0["postgres"] if pg_pid_after == pg_pid else 0),
            "stub": tree_cpu(stub.proc.pid) - cpu0["stub"],
            "loadgen": sum(os.times()[:2]) - cpu0["loadgen"],
        }
        portal_desc = portal.describe()
        stub.set_mode("ok")
        portal.stop()
        stub_state = stub.state()
        if issued_before:
            say(f"  note: the stub issued {issued_before} tokens before the measured window")
        stub_tokens = stub.tokens()
        if timeline.error:
            say(f"  FAIL: a fault could not be applied: {timeline.error}")
            return 2

        figures = report(
            results=results,
            stub_state=stub_state,
            window=window,
            cpu=cpu,
            args=args,
            timeline=timeline,
            portal_desc=portal_desc,
        )
        say("Invariants:")
        checks, info = check_invariants(
            env=env,
            stub_state=stub_state,
            stub_tokens=stub_tokens,
            results=results,
            timeline=timeline,
            args=args,
        )
        goals(figures, args)
        log_text = portal.log_path.read_text(errors="replace")
        if "Traceback" in log_text and info.get("http_500"):
            first = log_text.index("Traceback")
            say("First traceback in the portal's log:")
            say(log_text[first : first + 3000])
        if args.profile:
            print_profile(args.profile)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "figures": figures,
                        "info": info,
                        "checks": [
                            {"ok": ok, "name": name, "detail": detail}
                            for ok, name, detail in checks.rows
                        ],
                    },
                    indent=2,
                    default=str,
                )
            )
        say()
        say("RESULT: " + ("PASS — every invariant holds" if checks.passed else "FAIL"))
        return 0 if checks.passed else 1
    except Exception as exc:  # noqa: BLE001 - the harness itself broke: say so, exit 2
        say(f"The load test could not run: {exc!r}")
        import traceback

        traceback.print_exc()
        return 2
    finally:
        if portal is not None:
            with contextlib.suppress(Exception):
                portal.stop()
        if stub is not None:
            with contextlib.suppress(Exception):
                stub.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        database.stop()
        if args.keep:
            say(f"Logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
