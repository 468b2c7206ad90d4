"""gunicorn.conf.py: workers are forked from a master that holds the portal but no database
connection."""

import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def _conf(monkeypatch, **environ):
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def _server(preload: bool):
    return SimpleNamespace(cfg=SimpleNamespace(preload_app=preload))


def test_workers_are_forked_from_a_master_that_loaded_the_portal(monkeypatch):
    assert _conf(monkeypatch)["preload_app"] is True
    assert _conf(monkeypatch, GUNICORN_PRELOAD="0")["preload_app"] is False


@pytest.mark.django_db(transaction=True)
def test_no_database_connection_of_the_master_reaches_a_worker(monkeypatch):
    conf = _conf(monkeypatch)
    connection.ensure_connection()
    conf["pre_fork"](_server(preload=True), worker=None)
    assert connection.connection is None


def test_the_master_imports_the_urlconf_before_forking(monkeypatch):
    import django.urls

    imported = []

    class Resolver:
        @property
        def url_patterns(self):
            imported.append(True)
            return []

    monkeypatch.setattr(django.urls, "get_resolver", Resolver)
    conf = _conf(monkeypatch)
    conf["when_ready"](_server(preload=False))
    assert imported == []  # without preloading the master holds no Django to warm
    try:
        conf["when_ready"](_server(preload=True))
        assert imported == [True]
        assert gc.get_freeze_count() > 0  # what the master holds, left out of workers' collections
    finally:
        gc.unfreeze()
