"""The slow-gateway benchmark (``benchmarks/slow_gateway.py``): its parts, and one tiny run.

The run is a smoke test, not a timed test: it checks that the benchmark starts everything,
measures, reports and cleans up - not that the probes came in under 1 s on this machine.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import slow_gateway
from benchmarks.load import ROOT
from portal.gateway.errors import user_message

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")


def _page(message: str) -> str:
    # As the generate page shows it: autoescaped, among the form's HTML.
    escaped = message.replace("'", "&#x27;")
    return f'<form><ul class="errorlist nonfield"><li>{escaped}</li></ul></form>'


def test_generate_answers_are_told_apart_by_the_failure_message_they_show():
    kinds = slow_gateway.page_kinds()

    def kind(status, location="", text=""):
        return slow_gateway.classify(status, location, text, kinds)

    assert kind(200, text=_page(user_message("busy"))) == "busy"
    assert kind(200, text=_page(user_message("timeout"))) == "timeout"
    assert kind(200, text=_page(user_message("rate_limited", retry_after=5))) == "rate_limited"
    assert kind(200, text=_page(user_message("invalid_client"))) == "invalid_client"
    assert kind(200, text="<form>This field is required.</form>") == "form_error"
    assert kind(302, "/tokens/3f1e2d4c-0000-4000-8000-000000000001/result/") == "issued"
    assert kind(302, "/accounts/login/?next=/tokens/generate/") == "redirect"
    assert kind(503) == "http_503"
    assert kind(None) == "no_answer"


def test_calls_in_flight_are_the_established_connections_to_the_gateway_port(tmp_path):
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
    header += "timeout inode\n"

    def row(local, remote, state, inode):
        return f"   0: {local} {remote} {state} 0:0 00:0 0 0 0 {inode} 1 x 20 4 30 10 -1\n"

    table = tmp_path / "tcp"
    table.write_text(
        header
        + row("0100007F:A001", "0100007F:1F90", "01", "101")  # a call in flight to port 8080
        + row("0100007F:A002", "0100007F:1F90", "01", "102")  # another
        + row("0100007F:A003", "0100007F:1F90", "05", "103")  # shut down by its deadline
        + row("0100007F:1F90", "0100007F:A001", "01", "104")  # the gateway's end of the first
        + row("0100007F:A004", "0100007F:1F91", "01", "105")  # another port
    )

    assert slow_gateway.connections_to(8080, str(table)) == 2


def test_the_budget_bounds_the_requests_of_a_round():
    budget = slow_gateway.Budget(3)

    assert [budget.take() for _ in range(5)] == [True, True, True, False, False]


@pytest.mark.skipif(
    not Path(PGBIN, "pg_ctl").exists(), reason="needs PostgreSQL 15 for pg-throwaway.sh"
)
def test_a_tiny_run_measures_reports_and_cleans_up(tmp_path):
    figures = tmp_path / "figures.json"
    env = {k: v for k, v in os.environ.items() if k != "PORTAL_GATEWAY_MAX_CONCURRENT"}

    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.slow_gateway", "--users", "2", "--seconds", "0.5"]
        + ["--rounds", "hang", "--baseline-seconds", "0", "--json", str(figures)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert out.returncode in (0, 1), out.stdout + out.stderr  # 2: it could not run
    data = json.loads(figures.read_text())
    (only,) = data["rounds"]
    # Each user's one request hangs on the stub until the portal's deadline ends it.
    assert only["generate_kinds"]["timeout"]["n"] == 2
    assert only["recorded"] == {"failed/timeout": 2}
    assert only["stub_calls"] == 2
    assert {row["url"] for row in only["probes"]} == set(slow_gateway.PROBE_ORDER)
    assert re.search(r"^RESULT: (PASS|FAIL)", out.stdout, flags=re.M)
    workdir = re.search(r"work directory (\S+);", out.stdout).group(1)
    assert not Path(workdir).exists()
