"""The PostgreSQL suite runs as the portal's runtime role, as production does.

With ``DATABASE_OWNER_URL`` set (CI sets it), the owner creates, migrates (``migrate`` grants the
runtime role its rights) and finally drops the test database, and empties it between
transactional tests on a connection of its own; the tests themselves, the live server and every
thread connect as the ``DATABASE_URL`` role, which cannot TRUNCATE, so Django's flush could not
run as it. Without ``DATABASE_OWNER_URL`` nothing changes. Imported by tests/conftest.py.
"""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from portal.core import dbroles

_runtime: dict = {}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    if dbroles.owner_configured():
        _runtime.update(dbroles.switch_credentials(DEFAULT_DB_ALIAS, dbroles.owner_credentials()))


def _flush_as_owner(ops, sql_list) -> None:
    with dbroles.owner_cursor(ops.connection.alias) as cursor:
        # An idle-in-transaction connection would otherwise make TRUNCATE wait forever.
        cursor.execute("SET LOCAL lock_timeout = '20s'")
        for sql in sql_list:
            cursor.execute(sql)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    if not dbroles.owner_configured():
        yield
        return
    # On the class: a test may see another DatabaseWrapper instance (connections are per thread
    # and per async context; the browser tests' Playwright runs in one of its own).
    operations = type(connections[DEFAULT_DB_ALIAS].ops)
    original = operations.execute_sql_flush
    operations.execute_sql_flush = _flush_as_owner
    dbroles.switch_credentials(DEFAULT_DB_ALIAS, _runtime)
    yield
    dbroles.switch_credentials(DEFAULT_DB_ALIAS, dbroles.owner_credentials())
    operations.execute_sql_flush = original
