"""Argon2id at parameters sized for the portal's machines, a bounded number of hashes at once.

Django's defaults (m=100 MiB, t=2, p=8) cost 100 MiB per login being checked; sixteen parallel
failed logins took two workers past 1.3 GB. The portal uses the first configuration of OWASP's
Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1 (about the same CPU per hash on one
core, a fifth of the memory; p=1 so one login never occupies both cores of a 2-core machine).
RFC 9106's smaller recommended option (64 MiB, t=3, p=4) would cost 3.4 times the memory per
login. Hashes made with other parameters are re-made at the next successful login (Django's
``must_update``).

Each process runs at most ``PORTAL_PASSWORD_HASH_CONCURRENCY`` Argon2 computations at once, on
that many threads of its own; further logins wait their turn instead of each taking its own
19 MiB, so memory stays bounded however many logins arrive together.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _hashing_threads() -> ThreadPoolExecutor:
    global _pool, _pool_size
    size = max(1, int(getattr(settings, "PORTAL_PASSWORD_HASH_CONCURRENCY", 1)))
    with _lock:
        if _pool is None or _pool_size != size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="argon2")
            _pool_size = size
        return _pool


def _bounded(function, *args):
    """Run one Argon2 computation on the process's few hashing threads and wait for it.

    A semaphore alone bounds how many run at once, but not the memory: glibc gives each request
    thread its own malloc arena, and a freed 19 MiB block stays in that arena, so eight gunicorn
    threads that each hashed once keep 8 x 19 MiB. Hashing on the same few threads keeps it at
    ``PORTAL_PASSWORD_HASH_CONCURRENCY`` x 19 MiB per process (measured:
    benchmarks/login_memory.py).
    """
    return _hashing_threads().submit(function, *args).result()


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, m=19 MiB, t=2, p=1 (OWASP), bounded concurrency per process."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password, salt):
        return _bounded(super().encode, password, salt)

    def verify(self, password, encoded):
        return _bounded(super().verify, password, encoded)
