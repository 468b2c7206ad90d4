"""gunicorn settings for profiling the portal under load (``python -m benchmarks.load --profile DIR``).

The project's ``gunicorn.conf.py`` plus cProfile around every request: each worker thread keeps
its own profiler (cProfile hooks are per thread), enabled in ``pre_request`` and disabled in
``post_request``, timed in thread CPU time; when a worker exits it writes ``DIR/worker-<pid>.prof`` (pstats format).
The profiler roughly doubles the CPU per request: read the shares, not the absolute times.
"""

import cProfile
import os
import pstats
import threading
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
exec(compile((_ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"))  # noqa: S102

_PROFILE_DIR = Path(os.environ["PORTAL_PROFILE_DIR"])
_local = threading.local()
_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def pre_request(worker, req):
    profile = getattr(_local, "profile", None)
    if profile is None:
        # CPU time of this thread, not wall time: waits on the database and gateway cost no CPU.
        profile = _local.profile = cProfile.Profile(time.thread_time)
        with _lock:
            _profiles.append(profile)
    profile.enable()


def post_request(worker, req, environ, resp):
    profile = getattr(_local, "profile", None)
    if profile is not None:
        profile.disable()


def worker_exit(server, worker):
    with _lock:
        profiles = list(_profiles)
    stats = None
    for profile in profiles:
        profile.disable()
        try:
            if stats is None:
                stats = pstats.Stats(profile)
            else:
                stats.add(profile)
        except TypeError:  # a profiler that never ran has no stats
            continue
    if stats is not None:
        stats.dump_stats(str(_PROFILE_DIR / f"worker-{os.getpid()}.prof"))
