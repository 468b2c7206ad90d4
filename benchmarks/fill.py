"""What the benchmarks share: a scratch database they create and remove themselves (never the
development database), Django set up on it, the cast, and bulk fills of issuances and audit
events that take seconds where the services would take hours.

    with fill.scratch_database(url, prefix="bench_x") as database_url:
        fill.setup_django(database_url)
        alice, bob, acme = fill.cast()
        credential = fill.credential_create(team=acme, actor=alice)
        fill.issuances_fill(acme=acme, credential=credential, users=[alice, bob], count=100_000)

Django is imported inside the functions: the environment must be set before ``django.setup()``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

BENCH_ENV = {
    "PORTAL_ENV_FILE": "",  # never read .env: it names the development database
    "DEBUG": "True",
    "SECRET_KEY": "benchmark-secret-key-0123456789abcdef0123456789abcdef",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "PORTAL_ENCRYPTION_KEYS": "k1:S8Cqgm7mIvO1Zq6kR3OQmCi6y1ih1hCPtq9g06KvjBE=",
    "PORTAL_AUDIT_KEY": "benchmark-audit-key-0123456789abcdef",
    "PORTAL_SANDBOX": "False",
    "PORTAL_ALLOW_HTTP_GATEWAYS": "True",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "portal.settings",
}
PASSWORD = "bench password 12345 xyz"
LOGIN_BACKEND = "portal.accounts.backends.UsernameOrEmailBackend"


# --- The database and Django ------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(url: str | None, *, prefix: str) -> Iterator[str]:
    """Yield a DATABASE_URL of a fresh, empty database, removed afterwards: a SQLite file in a
    temporary directory under /tmp, or (``url`` given) a new PostgreSQL database
    ``<prefix>_<pid>`` on that server (the URL's own database is only used to create and drop
    it)."""
    if not url:
        with tempfile.TemporaryDirectory(prefix=f"{prefix}-", dir="/tmp") as directory:
            yield f"sqlite:///{directory}/bench.sqlite3"
        return
    import psycopg

    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(url: str, *, migrate: bool = True) -> None:
    """Configure Django for ``url`` (environment set before ``django.setup()``) and migrate
    (a process joining a database another one set up passes ``migrate=False``)."""
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ.update(BENCH_ENV)
    os.environ["DATABASE_URL"] = url
    # The scratch database is the benchmark's own: a two-role run's owner URL names another.
    os.environ.pop("DATABASE_OWNER_URL", None)
    import django

    django.setup()
    from django.conf import settings

    # DEBUG stays on for static files in the test client; query logging goes off.
    settings.DEBUG = False
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def analyze() -> None:
    """Steady state after a bulk load: statistics fresh and, on PostgreSQL, the tables vacuumed
    now rather than by autovacuum in the middle of the measurements."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- Measuring -------------------------------------------------------------------------------


def database_server_cpu() -> float | None:
    """CPU seconds of the local PostgreSQL server so far (the postmaster and every backend it
    reaped, from /proc), or None when it is not on this machine or not PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    from benchmarks.load.processes import tree_cpu

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        with open(f"/proc/{backend}/stat") as handle:
            postmaster = int(handle.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
    return tree_cpu(postmaster)


# Runs a command and reports its own resource use. Started from this small process rather than
# from the benchmark itself: Linux counts a child's memory before exec into its peak RSS, and the
# benchmark holds a large database fill in memory.
_MEASURE = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
output = child.stdout.read()
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps([time.perf_counter() - started, usage.ru_utime + usage.ru_stime,
                  usage.ru_maxrss, os.waitstatus_to_exitcode(status), output]))
"""


