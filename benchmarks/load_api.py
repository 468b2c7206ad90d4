"""Load and consistency test of the JSON API: ``POST /api/v1/tokens`` (and renew, revoke) with
bearer API keys, the portal under gunicorn (``gunicorn.conf.py``, production settings), against
the stub gateway (``benchmarks/load/stub_gateway.py``, its own process, 50 ms per call by default).

    .venv/bin/python benchmarks/load_api.py [--users 4] [--seconds 20] [--delay-ms 50]
                                            [--database-url postgres://...]

Self-contained (it shares only ``stub_gateway.py`` with ``benchmarks/load``): a scratch database
(SQLite under /tmp, or a new database on the given PostgreSQL server, dropped afterwards), one API
key per simulated user, rate limits off. Each user loops until the time is up: issue (90 %
password grant, 10 % client credentials, each with an ``Idempotency-Key``; 5 % sent twice at
once with the same key), renew 30 % of its password tokens and revoke half of what it holds.
Everything runs on 127.0.0.1 and stops by itself. Then it checks, printing PASS/FAIL:

- no 5xx answer;
- every token the stub issued is a recorded issuance (active, renewed or revoked), and each has
  its ``token.issued`` / ``token.renewed`` audit event naming the API key that asked for it;
- a request sent twice with one ``Idempotency-Key`` minted one token;
- nothing left ``pending``; ``manage.py verify_audit`` passes.

It prints throughput and the latency of ``POST /api/v1/tokens`` (median, p95) and its overhead
over the stub's delay. Exit status 1 if a check failed.
"""

import argparse
import base64
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.load import stub_gateway  # noqa: E402

PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def pct(samples, q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] if ordered else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def scratch_database(url: str | None, workdir: Path):
    if not url:
        yield f"sqlite:///{workdir}/load_api.sqlite3"
        return
    import psycopg

    name = f"load_api_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def portal_env(database_url: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "GUNICORN_", "DJANGO_"))
        and k not in ("DATABASE_URL", "DATABASE_OWNER_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
    }
    env.update(
        {
            "PORTAL_ENV_FILE": "",
            "DEBUG": "False",
            "SECRET_KEY": "load-api-" + base64.b64encode(os.urandom(40)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORTAL_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
            "PORTAL_AUDIT_KEY": base64.b64encode(os.urandom(48)).decode(),
            "DATABASE_URL": database_url,
            "PORTAL_SSL_REDIRECT": "False",
            "PORTAL_ALLOW_HTTP_GATEWAYS": "True",
            "PORTAL_SANDBOX": "False",
            "PORTAL_TOKEN_TIMEOUT": "2",
            "PORTAL_RATE_LIMIT_PER_USER": "0",
            "PORTAL_RATE_LIMIT_PER_TEAM": "0",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def prepare(env: dict, *, users: int, stub_base: str) -> list[str]:
    """Migrate, create the team, its credential and one API key per user; returns the keys."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from portal.accounts import services as accounts
    from portal.api import services as api_services
    from portal.teams import services as teams
    from portal.teams.models import Role
    from portal.vault import services as vault

    call_command("migrate", verbosity=0)
    people = [
        accounts.user_create(username=f"user{n}", password=None, email=f"user{n}@example.com")
        for n in range(users)
    ]
    team = teams.team_create(name="Load team", owner=people[0])
    for person in people[1:]:
        teams.member_add(team=team, user=person, role=Role.ISSUER, actor=people[0])
    gateway, _ = vault.gateway_create(
        name="Stub gateway", token_url=f"{stub_base}/token", revoke_url=f"{stub_base}/revoke"
    )
    vault.credential_create(
        team=team,
        name="Load credential",
        gateway=gateway,
        consumer_key=stub_gateway.CONSUMER_KEY,
        consumer_secret=stub_gateway.CONSUMER_SECRET,
        default_scopes=["read", "write"],
        allow_client_credentials=True,
        actor=people[0],
    )
    secrets = [
        api_services.api_key_create(actor=p, team=team, name="load", role=Role.ISSUER)[1]
        for p in people
    ]
    connections.close_all()
    return secrets


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.issue_latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.doubles: list[set] = []

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[code] = self.statuses.get(code, 0) + 1


def user_loop(base: str, secret: str, username: str, deadline: float, results: Results) -> None:
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {secret}"
    rng = random.Random(secret)  # noqa: S311 - a load mix, not security
    held: list[dict] = []

    def post(path: str, body=None, key: str | None = None):
        headers = {"Idempotency-Key": key} if key else {}
        response = session.post(base + path, json=body or {}, headers=headers, timeout=30)
        results.status(response.status_code)
        return response

    while time.monotonic() < deadline:
        password_grant = rng.random() < 0.9
        body = {"credential": "Load credential"}
        if password_grant:
            body.update(grant="password", username=username, password=stub_gateway.USER_PASSWORD)
        key = str(uuid.uuid4())
        if rng.random() < 0.05:  # a double send: two at once with one Idempotency-Key
            answers = []

            def send(body=body, key=key, answers=answers):
                answers.append(post("/tokens", body, key))

            twins = [threading.Thread(target=send) for _ in range(2)]
            for t in twins:
                t.start()
            for t in twins:
                t.join()
            with results.lock:
                results.doubles.append(
                    {a.json().get("id") or a.json().get("token_id") for a in answers}
                )
            continue
        start = time.perf_counter()
        response = post("/tokens", body, key)
        elapsed = time.perf_counter() - start
        if response.status_code != 201:
            continue
        with results.lock:
            results.issue_latencies.append(elapsed)
        held.append(response.json())
        token = held[-1]
        if token["renewable"] and rng.random() < 0.3:
            renewed = post(f"/tokens/{token['id']}/renew", key=str(uuid.uuid4()))
            if renewed.status_code == 201:
                held[-1] = renewed.json()
        if rng.random() < 0.5:
            victim = held.pop(rng.randrange(len(held)))
            post(f"/tokens/{victim['id']}/revoke")


def check(env: dict, results: Results, stub_state: dict) -> bool:
    from django.core.management import call_command

    from portal.audit.models import AuditEvent
    from portal.tokens.models import Issuance

    ok = True

    def verdict(good: bool, name: str, detail: str = "") -> None:
        nonlocal ok
        ok &= good
        say(f"  {'PASS' if good else 'FAIL'}  {name}" + (f" — {detail}" if detail else ""))

    fivexx = sum(n for code, n in results.statuses.items() if code >= 500)
    verdict(fivexx == 0, "no 5xx", f"answers by status: {dict(sorted(results.statuses.items()))}")
    recorded = Issuance.objects.filter(status__in=["active", "renewed", "revoked"]).count()
    issued = stub_state["counts"].get("issued", 0)
    verdict(issued == recorded, "every token the stub issued is recorded", f"{issued} / {recorded}")
    events = AuditEvent.objects.filter(action__in=["token.issued", "token.renewed"])
    without_key = [e.seq for e in events if not e.details.get("api_key_id")]
    verdict(
        events.count() == recorded and not without_key,
        "each is audited with the API key that asked for it",
        f"{events.count()} events, {len(without_key)} without a key id",
    )
    single = all(len(ids) == 1 and None not in ids for ids in results.doubles)
    verdict(
        single,
        "a double send with one Idempotency-Key minted one token",
        f"{len(results.doubles)} double sends",
    )
    pending = Issuance.objects.filter(status="pending").count()
    verdict(pending == 0, "nothing left pending", f"{pending}")
    try:
        call_command("verify_audit", verbosity=0)
        verdict(True, "manage.py verify_audit")
    except Exception as exc:  # noqa: BLE001 - reported as a failed check
        verdict(False, "manage.py verify_audit", str(exc))
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--delay-ms", type=float, default=50)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite in /tmp)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="load-api-", dir="/tmp"))
    stub = subprocess.Popen(
        [PY, "-m", "benchmarks.load.stub_gateway", "--delay-ms", str(args.delay_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    portal = None
    try:
        stub_base = f"http://127.0.0.1:{int(stub.stdout.readline().split()[1])}"
        with scratch_database(args.database_url, workdir) as url:
            env = portal_env(url)
            secrets = prepare(env, users=args.users, stub_base=stub_base)
            port = free_port()
            log = open(workdir / "gunicorn.log", "w")  # noqa: SIM115 - closed below
            portal = subprocess.Popen(
                [GUNICORN, "-c", "gunicorn.conf.py", "portal.wsgi"],
                cwd=ROOT,
                env=dict(env, GUNICORN_BIND=f"127.0.0.1:{port}"),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            base = f"http://127.0.0.1:{port}/api/v1"
            for _ in range(300):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                        break
                time.sleep(0.2)
            say(
                f"API load on {urlsplit(url).scheme}: {args.users} users, {args.seconds:g} s, "
                f"stub delay {args.delay_ms:g} ms"
            )
            results = Results()
            deadline = time.monotonic() + args.seconds
            started = time.monotonic()
            threads = [
                threading.Thread(
                    target=user_loop,
                    args=(base, secret, f"user{n}@example.com", deadline, results),
                )
                for n, secret in enumerate(secrets)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - started
            portal.send_signal(signal.SIGTERM)
            portal.wait(40)
            log.close()
            stub_state = requests.get(f"{stub_base}/_stub/state", timeout=10).json()
            lat = results.issue_latencies
            say(
                f"  {stub_state['counts'].get('issued', 0) / elapsed:.1f} issuances/s; "
                f"POST /api/v1/tokens median {ms(statistics.median(lat) if lat else 0)}, "
                f"p95 {ms(pct(lat, 0.95))} (overhead over the stub's delay: median "
                f"{ms((statistics.median(lat) if lat else 0) - args.delay_ms / 1000)})"
            )
            passed = check(env, results, stub_state)
            say(f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            return 0 if passed else 1
    finally:
        if portal is not None and portal.poll() is None:
            portal.kill()
        stub.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            stub.wait(10)


if __name__ == "__main__":
    sys.exit(main())
