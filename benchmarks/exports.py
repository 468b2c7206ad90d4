"""Export benchmark: the token history CSV and the audit trail's CSV and JSON Lines, each whole
request streamed through Django's test client in a process of its own, at a tenth of --rows and
at --rows rows.

    .venv/bin/python benchmarks/exports.py [--rows 1000000] [--database-url URL]

Prints for each export rows/s, the CPU time of the exporting process and of the database server
(a local PostgreSQL), and the exporting process's peak RSS - the same at both sizes when memory
stays flat. Goal: >= 50,000 rows/s on PostgreSQL for each export.

Runs against a scratch database it creates and removes itself (``fill.scratch_database``).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import fill  # noqa: E402

EXPORTS = {
    # name: (URL name, URL arguments)
    "history CSV": ("tokens:history_export", []),
    "audit CSV": ("audit:export", ["csv"]),
    "audit JSON Lines": ("audit:export", ["jsonl"]),
}
GOAL_ROWS_PER_SECOND = 50_000


def say(text: str = "") -> None:
    print(text, flush=True)


def stream(url: str, name: str) -> None:
    """In the measured process: stream one export as alice, print rows and seconds as JSON."""
    fill.setup_django(url, migrate=False)
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from portal.teams.models import Team

    alice = get_user_model().objects.get(username="alice")
    acme = Team.objects.get(name="Acme")
    client = fill.logged_in(alice)
    route, args = EXPORTS[name]
    started = time.perf_counter()
    response = client.get(reverse(route, args=args), {"team": str(acme.pk)})
    assert response.status_code == 200, response.status_code
    lines = sum(block.count(b"\n") for block in response.streaming_content)
    seconds = time.perf_counter() - started
    rows = lines - 1 if name.endswith("CSV") else lines  # less the header line
    print(json.dumps({"rows": rows, "seconds": seconds}))


def measure(url: str, size: int) -> bool:
    from django.db import connection

    env = dict(os.environ, **fill.BENCH_ENV, DATABASE_URL=url)
    ok = True
    for name in EXPORTS:
        server_before = fill.database_server_cpu()
        connection.close()  # its backend's CPU time is counted once it ends
        command = [sys.executable, str(Path(__file__).resolve()), "--stream", name, "--url", url]
        wall, cpu, peak, code, output = fill.run_measured(command, env)
        server_after = fill.database_server_cpu()
        if code != 0:
            say(f"  {name}: FAILED (exit {code}): {output.strip()[-400:]}")
            ok = False
            continue
        result = json.loads(output.strip().splitlines()[-1])
        rate = result["rows"] / result["seconds"]
        server = (
            f" + database server {server_after - server_before:.1f} s"
            if server_before is not None and server_after is not None
            else ""
        )
        verdict = "ok" if rate >= GOAL_ROWS_PER_SECOND else "UNDER the goal"
        ok &= rate >= GOAL_ROWS_PER_SECOND
        say(
            f"  {name:<17} {result['rows']:>9,} rows in {result['seconds']:6.2f} s = "
            f"{rate:>7,.0f} rows/s ({verdict}); process CPU {cpu:.1f} s{server}; "
            f"peak RSS {peak / 1024:.0f} MiB; load average {os.getloadavg()[0]:.1f}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--stream", choices=list(EXPORTS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream:
        stream(args.url, args.stream)
        return 0

    ok = True
    with fill.scratch_database(args.database_url, prefix="bench_exports") as url:
        fill.setup_django(url)
        from django.db import connection

        say(f"Export benchmark on {connection.vendor}, {os.cpu_count()} CPUs")
        alice, bob, acme = fill.cast()
        credential = fill.credential_create(team=acme, actor=alice)
        done = 0
        for size in (args.rows // 10, args.rows):
            started = time.perf_counter()
            fill.issuances_fill(
                acme=acme, credential=credential, users=[alice, bob], count=size - done
            )
            fill.audit_events_fill(alice=alice, bob=bob, acme=acme, target_total=size)
            fill.analyze()
            done = size
            say(
                f"{size:,} issuances and audit events (filled in {time.perf_counter() - started:.0f} s):"
            )
            ok &= measure(url, size)
        connection.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
