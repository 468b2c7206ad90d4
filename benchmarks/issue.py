"""Token issuance benchmarks.

    .venv/bin/python benchmarks/issue.py history [--issuances 1000000] [--database-url URL]

Runs against a scratch database it creates and removes itself - never the development database:
a temporary SQLite file under /tmp by default; with ``--database-url postgres://...`` a new
database ``bench_issue_<pid>`` on that server (the URL's own database is only used to create and
drop it).

Sections (subcommands):
- ``history``: the team history page with 1,000,000 issuances in one team, at pages 1, 50 and
  500 (keyset cursors), unfiltered and with each filter, median and p95 over 20 requests each,
  beside the same page built the way Django's admin changelist builds it (COUNT(*) of the
  filtered rows, then OFFSET; the portal's own view and template around it) and the ratio.
  Goals: <= 100 ms p95 everywhere; page 500 at least 10 times faster than the baseline.
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
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import fill  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def say(text: str = "") -> None:
    print(text, flush=True)


p95 = fill.p95


# A history row links to its token's page.
DETAIL_LINK = re.compile(r'href="/tokens/([0-9a-f-]{36})/"')


def cast():
    """alice owns Acme, bob issues in it; Acme has one credential on an HTTP gateway."""
    alice, bob, acme = fill.cast()
    return alice, bob, acme, fill.credential_create(team=acme, actor=alice)


# --- history -----------------------------------------------------------------------------------


def bench_history(args) -> bool:
    """The history page at pages 1, 50 and 500, unfiltered and filtered, with ``args.issuances``
    rows in one team, against the same page built with COUNT(*) + OFFSET."""
    with fill.scratch_database(args.database_url, prefix="bench_issue") as url:
        fill.setup_django(url)
        from django.db import connection

        say(f"History page benchmark on {connection.vendor} ({args.issuances:,} issuances)")
        alice, bob, acme, credential = cast()
        # Three credentials taking turns, so that a credential filter keeps a third of the rows.
        others = [
            fill.credential_create(team=acme, actor=alice, gateway_name=f"Bench {n}", name=name)
            for n, name in ((2, "Acme staging"), (3, "Acme batch jobs"))
        ]
        took = fill.issuances_fill(
            acme=acme, credential=[credential, *others], users=[alice, bob], count=args.issuances
        )
        say(f"  built {args.issuances:,} issuances in {took:.1f} s")
        fill.analyze()
        return history_pages(
            alice=alice,
            bob=bob,
            acme=acme,
            credential=others[0],
            runs=args.runs,
            baseline_runs=args.baseline_runs,
        )


def history_pages(*, alice, bob, acme, credential, runs: int, baseline_runs: int) -> bool:
    """The matrix of ``bench_history`` on a filled database; ``credential`` is the one the
    credential filter picks."""
    from django.core.paginator import Paginator
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from portal.tokens import selectors

    history = reverse("tokens:history")
    size = selectors.PAGE_SIZE
    today = timezone.localdate()
    filters = {
        "none": {},
        # Statuses whose rows stay put while the benchmark runs ("expired" gains rows every
        # half minute, so its offset pages would drift from the keyset cursors).
        "status=failed": {"status": "failed"},
        "status=revoked": {"status": "revoked"},
        "status=active": {"status": "active"},
        "credential": {"credential": str(credential.pk)},
        "member": {"member": str(bob.pk)},
        "date (180 days)": {
            "date_from": str(today - timedelta(days=240)),
            "date_to": str(today - timedelta(days=60)),
        },
        "scope=admin": {"scope": "admin"},
    }

    def query(params: dict) -> str:
        return "&".join(f"{k}={v}" for k, v in {"team": acme.pk, **params}.items())

    def form_filters(params: dict):
        from portal.tokens.forms import HistoryFilterForm

        form = HistoryFilterForm({"team": acme.pk, **params}, team=acme)
        assert form.is_valid(), form.errors
        return form.filters()

    client = fill.logged_in(alice)
    # The page-N link is "before" the last row of page N-1, computed here with OFFSET (setup
    # only). Checked against the Older links the page itself hands out, three pages deep.
    qs = selectors.issuance_list_for_team(team=acme).order_by(*selectors.NEWEST_FIRST)
    url_n = f"{history}?{query({})}"
    for _ in range(3):
        html = client.get(url_n).content.decode()
        end = html.index('rel="next"')
        start = html.rindex('href="?', 0, end) + len('href="?')
        url_n = f"{history}?" + html[start : html.index('"', start)].replace("&amp;", "&")
    assert selectors.Cursor.of(qs[3 * size - 1]).encode() in url_n, "Older link disagrees"

    cases = []
    for label, params in filters.items():
        qs = selectors.issuance_list_for_team(team=acme, filters=form_filters(params))
        qs = qs.order_by(*selectors.NEWEST_FIRST)
        for number in (1, 50, 500):
            if number == 1:
                keyset = f"{history}?{query(params)}"
            else:
                found = qs[(number - 1) * size - 1 : (number - 1) * size]
                if not found:
                    say(f"  {label}: fewer than {number} pages")
                    continue
                cursor = selectors.Cursor.of(found[0]).encode()
                keyset = f"{history}?{query({**params, 'before': cursor})}"
            cases.append((label, number, keyset))

    for label, number, url in cases[:2] + [c for c in cases if c[1] == 500][:1]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
        # The first page's charts count a month of rows by day (on PostgreSQL behind an
        # "OFFSET 0" fence, which skips nothing); a page never skips or counts all.
        skipping = re.search(r" OFFSET (?!0\))", sql)
        assert not skipping and (number == 1 or "COUNT(" not in sql)
        say(
            f"  {label}, page {number}: {len(queries.captured_queries)} queries, "
            f"{len(response.content):,} bytes, no OFFSET"
        )

    def offset_page(chosen, number, size):
        # As the admin changelist: COUNT(*) of the filtered queryset, then the page's rows -
        # the same rows the keyset page reads - at an OFFSET.
        qs = chosen.queryset()
        page = Paginator(qs.order_by(*selectors.NEWEST_FIRST), size).page(number)
        start = page.start_index() - 1
        rows = selectors.history_table_rows(qs).order_by(*selectors.NEWEST_FIRST)
        items = list(rows[start : start + size])
        return selectors.HistoryPage(
            issuances=items,
            older=selectors.Cursor.of(items[-1]) if page.has_next() else None,
            newer=selectors.Cursor.of(items[0]) if page.has_previous() else None,
            renewed_by=selectors.renewed_by_map(items),
        )

    def row_ids(response) -> list[str]:
        return DETAIL_LINK.findall(response.content.decode())

    say(
        f"  {runs} requests per keyset page, {baseline_runs} per baseline, through "
        "Django's test client, logged in as the owner (CPU: this process only):"
    )
    with fill.offset_paging(selectors, "history_table_page", offset_page) as go:
        ok = fill.page_matrix(
            client,
            cases,
            go=go,
            row_ids=row_ids,
            runs=runs,
            baseline_runs=baseline_runs,
        )
    export_url = f"{reverse('tokens:history_export')}?team={acme.pk}&member={bob.pk}"
    start = time.perf_counter()
    response = client.get(export_url)
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    say(f"  CSV export of one member (stream): {rows:,} rows in {ms(time.perf_counter() - start)}")
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
    history.add_argument("--issuances", type=int, default=1_000_000)
    history.add_argument("--runs", type=int, default=20, help="requests per keyset page")
    history.add_argument("--baseline-runs", type=int, default=5, help="requests per baseline")
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
