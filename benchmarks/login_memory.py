"""Memory of the portal under a burst of failed logins.

    .venv/bin/python benchmarks/login_memory.py [--logins 32] [--rounds 3] [--workers 2]
        [--hash-concurrency N] [--django-default-argon2] [--keep]

Runs the portal under gunicorn (``gunicorn.conf.py``; 2 workers unless told otherwise, its
default threads) with production settings on a SQLite database in a temporary directory, all
on 127.0.0.1, and stops by itself. Then, ``--rounds`` times, ``--logins`` clients log in at the
same moment with a wrong password (half with names of accounts, half with names of no account),
while the resident memory (VmRSS) of the gunicorn master and its workers is sampled every 10 ms.

Prints the peak of the sum over the portal's processes (the figure to compare with the goal of
300 MB for 2 workers), each process's peak, and the median time of a failed login for a known
and an unknown name measured one at a time (they should be the same: a name of no account
costs one Argon2 hash too).

``--django-default-argon2`` runs Django's own Argon2 parameters (m=100 MiB, t=2, p=8) instead
of the portal's, for comparison. The lockout limit is raised for the run so that every attempt
reaches the password hasher.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GUNICORN = str(Path(PY).with_name("gunicorn"))
PASSWORD = "benchmark-password-not-this-one-7"
KNOWN = [f"member{i}" for i in range(8)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


class Sampler(threading.Thread):
    """Samples the RSS of the master and its workers until stopped."""

    def __init__(self, master: int):
        super().__init__(daemon=True)
        self.master = master
        self.stop = threading.Event()
        self.peak_total = 0
        self.peak_by_pid: dict[int, int] = {}

    def run(self):
        while not self.stop.is_set():
            pids = [self.master, *children(self.master)]
            sizes = {pid: rss_kib(pid) for pid in pids}
            self.peak_total = max(self.peak_total, sum(sizes.values()))
            for pid, size in sizes.items():
                self.peak_by_pid[pid] = max(self.peak_by_pid.get(pid, 0), size)
            time.sleep(0.01)


def failed_login(port: int, username: str, barrier: threading.Barrier | None = None) -> float:
    """GET the login page (CSRF cookie and token), then POST a wrong password. Returns the POST's
    duration in seconds. Cookies are handled by hand: with production settings they are Secure,
    and this runs over plain HTTP on loopback."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/accounts/login/")
    page = conn.getresponse()
    body = page.read().decode()
    cookies = "; ".join(
        c.split(";", 1)[0] for c in page.headers.get_all("Set-Cookie") or [] if "=" in c
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": "wrong-password"}
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": cookies,
        "Referer": f"http://127.0.0.1:{port}/accounts/login/",
    }
    if barrier is not None:
        barrier.wait()
    started = time.perf_counter()
    conn.request("POST", "/accounts/login/", body=form, headers=headers)
    answer = conn.getresponse()
    answer.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if answer.status != 200:
        raise RuntimeError(f"failed login answered {answer.status}, expected 200")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=32, help="concurrent failed logins")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--hash-concurrency", type=int, help="PORTAL_PASSWORD_HASH_CONCURRENCY")
    parser.add_argument("--django-default-argon2", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="portal-login-memory-"))
    settings_module = "benchmarks.load.settings"
    if args.django_default_argon2:
        (work / "bench_settings.py").write_text(
            "from benchmarks.load.settings import *  # noqa: F403\n"
            'PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]\n'
        )
        settings_module = "bench_settings"
    port = free_port()
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PORTAL_", "DJANGO_")) and k != "DATABASE_OWNER_URL"
        },
        "PYTHONPATH": os.pathsep.join([str(work), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PORTAL_ENV_FILE": "",
        "DEBUG": "False",
        "SECRET_KEY": "login-memory-benchmark-" + "s" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "PORTAL_ENCRYPTION_KEYS": "k1:S8Cqgm7mIvO1Zq6kR3OQmCi6y1ih1hCPtq9g06KvjBE=",
        "PORTAL_AUDIT_KEY": "login-memory-benchmark-audit-key-0123456789",
        "DATABASE_URL": f"sqlite:///{work / 'portal.sqlite3'}",
        "PORTAL_SSL_REDIRECT": "False",
        "PORTAL_LOGIN_FAILURE_LIMIT": "1000000",
        "PORTAL_LOAD_STATIC_ROOT": str(work / "static"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_ACCESSLOG": str(work / "access.log"),
        "LOG_LEVEL": "WARNING",
        "BENCH_PASSWORD": PASSWORD,
    }
    if args.hash_concurrency:
        env["PORTAL_PASSWORD_HASH_CONCURRENCY"] = str(args.hash_concurrency)
    manage = [PY, str(ROOT / "manage.py")]
    server = None
    try:
        quiet = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL}
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], **quiet)
        subprocess.run([*manage, "collectstatic", "--no-input", "-v", "0"], **quiet)
        for name in KNOWN:
            subprocess.run(
                [*manage, "create_user", name, "--password-env", "BENCH_PASSWORD"], **quiet
            )
        log = open(work / "gunicorn.log", "w")  # noqa: SIM115  (closed with the process)
        server = subprocess.Popen(
            [GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), "portal.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {work / 'gunicorn.log'}")
            time.sleep(0.2)

        # Warm every worker (imports, templates, a first hash) before measuring.
        for i in range(4 * args.workers):
            failed_login(port, KNOWN[i % len(KNOWN)])
        time.sleep(0.5)
        workers = children(server.pid)
        baseline = sum(rss_kib(p) for p in [server.pid, *workers])

        sampler = Sampler(server.pid)
        sampler.start()
        burst_times = []
        for _ in range(args.rounds):
            barrier = threading.Barrier(args.logins)
            results: list[float] = []

            def one(i: int, barrier=barrier, results=results) -> None:
                name = KNOWN[i % len(KNOWN)] if i % 2 == 0 else f"nobody{i}"
                results.append(failed_login(port, name, barrier))

            threads = [threading.Thread(target=one, args=(i,)) for i in range(args.logins)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            burst_times.append(time.perf_counter() - started)
            if len(results) != args.logins:
                raise RuntimeError("some logins did not complete; see the gunicorn log")
        time.sleep(0.2)
        sampler.stop.set()
        sampler.join()

        known, unknown = [], []
        for i in range(30):  # interleaved, so a busy moment of the machine hits both
            known.append(failed_login(port, KNOWN[i % len(KNOWN)]))
            unknown.append(failed_login(port, f"ghost{i}"))

        hasher = (
            "Django's default Argon2 (m=100 MiB, t=2, p=8)"
            if args.django_default_argon2
            else "portal Argon2id (m=19 MiB, t=2, p=1)"
        )
        limit = args.hash_concurrency or "default"
        print(f"hasher: {hasher}; hash concurrency per worker: {limit}")
        print(
            f"gunicorn: {args.workers} workers (gunicorn.conf.py threads); "
            f"{args.rounds} bursts of {args.logins} concurrent failed logins"
        )
        print(f"RSS before the bursts: {baseline / 1024:.0f} MB (master + workers)")
        print(f"peak RSS, master + workers: {sampler.peak_total / 1024:.0f} MB")
        for pid, peak in sorted(sampler.peak_by_pid.items()):
            role = "master" if pid == server.pid else "worker"
            print(f"  {role} {pid}: peak {peak / 1024:.0f} MB")
        print(f"burst duration: {', '.join(f'{t:.2f} s' for t in burst_times)}")
        print(
            f"failed login, one at a time (median of 30): known name "
            f"{statistics.median(known) * 1000:.1f} ms, unknown name "
            f"{statistics.median(unknown) * 1000:.1f} ms"
        )
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
