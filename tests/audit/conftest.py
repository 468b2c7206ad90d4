"""Helpers for the audit tests: appending events and tampering with rows behind record()'s back."""

import pytest
from django.db import connection

from portal.audit import services as audit
from portal.audit.models import Action, AuditEvent
from portal.core import dbroles

TABLE = AuditEvent._meta.db_table
TRIGGER = "audit_event_append_only"


@pytest.fixture
def append():
    """``append(n, **record_kwargs)`` - record n events, return them."""

    def _append(n: int = 1, **kwargs):
        kwargs.setdefault("action", Action.PROFILE_UPDATED)
        return [audit.record(**{"details": {"i": i}, **kwargs}) for i in range(n)]

    return _append


@pytest.fixture
def raw_sql(transactional_db):
    """``raw_sql(sql, params)`` - tamper with the audit table as its owner can: on PostgreSQL the
    append-only trigger switched off around the statement, on a connection of the owner's own
    (``DATABASE_OWNER_URL`` when set: the portal's role may not). That connection sees committed
    rows only, so the test is transactional."""

    def _run(sql: str, params=()):
        sql = sql.format(table=TABLE)
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            return
        with dbroles.owner_cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
            cursor.execute(sql, params)
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")

    return _run


def json_param() -> str:
    """The placeholder for a JSON value in raw SQL on this database."""
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
