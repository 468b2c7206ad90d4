"""Helpers for the audit tests: appending events and tampering with rows behind record()'s back."""

import contextlib

import pytest
from django.db import connection

from portal.audit import services as audit
from portal.audit.models import Action, AuditEvent

TABLE = AuditEvent._meta.db_table
TRIGGER = "audit_event_append_only"


@pytest.fixture
def append():
    """``append(n, **record_kwargs)`` - record n events, return them."""

    def _append(n: int = 1, **kwargs):
        kwargs.setdefault("action", Action.PROFILE_UPDATED)
        return [audit.record(**{"details": {"i": i}, **kwargs}) for i in range(n)]

    return _append


@contextlib.contextmanager
def trigger_disabled():
    """On PostgreSQL the append-only trigger must be switched off to tamper at all."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")


@pytest.fixture
def raw_sql():
    """``raw_sql(sql, params)`` - run SQL against the audit table, trigger or not."""

    def _run(sql: str, params=()):
        with trigger_disabled(), connection.cursor() as cursor:
            cursor.execute(sql.format(table=TABLE), params)

    return _run


def json_param() -> str:
    """The placeholder for a JSON value in raw SQL on this database."""
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
