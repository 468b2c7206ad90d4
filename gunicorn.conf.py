"""gunicorn settings for Token Portal: ``gunicorn -c gunicorn.conf.py portal.wsgi``.

Every value can be overridden with the environment variable named beside it.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Token API calls spend most of their time waiting on the gateway, so threads per worker keep the
# CPU busy while requests wait; see the README for how this was measured.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# Longer than the Token API's connect + read timeout, so a slow gateway ends in a clear message
# from the portal rather than a killed worker.
_token_timeout = float(os.environ.get("PORTAL_TOKEN_TIMEOUT", 10)) + float(
    os.environ.get("PORTAL_TOKEN_CONNECT_TIMEOUT", 3.05)
)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", max(30, int(_token_timeout * 2) + 5)))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Workers are forked from a master that has already imported Django, the portal and its URLconf,
# so a worker recycled by max_requests starts at once instead of importing everything again
# (about 0.6 s of CPU per worker, 0.2-0.3 ms per issuance under load). The price: new code needs
# a restart of gunicorn; a HUP forks the code the master already holds.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# No query strings in the access log: nothing secret belongs in a URL, but be safe.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def when_ready(server):
    """In the master, once the preloaded portal is imported: import the URLconf and with it every
    view, which Django would otherwise do in each worker on its first request. Then freeze what
    is there (modules, classes, settings - it lives as long as the process): a worker's full
    garbage collections no longer walk those objects, and leave their pages shared."""
    if server.cfg.preload_app:
        import gc

        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - the import is the point
        gc.collect()
        gc.freeze()


def pre_fork(server, worker):
    """In the master, before each fork: a database connection the master might hold would be
    shared with the child (one socket, two processes talking over each other), so none is."""
    if server.cfg.preload_app:
        from django.db import connections

        connections.close_all()
