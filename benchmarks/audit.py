"""Audit trail benchmark: append rate, verify_audit at scale, audit page latency.

    python benchmarks/audit.py [--events 1000000] [--database-url URL] [--writes 2000]
                               [--only verify] [--only pages] ...

Runs against a scratch database it creates and removes itself - never the development database:
a temporary SQLite file by default; with ``--database-url postgres://...`` a new database
``bench_audit_<pid>`` on that server (the URL's own database is only used to create and drop it).

Goals: one append < 3 ms median on SQLite; verify_audit of 1M events <= 5 s on PostgreSQL
(in its default workers; one process and the CPU it costs are printed beside it) with the same
peak memory at 100,000 and 1,000,000 events;
the audit page at pages 1, 50 and 500, unfiltered and with each filter, <= 100 ms p95 with 1M
events, and page 500 at least 10 times faster than the same page built with COUNT(*) + OFFSET
(the admin changelist's way, printed beside it). verify_audit --since: 10,000
new events after a checkpoint on a 1M chain < 1 s.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import fill  # noqa: E402


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def say(text: str = "") -> None:
    print(text, flush=True)


def bench_appends(alice, acme, writes: int) -> None:
    from django.db import connection

    from portal.audit import services as audit
    from portal.audit.models import Action

    def one(i: int) -> float:
        start = time.perf_counter()
        audit.record(
            action=Action.PROFILE_UPDATED, actor=alice, team=acme, target=acme, details={"i": i}
        )
        return time.perf_counter() - start

    for i in range(50):  # warm-up
        one(i)
    started = time.perf_counter()
    times = [one(i) for i in range(writes)]
    elapsed = time.perf_counter() - started
    times.sort()
    say(
        f"append, 1 writer:   {writes} events in {elapsed:.2f} s = {writes / elapsed:,.0f}/s; "
        f"median {ms(statistics.median(times))}, p95 {ms(times[int(len(times) * 0.95)])}"
    )

    threads, each = 8, writes // 8
    per_call: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        mine = []
        try:
            for i in range(each):
                mine.append(one(i))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()
            with lock:
                per_call.extend(mine)

    workers = [threading.Thread(target=writer) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    per_call.sort()
    total = threads * each
    say(
        f"append, 8 writers:  {total} events in {elapsed:.2f} s = {total / elapsed:,.0f}/s; "
        f"per call median {ms(statistics.median(per_call))}, p95 "
        f"{ms(per_call[int(len(per_call) * 0.95)])}"
        + (f"; {len(errors)} ERRORS: {errors[0]!r}" if errors else "")
    )


def bulk_fill(alice, bob, acme, target_total: int) -> None:
    started = time.perf_counter()
    added = fill.audit_events_fill(alice=alice, bob=bob, acme=acme, target_total=target_total)
    if added:
        elapsed = time.perf_counter() - started
        say(f"bulk fill:          {added:,} events in {elapsed:.1f} s (setup, not a goal)")


def bench_verify(url: str, events: int) -> None:
    """verify_audit as an operator runs it: a separate process, in one process and in the
    default number of workers. Wall time, the CPU time of the command (its workers included)
    and of the database server, and the peak RSS of the command's largest process."""
    from django.db import connection

    env = dict(os.environ, **fill.BENCH_ENV, DATABASE_URL=url)
    for workers in (1, min(4, os.cpu_count() or 1)):
        server_before = fill.database_server_cpu()
        connection.close()  # not to hold a backend whose CPU time is not yet reaped
        command = [sys.executable, str(ROOT / "manage.py"), "verify_audit", "--workers"]
        elapsed, cpu, peak, code, output = fill.run_measured([*command, str(workers)], env)
        load = os.getloadavg()[0]
        server_after = fill.database_server_cpu()
        server = (
            f" + database server {server_after - server_before:.1f} s"
            if server_before is not None and server_after is not None
            else ""
        )
        say(
            f"verify_audit, {events:,} events, --workers {workers}: {elapsed:.2f} s wall, CPU "
            f"{cpu:.1f} s{server}, peak RSS {peak / 1024:.0f} MiB; load average "
            f"{load:.1f} on {os.cpu_count()} CPUs; exit {code}: "
            f"{output.strip()[:40]}"
        )


