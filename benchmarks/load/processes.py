"""The processes of a run: PostgreSQL, the stub gateway and gunicorn, and their CPU time."""

from __future__ import annotations

import contextlib
import os
import re
import runpy
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from benchmarks.load import (
    GUNICORN,
    HANG_SECONDS,
    PG_SCRIPT,
    PY,
    ROOT,
    TRICKLE_SECONDS,
    TRICKLE_STEPS,
)

TICK = os.sysconf("SC_CLK_TCK")


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
                "-m",
                "benchmarks.load.stub_gateway",
                "--delay-ms",
                str(delay_ms),
                "--hang-seconds",
                str(HANG_SECONDS),
                "--trickle-seconds",
                str(TRICKLE_SECONDS),
                "--trickle-steps",
                str(TRICKLE_STEPS),
            ],
            cwd=ROOT,
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

    def set_mode(self, mode: str, **options) -> None:
        """Switch the stub's fault mode; ``options``: ``share`` (of trickled requests)."""
        self.control.post(f"{self.base}/_stub/mode", json={"mode": mode, **options}, timeout=5)

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
    """gunicorn with the project's gunicorn.conf.py, configured through the environment;
    ``name`` names its log file (``<name>.log`` in the work directory)."""

    def __init__(self, *, env: dict, args, workdir: Path, name: str = "gunicorn") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        genv = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}")
        # What gunicorn.conf.py will use when not told.
        self.threads = args.threads or runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"]
        if args.worker_class:
            genv["GUNICORN_WORKER_CLASS"] = args.worker_class
        if args.workers:
            genv["GUNICORN_WORKERS"] = str(args.workers)
        elif args.nodes > 1:
            # Several nodes share this machine's cores: one worker per core in all, not per node.
            genv["GUNICORN_WORKERS"] = str(max(1, (os.cpu_count() or 1) // args.nodes))
        if args.threads:
            genv["GUNICORN_THREADS"] = str(args.threads)
        config = "gunicorn.conf.py"
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            genv["PORTAL_PROFILE_DIR"] = str(args.profile.resolve())
            config = str(Path(__file__).with_name("gunicorn_profile.conf.py"))
        self.log_path = workdir / f"{name}.log"
        self.terminated = False
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

    def terminate(self) -> None:
        """Ask gunicorn to finish its requests and stop (once: SIGTERM is a graceful stop)."""
        if self.proc.poll() is None and not self.terminated:
            self.proc.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self) -> None:
        self.terminate()
        try:
            self.proc.wait(40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Nodes:
    """The portal on ``args.nodes`` gunicorn instances (ports of their own, one database), as
    app servers behind a load balancer. One node logs to ``gunicorn.log``, several to
    ``<name><n>.log``."""

    def __init__(self, *, env: dict, args, workdir: Path, name: str = "node") -> None:
        self.portals = [
            Portal(
                env=env,
                args=args,
                workdir=workdir,
                name="gunicorn" if args.nodes == 1 else f"{name}{n}",
            )
            for n in range(args.nodes)
        ]

    @property
    def bases(self) -> list[str]:
        return [portal.base for portal in self.portals]

    @property
    def log_paths(self) -> list[Path]:
        return [portal.log_path for portal in self.portals]

    def wait_ready(self) -> None:
        for portal in self.portals:
            portal.wait_ready()

    def describe(self) -> str:
        each = self.portals[0].describe()
        return each if len(self.portals) == 1 else f"{len(self.portals)} nodes, each {each}"

    def cpu(self) -> float:
        return sum(portal.cpu() for portal in self.portals)

    def stop(self) -> None:
        for portal in self.portals:  # all at once: the nodes drain side by side
            portal.terminate()
        for portal in self.portals:
            portal.stop()
