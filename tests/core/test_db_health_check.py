"""The health check of a kept PostgreSQL connection (``portal/core/postgresql``): a connection the
server dropped is replaced before a request's first query, and a healthy one is kept without a
round trip of its own."""

from unittest import mock

import psycopg
import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the check is PostgreSQL's"),
]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def next_request() -> None:
    """What Django does between requests (``close_old_connections``): the next cursor checks."""
    connection.close_if_unusable_or_obsolete()


def terminate(pid: int) -> None:
    """End the server process behind ``pid``'s connection, as a restart would, and wait until it
    has exited (the signal is sent at once; the process says goodbye and exits a moment later)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


def test_a_connection_the_server_dropped_is_replaced_before_the_first_query():
    pid = backend_pid()
    terminate(pid)
    next_request()
    with connection.cursor() as cursor:  # would raise "server closed the connection" unchecked
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1
    assert backend_pid() != pid


def test_a_healthy_connection_is_kept_without_a_round_trip_of_its_own():
    pid = backend_pid()
    next_request()
    raw = connection.connection
    # Django's own check sends "SELECT 1" through a cursor of the driver's connection first.
    with mock.patch.object(raw, "cursor", side_effect=AssertionError("a round trip")) as cursor:
        connection.close_if_health_check_failed()
    cursor.assert_not_called()
    assert connection.health_check_done
    assert backend_pid() == pid


def test_a_connection_left_inside_a_failed_transaction_is_replaced():
    pid = backend_pid()
    connection.connection.execute("BEGIN")
    with pytest.raises(psycopg.errors.DivisionByZero):
        connection.connection.execute("SELECT 1/0")
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert backend_pid() != pid
