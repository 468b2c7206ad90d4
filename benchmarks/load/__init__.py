"""Load and consistency test: the portal under gunicorn on PostgreSQL, many users generating,
renewing and revoking tokens against a stub gateway; afterwards, proof that nothing was lost.

    .venv/bin/python -m benchmarks.load [--users 16] [--seconds 60] [--delay-ms 50]
        [--nodes N] [--workers W] [--worker-class sync|gthread] [--threads K]
        [--database-url URL | --pg-throwaway]
        [--faults none|all|503,hang,html,dbrestart,trickle]
        [--small] [--json FILE] [--keep]

What it does, all on 127.0.0.1 and bounded in time (it stops by itself):

1. A fresh PostgreSQL database: a throwaway cluster (``scripts/pg-throwaway.sh``, the default)
   or a new database ``load_<pid>`` on the server ``--database-url`` names (dropped afterwards).
   Migrated; ``collectstatic`` (production static storage, into the work directory:
   ``settings.py`` here); N users, one team (the first user owns it, the others are issuers)
   and one credential on a gateway pointing at the stub (``cast.py``).
2. The stub gateway (``stub_gateway.py``, its own process): WSO2's /token and /revoke with an
   adjustable delay, remembering every token it issued and revoked.
3. The portal under gunicorn (``gunicorn -c gunicorn.conf.py portal.wsgi``, ``processes.py``)
   with production settings (``DEBUG=False``, secure cookies, HSTS) except
   ``PORTAL_SSL_REDIRECT=False`` (plain HTTP on loopback), ``PORTAL_ALLOW_HTTP_GATEWAYS=True``
   (the stub), ``PORTAL_TOKEN_TIMEOUT=3`` (so the hang fault ends quickly; see below) and
   **rate limits off** (``PORTAL_RATE_LIMIT_PER_USER=0``, ``PORTAL_RATE_LIMIT_PER_TEAM=0``:
   the point is to load the portal, not to test the limiter).
4. N simulated users (``users.py``; threads, one ``requests`` session each): GET the login
   page, POST it with its CSRF token, then for T seconds: generate (POST with CSRF and a fresh
   idempotency key; 90 % password grant, 10 % client credentials) → the result page (the token
   is read from it) → sometimes renew (30 %, with its own idempotency key) → sometimes revoke
   (50 %). 5 % of the generate POSTs are double submits: the same form sent twice at once.
5. Faults (``faults.py``), one after another with quiet periods between them: the stub answers
   503 + Retry-After, hangs past the portal's read timeout, answers 200 with an HTML page;
   PostgreSQL is restarted once (``pg-throwaway.sh restart``: fast shutdown, start); last, the
   stub trickles a quarter of its answers (``stub_faults.py``): a header line, or a byte of
   the body, every 2 s for 8 s, so that no read times out although the whole answer outlasts
   the client's connect + read timeout.
6. With ``--nodes N`` the portal runs as N gunicorn instances on ports of their own and the one
   database (``processes.Nodes``), each user's requests going to each node in turn (a load
   balancer without sticky sessions; the halves of a double submit go to different nodes).
   After the run the nodes are restarted with low rate limits and lockout threshold, and
   scripted requests alternating between them probe whether those hold across nodes
   (``scaleout.py``).

Afterwards gunicorn is stopped and ``invariants.py`` checks, one function each, printing
PASS/FAIL: nothing left pending, no lost token, issued = recorded = audited, every revoke
recorded, every token shown is the one recorded, ``verify_audit`` passes, no 5xx, every failure
recorded with its reason, every trickled request a recorded failure (with how long it took);
with several nodes also that their audit events interleave in one chain and that a lockout
and the rate limits hold across them — each is described where it is defined.

Figures (``report.py``): issuances/s, audit appends/s, median/p95/p99 latency of the generate POST and its
overhead over the stub's delay, and the CPU time of the portal (gunicorn master + workers, from
``/proc/<pid>/stat`` utime+stime, reaped workers included) per issuance, with the same for
PostgreSQL, the stub and the load generator. Exit status 1 when an invariant fails, 2 when the
harness could not run.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
PG_SCRIPT = str(ROOT / "scripts" / "pg-throwaway.sh")
USER_PASSWORD = "load test password 12345 xyz"
# The portal's read timeout for the run: short, so the hang fault ends quickly, and above the
# trickle's pause, so that each of a trickling gateway's reads succeeds.
TOKEN_TIMEOUT = 3.0
TOKEN_CONNECT_TIMEOUT = 1.0
HANG_SECONDS = 4.5
# A trickling gateway sends a piece of its answer every TRICKLE_SECONDS, TRICKLE_STEPS times:
# 8 s in all, twice the portal's connect + read timeout.
TRICKLE_SECONDS = 2.0
TRICKLE_STEPS = 4
# How long a simulated user waits for any answer of the portal.
CLIENT_TIMEOUT = 30