def run_measured(command: list[str], env: dict) -> tuple[float, float, int, int, str]:
    """(wall seconds, CPU seconds, peak RSS in KiB, exit code, output) of ``command``, its
    children included (CPU summed, RSS the largest process's)."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(json.loads(result.stdout))


# --- The cast ---------------------------------------------------------------------------------


def cast():
    """alice owns Acme, bob issues in it: ``(alice, bob, acme)``."""
    from portal.accounts import services as accounts
    from portal.teams import services as teams
    from portal.teams.models import Role

    alice = accounts.user_create(username="alice", password=PASSWORD, email="alice@example.com")
    bob = accounts.user_create(username="bob", password=PASSWORD, email="bob@example.com")
    acme = teams.team_create(name="Acme", owner=alice)
    teams.member_add(team=acme, user=bob, role=Role.ISSUER, actor=alice)
    return alice, bob, acme


def credential_create(
    *,
    team,
    actor,
    base_url: str = "http://127.0.0.1:9",
    gateway_name: str = "Bench gateway",
    name: str = "Acme production",
    consumer_key: str = "benchConsumerKey0123456789",
    consumer_secret: str = "benchConsumerSecret0123456789",
    **options,
):
    """A credential of ``team`` on the gateway at ``base_url`` (``/token``, ``/revoke``; by
    default a port nothing listens on). ``options`` go to ``credential_create`` except
    ``actor_label``, which goes to ``gateway_create``."""
    from portal.vault import services as vault

    gateway, _ = vault.gateway_create(
        name=gateway_name,
        token_url=f"{base_url}/token",
        revoke_url=f"{base_url}/revoke",
        actor_label=options.pop("actor_label", ""),
    )
    return vault.credential_create(
        team=team,
        name=name,
        gateway=gateway,
        consumer_key=consumer_key,
        consumer_secret=consumer_secret,
        default_scopes=options.pop("default_scopes", ["read", "write"]),
        actor=actor,
        **options,
    )


def logged_in(user):
    """A Django test client logged in as ``user``."""
    from django.test import Client

    client = Client()
    client.force_login(user, backend=LOGIN_BACKEND)
    return client


# --- Bulk fills -------------------------------------------------------------------------------


def issuances_fill(*, acme, credential, users, count: int, days: int = 365) -> float:
    """``count`` issuances spread evenly over the last ``days`` days (newest now), a realistic
    mix: mostly finished tokens, 5% failed, a third renewed (each linked to the newer issuance
    that replaced it), ~40 still live; bulk inserted in batches, in one transaction. With a
    list of credentials they take turns. Returns the seconds it took."""
    from django.db import transaction
    from django.utils import timezone

    from portal.tokens.models import Grant, Issuance, Status, TokenFormat

    credentials = credential if isinstance(credential, list | tuple) else [credential]
    now = timezone.now()
    step = timedelta(days=days) / count
    ids = [uuid.uuid4() for _ in range(count)]
    statuses = []
    for n in range(count):
        if n % 20 == 7:
            statuses.append(Status.FAILED)
        elif n < 60:
            statuses.append(Status.ACTIVE)
        else:
            statuses.append((Status.REVOKED, Status.RENEWED, Status.ACTIVE)[n % 3])
    started = time.perf_counter()
    batch: list[Issuance] = []
    with transaction.atomic():  # renewal links point at rows of the next batch
        for n in range(count):
            issued_at = now - step * n
            status = statuses[n]
            failed = status == Status.FAILED
            # The issuance just newer than a renewed one is its renewal.
            renewed_from = (
                ids[n + 1] if n + 1 < count and statuses[n + 1] == Status.RENEWED else None
            )
            batch.append(
                Issuance(
                    id=ids[n],
                    team=acme,
                    credential=credentials[n % len(credentials)],
                    issued_by=users[n % len(users)],
                    grant_type=Grant.REFRESH_TOKEN
                    if renewed_from
                    else (Grant.PASSWORD if n % 4 else Grant.CLIENT_CREDENTIALS),
                    upstream_username=f"user{n % 50}@example.com",
                    requested_scopes=["read", "write"] if n % 5 else ["read", "admin"],
                    granted_scopes=["read", "write"] if n % 5 else ["read"],
                    token_type="Bearer",
                    token_format=TokenFormat.OPAQUE,
                    issued_at=issued_at,
                    expires_at=None if failed else issued_at + timedelta(hours=1),
                    status=status,
                    failure_kind="invalid_grant" if failed else "",
                    failure_message="The API Store password was not accepted." if failed else "",
                    renewed_from_id=renewed_from,
                    access_token_fingerprint="" if failed else f"{n:016x}",
                    access_token_last4="" if failed else f"{n % 10000:04d}",
                )
            )
            if len(batch) == 5000:
                Issuance.objects.bulk_create(batch)
                batch = []
        if batch:
            Issuance.objects.bulk_create(batch)
    return time.perf_counter() - started


def audit_events_fill(*, alice, bob, acme, target_total: int, batch: int = 10_000) -> int:
    """Extend the audit chain to ``target_total`` events fast: hashes computed here (the
    chain stays valid for ``verify_audit``), bulk inserts. Returns how many were added."""
    from django.db import transaction

    from portal.audit.chain import HASHED_FIELDS, compute_hash
    from portal.audit.models import Action, AuditEvent, Outcome

    seq, prev, at = AuditEvent.objects.order_by("-seq").values_list("seq", "hash", "at").first()
    missing = target_total - seq
    actions = [Action.TOKEN_ISSUED, Action.TOKEN_REQUESTED, Action.TOKEN_RENEWED, Action.LOGOUT]
    step = timedelta(milliseconds=100)
    while seq < target_total:
        rows = []
        for _ in range(min(batch, target_total - seq)):
            seq += 1
            at += step
            actor = bob if seq % 3 == 0 else alice
            values = (
                seq,
                at,
                actor.pk,
                actor.username,
                acme.pk,
                actions[seq % len(actions)],
                "teams.team",
                str(acme.pk),
                Outcome.FAILURE if seq % 97 == 0 else Outcome.SUCCESS,
                "10.0.0.1",
                "bench/1.0",
                f"req{seq:012d}",
                {"n": seq, "scopes": ["read", "write"]},
            )
            event = AuditEvent(**dict(zip(HASHED_FIELDS, values, strict=True)), prev_hash=prev)
            event.hash = digest = compute_hash(prev, event)
            rows.append(event)
            prev = digest
        with transaction.atomic():
            AuditEvent.objects.bulk_create(rows)
    return max(missing, 0)


# --- List pages against the naive baseline -------------------------------------------------------


@contextlib.contextmanager
def offset_paging(module, name: str, build):
    """Within the block, the keyset page function ``module.<name>(qs, *, before, after, size)``
    that a list view calls can be replaced by ``build(qs, number, size)``: the same page built the
    way Django's admin changelist builds it (``Paginator``: COUNT(*) of the filtered queryset,
    then OFFSET). Yields ``go(number)``, which picks the page the next requests get (None: the
    portal's own keyset page again); the view, its template and everything else stay the
    portal's, so the two are whole request against whole request."""
    state = {"number": None}
    original = getattr(module, name)
    size = inspect.signature(original).parameters["size"].default

    def page(qs, **kwargs):
        if state["number"] is None:
            return original(qs, **kwargs)
        return build(qs, state["number"], kwargs.get("size", size))

    setattr(module, name, page)
    try:
        yield lambda number: state.update(number=number)
    finally:
        setattr(module, name, original)


def timed_get(client, url: str, *, runs: int, warmup: int = 2):
    """Wall and CPU (this process) seconds of ``runs`` GETs after ``warmup``, and the last
    response. CPU time leaves out waiting for a busy machine (and for PostgreSQL)."""
    for _ in range(warmup):
        client.get(url)
    walls, cpus, response = [], [], None
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return walls, cpus, response


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def page_matrix(
    client, cases, *, go, row_ids, runs: int, baseline_runs: int, goal: float = 0.100
) -> bool:
    """Time each case - (filter label, page number, URL) - both ways: as the portal serves it,
    and with ``go(number)`` under ``offset_paging`` (the same URL, so the view does the same
    work around its page). Prints a matrix: keyset median / p95 (CPU median), COUNT + OFFSET
    median / p95, the ratio of the medians, and what the SQL of one request took each way (the
    database's part of the page). ``row_ids(response)`` lists the rows a page shows: both ways
    must show the same. True when every keyset p95 is within ``goal`` and page 500 is at least 10 times
    faster than its baseline."""
    from statistics import median

    from django.db import connection

    def sql_ms(url) -> float:
        """Milliseconds the page's SQL statements took, from one more request: each timed here
        (the debug cursor's log rounds every statement to a whole millisecond, so a page of
        sub-millisecond statements read as 0)."""
        spent = []

        def timed(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent.append(time.perf_counter() - start)

        with connection.execute_wrapper(timed):
            client.get(url)
        return sum(spent) * 1000

    print(
        f"  {'filter':<22} {'page':>4}  {'keyset median / p95 (CPU)':>30}  "
        f"{'COUNT+OFFSET median / p95':>27}  ratio   SQL: keyset / COUNT+OFFSET",
        flush=True,
    )
    ok = True
    for label, number, url in cases:
        go(None)
        walls, cpus, response = timed_get(client, url, runs=runs)
        assert response.status_code == 200, (url, response.status_code)
        keyset_sql = sql_ms(url)
        go(number)
        base_walls, _, base_response = timed_get(client, url, runs=baseline_runs, warmup=1)
        assert base_response.status_code == 200, (url, base_response.status_code)
        base_sql = sql_ms(url)
        shown = row_ids(response)
        assert shown and shown == row_ids(base_response), f"{label} page {number}: rows differ"
        ratio = median(base_walls) / median(walls)
        fast = p95(walls) <= goal and (number < 500 or ratio >= 10)
        ok &= fast
        print(
            f"  {label:<22} {number:>4}  {median(walls) * 1000:>8.1f} / {p95(walls) * 1000:5.1f} ms"
            f" ({median(cpus) * 1000:5.1f})  {median(base_walls) * 1000:>12.1f} / "
            f"{p95(base_walls) * 1000:6.1f} ms  {ratio:5.1f}x  {keyset_sql:6.1f} / "
            f"{base_sql:6.1f} ms{'' if fast else '  MISSED'}",
            flush=True,
        )
    return ok