def bench_verify_since(url: str, alice, bob, acme, new: int) -> None:
    """verify_audit --since: a checkpoint at the head, ``new`` events after it. Only those are
    recomputed, so the time depends on ``new``, not on the chain's length."""
    from portal.audit.selectors import chain_head
    from portal.audit.verify import checkpoint_append, read_checkpoints, verify_chain

    with tempfile.TemporaryDirectory(prefix="bench-audit-cp-") as tmp:
        path = Path(tmp) / "audit.checkpoints"
        checkpoint_append(path)
        since = chain_head()[0]
        bulk_fill(alice, bob, acme, since + new)
        started = time.perf_counter()
        summary = verify_chain(checkpoints=read_checkpoints(path), since=since)
        in_process = time.perf_counter() - started

        def command(*since_args: str) -> tuple[float, subprocess.CompletedProcess]:
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, str(ROOT / "manage.py"), "verify_audit", "--since", *since_args]
                + ["--checkpoint", str(path)],
                env=dict(os.environ, **fill.BENCH_ENV, DATABASE_URL=url),
                capture_output=True,
                text=True,
                check=False,
            )
            return time.perf_counter() - started, result

        wall, result = command()
        # The same command with nothing new to verify: Django's start-up and a few queries.
        idle, _ = command(str(since + new))
    say(
        f"verify --since:     {summary.count:,} new events after seq {since:,}: "
        f"{ms(in_process)} in process; manage.py verify_audit --since {wall:.2f} s, of which "
        f"{idle:.2f} s start-up (the same with nothing new); exit {result.returncode}: "
        f"{(result.stdout or result.stderr).strip()[:48]}"
    )


# A log row shows its event's seq in its last cell.
SEQ_CELL = re.compile(r'<td class="col-seq mono"[^>]*>(\d+)</td>')


