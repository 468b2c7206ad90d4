"""Token issuance benchmarks.

    .venv/bin/python benchmarks/issue.py history [--issuances 100000] [--database-url URL]

Runs against a scratch database it creates and removes itself - never the development database:
a temporary SQLite file under /tmp by default; with ``--database-url postgres://...`` a new
database ``bench_issue_<pid>`` on that server (the URL's own database is only used to create and
drop it).

Sections (subcommands):
- ``history``: the team history page with 100,000 issuances in one team, first page and page 500
  (keyset cursor), median and p95 over 20 requests each. Goal: <= 100 ms p95 for both.
- ``overhead``: the portal's own cost per issuance. The same password-grant call is made
  directly (``client.password_grant``) and through the portal (the generate form's POST: access
  checks, form validation, decrypting the credential, the pending row and its audit event, the
  upstream call, the outcome transaction and its audit event, the redirect), alternating, 200
  times each, against a local stub gateway (``benchmarks/load/stub_gateway.py``). Overhead =
  portal minus direct, median and p95. Goal: median <= 15 ms.

    .venv/bin/python benchmarks/issue.py overhead [--issuances 200] [--delay-ms 0] [--database-url URL]

- ``api``: the same measurement for the JSON API: ``POST /api/v1/tokens`` with a bearer API key
  (key lookup, access checks, input validation, the same service and audit events, the token in
  the JSON answer) against the same direct call. Goal: median overhead <= 3 ms on SQLite,
  <= 5 ms on PostgreSQL.

    .venv/bin/python benchmarks/issue.py api [--issuances 200] [--delay-ms 0] [--database-url URL]

The scratch database, the cast and the bulk fill come from ``fill.py``.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import fill  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def say(text: str = "") -> None:
    print(text, flush=True)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def cast():
    """alice owns Acme, bob issues in it; Acme has one credential on an HTTP gateway."""
    alice, bob, acme = fill.cast()
    return alice, bob, acme, fill.credential_create(team=acme, actor=alice)


def timed_get(client, url: str, *, runs: int, warmup: int = 3):
    """Wall and CPU (this process) times of ``runs`` GETs after ``warmup``, and the status code.
    CPU time leaves out waiting for a busy machine; with SQLite it includes the database work."""
    for _ in range(warmup):
        client.get(url)
    walls, cpus, status = [], [], 0
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        status = response.status_code
    return walls, cpus, status


def report(label: str, walls, cpus, status: int, goal: float | None = None) -> bool:
    median, high = statistics.median(walls), p95(walls)
    ok = goal is None or high <= goal
    verdict = "" if goal is None else ("  ok" if ok else f"  OVER the {ms(goal)} goal")
    say(
        f"  {label:<34} HTTP {status}  median {ms(median):>9}  p95 {ms(high):>9}"
        f"  (CPU median {ms(statistics.median(cpus))}, p95 {ms(p95(cpus))}){verdict}"
    )
    return ok


# --- history -----------------------------------------------------------------------------------


def bench_history(args) -> bool:
    """Time the history page (first page and page 500) with ``args.issuances`` rows."""
    with fill.scratch_database(args.database_url, prefix="bench_issue") as url:
        fill.setup_django(url)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.urls import reverse

        from portal.tokens import selectors

        say(f"History page benchmark on {connection.vendor} ({args.issuances:,} issuances)")
        alice, bob, acme, credential = cast()
        took = fill.issuances_fill(
            acme=acme, credential=credential, users=[alice, bob], count=args.issuances
        )
        say(f"  built {args.issuances:,} issuances in {took:.1f} s")
        with connection.cursor() as cursor:  # fresh planner statistics, as in production
            cursor.execute("ANALYZE")

        base = f"{reverse('tokens:history')}?team={acme.pk}"
        size = selectors.PAGE_SIZE
        target_page = args.page
        # The page-N link is "before" the last row of page N-1. Computed here once with OFFSET
        # (setup only); the page itself never uses OFFSET.
        qs = selectors.issuance_list_for_team(team=acme).order_by(*selectors.NEWEST_FIRST)
        last_of_previous = qs[(target_page - 1) * size - 1]
        cursor = selectors.Cursor.of(last_of_previous).encode()
        deep = f"{base}&before={cursor}"

        client = fill.logged_in(alice)
        # Check the cursor against the links the page itself hands out (first few pages).
        url_n = base
        for _ in range(3):
            html = client.get(url_n).content.decode()
            marker = 'rel="next"'
            end = html.index(marker)
            start = html.rindex('href="?', 0, end) + len('href="?')
            url_n = reverse("tokens:history") + "?" + html[start : html.index('"', start)]
            url_n = url_n.replace("&amp;", "&")
        expected3 = selectors.Cursor.of(qs[3 * size - 1]).encode()
        assert expected3 in url_n, "the page's own Older link disagrees with the computed cursor"

        for label, url in (("first page", base), (f"page {target_page}", deep)):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200
            sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
            assert " OFFSET " not in sql
            say(
                f"  {label}: {len(queries.captured_queries)} queries, {len(response.content):,} bytes"
            )

        say(f"  {args.runs} requests each, through Django's test client, logged in as the owner:")
        ok = True
        for label, url, goal in (
            ("history, first page", base, 0.100),
            (f"history, page {target_page}", deep, 0.100),
            ("history, filtered status=failed", f"{base}&status=failed", None),
            ("history, filtered scope=admin", f"{base}&scope=admin", None),
            ("CSV export of one member (stream)", None, None),
        ):
            if url is None:
                export_url = f"{reverse('tokens:history_export')}?team={acme.pk}&member={bob.pk}"
                start = time.perf_counter()
                response = client.get(export_url)
                rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
                say(f"  {label:<34} {rows:,} rows in {ms(time.perf_counter() - start)}")
                continue
            walls, cpus, status = timed_get(client, url, runs=args.runs)
            ok &= report(label, walls, cpus, status, goal)
        say(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        return ok


# --- overhead ----------------------------------------------------------------------------------


def bench_overhead(args) -> bool:
    import threading
    import uuid

    from benchmarks.load import stub_gateway

    server = stub_gateway.make_server(port=0, delay_ms=args.delay_ms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["PORTAL_RATE_LIMIT_PER_USER"] = "0"  # measuring cost, not the limiter
    os.environ["PORTAL_RATE_LIMIT_PER_TEAM"] = "0"
    with fill.scratch_database(args.database_url, prefix="bench_overhead") as url:
        fill.setup_django(url)
        from django.db import connection
        from django.urls import reverse

        from portal.gateway import client as token_client
        from portal.tokens.models import Issuance

        alice, bob, acme, _ = cast()
        credential = fill.credential_create(
            team=acme,
            actor=alice,
            base_url=base,
            gateway_name="Stub gateway",
            name="Stub app",
            consumer_key=stub_gateway.CONSUMER_KEY,
            consumer_secret=stub_gateway.CONSUMER_SECRET,
        )
        browser = fill.logged_in(bob)
        url_generate = reverse("tokens:generate")
        from portal.vault import services as vault

        credentials = vault.credential_client_credentials(credential=credential)

        def direct() -> float:
            start = time.perf_counter()
            token_client.password_grant(
                credentials,
                username="bob@example.com",
                password=stub_gateway.USER_PASSWORD,
                scopes=["read", "write"],
            )
            return time.perf_counter() - start

        def through_portal() -> tuple[float, float]:
            data = {
                "credential": str(credential.pk),
                "grant_type": "password",
                "upstream_username": "bob@example.com",
                "password": stub_gateway.USER_PASSWORD,
                "scopes": ["read", "write"],
                "extra_scopes": "",
                "idempotency_key": str(uuid.uuid4()),
            }
            start, cpu = time.perf_counter(), time.process_time()
            response = browser.post(url_generate, data)
            wall = time.perf_counter() - start
            if response.status_code != 302:
                raise SystemExit(f"generate answered {response.status_code}, not a redirect")
            return wall, time.process_time() - cpu

        for _ in range(10):  # warm up connections, caches and the session
            direct()
            through_portal()
        directs, portals, portal_cpus = [], [], []
        for _ in range(args.issuances):
            directs.append(direct())
            wall, cpu = through_portal()
            portals.append(wall)
            portal_cpus.append(cpu)
        active = Issuance.objects.filter(status="active").count()
        overheads = sorted(p - d for p, d in zip(portals, directs, strict=True))
        median_overhead = statistics.median(portals) - statistics.median(directs)
        p95_overhead = p95(portals) - p95(directs)
        say(
            f"Issuance overhead on {connection.vendor}, {args.issuances} issuances, "
            f"stub gateway delay {args.delay_ms:g} ms ({active} active issuances recorded)"
        )
        say(
            f"  direct upstream call      median {ms(statistics.median(directs)):>9}  p95 {ms(p95(directs)):>9}"
        )
        say(
            f"  through the portal        median {ms(statistics.median(portals)):>9}  p95 {ms(p95(portals)):>9}"
            f"  (CPU median {ms(statistics.median(portal_cpus))})"
        )
        say(
            f"  overhead (portal-direct)  median {ms(median_overhead):>9}  p95 {ms(p95_overhead):>9}"
            f"  (pairwise median {ms(statistics.median(overheads))})"
        )
        goal = 0.015
        ok = median_overhead <= goal
        say(f"  goal: median overhead <= {ms(goal)}: {'ok' if ok else 'MISSED'}")
        say(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        server.shutdown()
        return ok


# --- api ---------------------------------------------------------------------------------------


def bench_api(args) -> bool:
    """``POST /api/v1/tokens`` against the direct upstream call, alternating, like ``overhead``."""
    import json
    import threading

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import stub_gateway

    server = stub_gateway.make_server(port=0, delay_ms=args.delay_ms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["PORTAL_RATE_LIMIT_PER_USER"] = "0"  # measuring cost, not the limiter
    os.environ["PORTAL_RATE_LIMIT_PER_TEAM"] = "0"
    with fill.scratch_database(args.database_url, prefix="bench_api") as url:
        fill.setup_django(url)
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from portal.api import services as api_services
        from portal.gateway import client as token_client
        from portal.tokens.models import Issuance
        from portal.vault import services as vault

        alice, bob, acme, _ = cast()
        gateway, _ = vault.gateway_create(
            name="Stub gateway", token_url=f"{base}/token", revoke_url=f"{base}/revoke"
        )
        credential = vault.credential_create(
            team=acme,
            name="Stub app",
            gateway=gateway,
            consumer_key=stub_gateway.CONSUMER_KEY,
            consumer_secret=stub_gateway.CONSUMER_SECRET,
            default_scopes=["read", "write"],
            actor=alice,
        )
        _, secret = api_services.api_key_create(actor=bob, team=acme, name="bench", role="issuer")
        api = Client(headers={"Authorization": f"Bearer {secret}"})
        credentials = vault.credential_client_credentials(credential=credential)
        body = json.dumps(
            {
                "credential": "Stub app",
                "grant": "password",
                "username": "bob@example.com",
                "password": stub_gateway.USER_PASSWORD,
                "scopes": ["read", "write"],
            }
        )

        def direct() -> float:
            start = time.perf_counter()
            token_client.password_grant(
                credentials,
                username="bob@example.com",
                password=stub_gateway.USER_PASSWORD,
                scopes=["read", "write"],
            )
            return time.perf_counter() - start

        def through_api() -> tuple[float, float]:
            start, cpu = time.perf_counter(), time.process_time()
            response = api.post("/api/v1/tokens", body, content_type="application/json")
            wall = time.perf_counter() - start
            if response.status_code != 201:
                raise SystemExit(f"POST /api/v1/tokens answered {response.status_code}")
            return wall, time.process_time() - cpu

        for _ in range(10):  # warm up connections and caches
            direct()
            through_api()
        with CaptureQueriesContext(connection) as queries:
            through_api()
        statements = len(queries.captured_queries)
        directs, apis, api_cpus = [], [], []
        for _ in range(args.issuances):
            directs.append(direct())
            wall, cpu = through_api()
            apis.append(wall)
            api_cpus.append(cpu)
        active = Issuance.objects.filter(status="active").count()
        pairwise = sorted(a - d for a, d in zip(apis, directs, strict=True))
        median_overhead = statistics.median(apis) - statistics.median(directs)
        p95_overhead = p95(apis) - p95(directs)
        say(
            f"API issuance overhead on {connection.vendor}, {args.issuances} issuances, "
            f"stub gateway delay {args.delay_ms:g} ms ({active} active issuances recorded, "
            f"{statements} SQL statements per request)"
        )
        say(
            f"  direct upstream call      median {ms(statistics.median(directs)):>9}  p95 {ms(p95(directs)):>9}"
        )
        say(
            f"  POST /api/v1/tokens       median {ms(statistics.median(apis)):>9}  p95 {ms(p95(apis)):>9}"
            f"  (CPU median {ms(statistics.median(api_cpus))})"
        )
        say(
            f"  overhead (api-direct)     median {ms(median_overhead):>9}  p95 {ms(p95_overhead):>9}"
            f"  (pairwise median {ms(statistics.median(pairwise))})"
        )
        goal = 0.005 if connection.vendor == "postgresql" else 0.003
        ok = median_overhead <= goal
        say(f"  goal: median overhead <= {ms(goal)}: {'ok' if ok else 'MISSED'}")
        say(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        server.shutdown()
        return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="section", required=True)
    history = sub.add_parser("history", help="history page latency with 100,000 issuances")
    history.add_argument("--issuances", type=int, default=100_000)
    history.add_argument("--page", type=int, default=500, help="the deep page to time")
    history.add_argument("--runs", type=int, default=20)
    history.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite in /tmp)")
    history.set_defaults(run=bench_history)
    overhead = sub.add_parser("overhead", help="portal overhead per issuance over a direct call")
    overhead.add_argument("--issuances", type=int, default=200)
    overhead.add_argument("--delay-ms", type=float, default=0, help="stub gateway delay")
    overhead.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite in /tmp)")
    overhead.set_defaults(run=bench_overhead)
    api = sub.add_parser("api", help="POST /api/v1/tokens overhead over a direct call")
    api.add_argument("--issuances", type=int, default=200)
    api.add_argument("--delay-ms", type=float, default=0, help="stub gateway delay")
    api.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite in /tmp)")
    api.set_defaults(run=bench_api)
    args = parser.parse_args(argv)
    return 0 if args.run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