def bench_pages(alice, bob, acme, *, runs: int, baseline_runs: int, explain: bool = False) -> bool:
    """The audit log at pages 1, 50 and 500, unfiltered, for an issuer (own events) and with
    each filter, against the same page built with COUNT(*) + OFFSET (``fill.page_matrix``)."""
    from django.core.paginator import Paginator
    from django.urls import reverse
    from django.utils import timezone

    from portal.audit import selectors
    from portal.audit.forms import AuditFilterForm
    from portal.audit.models import AuditEvent
    from portal.audit.selection import EventSelection
    from portal.core import paging

    url = reverse("audit:log")
    size = selectors.PAGE_SIZE
    # A day in the middle of the log: the date filter must seek, not scan.
    head_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    day = timezone.localtime(AuditEvent.objects.get(seq=head_seq // 2).at).date()
    filters = {
        "none": {},
        "action=token.renewed": {"action": "token.renewed"},
        "outcome=failure": {"outcome": "failure"},
        "actor=bob": {"actor": "bob"},
        "date (one day)": {"date_from": str(day), "date_to": str(day)},
        "target": {"target_type": "teams.team", "target_id": str(acme.pk)},
    }

    def page_url(params: dict, before: int | None = None) -> str:
        query = {"team": acme.pk, **params, **({"before": before} if before else {})}
        return f"{url}?" + "&".join(f"{k}={v}" for k, v in query.items())

    def cases_for(label: str, params: dict, only_actor_id=None) -> list:
        form = AuditFilterForm(params)
        assert form.is_valid(), form.errors
        qs = selectors.event_list_for_team(
            team=acme, filters=form.filters(), only_actor_id=only_actor_id
        ).order_by("-seq")
        cases = []
        for number in (1, 50, 500):
            before = None
            if number > 1:
                found = qs.values_list("seq", flat=True)[(number - 1) * size - 1 :][:1]
                if not found:
                    say(f"  {label}: fewer than {number} pages")
                    continue
                before = found[0]
            cases.append((label, number, page_url(params, before)))
        return cases

    def offset_page(qs, number, size):
        # The pages read an EventSelection (fixed SQL); the baseline pages its queryset.
        if isinstance(qs, EventSelection):
            qs = qs.queryset()
        page = Paginator(qs.order_by("-seq"), size).page(number)
        items = list(page.object_list)
        return paging.Page(
            items=items,
            older=items[-1].seq if page.has_next() else None,
            newer=items[0].seq if page.has_previous() else None,
        )

    def row_ids(response) -> list[str]:
        return SEQ_CELL.findall(response.content.decode())

    say(
        f"audit log pages, {runs} requests per keyset page, {baseline_runs} per baseline, "
        "through Django's test client (CPU: this process only):"
    )
    ok = True
    with fill.offset_paging(selectors, "event_page", offset_page) as go:
        owner_cases = [c for label, p in filters.items() for c in cases_for(label, p)]
        ok &= fill.page_matrix(
            fill.logged_in(alice),
            owner_cases,
            go=go,
            row_ids=row_ids,
            runs=runs,
            baseline_runs=baseline_runs,
        )
        say("  an issuer, who sees their own events only:")
        ok &= fill.page_matrix(
            fill.logged_in(bob),
            cases_for("issuer (own events)", {}, only_actor_id=bob.pk),
            go=go,
            row_ids=row_ids,
            runs=runs,
            baseline_runs=baseline_runs,
        )
    say(f"  load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if explain:
        before_500 = (
            AuditEvent.objects.filter(team=acme)
            .order_by("-seq")
            .values_list("seq", flat=True)[499 * size - 1]
        )
        explain_pages(acme, bob, before_500, day)
    return ok


def explain_pages(acme, bob, before_500, day) -> None:
    """The query plans behind the pages: each should be an index range scan, never a sort."""
    from portal.audit import selectors

    def plan(label, qs):
        say(f"plan {label}:")
        for line in qs.order_by("-seq")[:51].explain().splitlines():
            say(f"    {line}")

    nothing = selectors.AuditFilters()
    team = selectors.event_list_for_team(team=acme, filters=nothing)
    plan("owner, 500th page", team.filter(seq__lt=before_500 or 1))
    plan(
        "issuer, first page",
        selectors.event_list_for_team(team=acme, filters=nothing, only_actor_id=bob.pk),
    )
    plan(
        "outcome=failure",
        selectors.event_list_for_team(team=acme, filters=selectors.AuditFilters(outcome="failure")),
    )
    plan(
        "one day",
        selectors.event_list_for_team(
            team=acme, filters=selectors.AuditFilters(date_from=day, date_to=day)
        ),
    )


# What --only can pick: the append rate, verify_audit at a tenth of the size and at full size,
# the log pages, verify_audit --since.
PARTS = ("appends", "verify", "pages", "since")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=2000, help="appends timed per writer mode")
    parser.add_argument("--repeats", type=int, default=20, help="requests per keyset page")
    parser.add_argument("--baseline-runs", type=int, default=5, help="requests per baseline")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--explain", action="store_true", help="print the page queries' plans")
    parser.add_argument(
        "--since-events", type=int, default=10_000, help="new events for verify_audit --since"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=PARTS,
        help="run only this part (repeatable; default: all of them)",
    )
    args = parser.parse_args()
    parts = set(args.only or PARTS)

    with fill.scratch_database(args.database_url, prefix="bench_audit") as url:
        fill.setup_django(url)
        from django.db import connection

        say(f"database: {connection.vendor} (scratch: {connection.settings_dict['NAME']})")
        alice, bob, acme = fill.cast()
        if "appends" in parts:
            bench_appends(alice, acme, args.writes)
        # Verification at a tenth of the size first: its memory must not grow with the chain.
        smaller = args.events // 10
        if smaller >= 10_000 and "verify" in parts:
            bulk_fill(alice, bob, acme, smaller)
            fill.analyze()
            bench_verify(url, smaller)
        bulk_fill(alice, bob, acme, args.events)
        fill.analyze()
        if "verify" in parts:
            bench_verify(url, args.events)
        ok = True
        if "pages" in parts:
            ok = bench_pages(
                alice,
                bob,
                acme,
                runs=args.repeats,
                baseline_runs=args.baseline_runs,
                explain=args.explain,
            )
        if "since" in parts:
            bench_verify_since(url, alice, bob, acme, args.since_events)
        connection.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
