"""Django's PostgreSQL backend, with one change: how a kept connection is checked.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection before each request's first query by
sending ``SELECT 1``: a round trip of its own on every request, as much CPU as a short query of
the page itself. A server that ends a connection (a restart, ``pg_terminate_backend``, an idle
timeout) says so on the socket - a closing message, then end of file - and nothing else arrives
on an idle connection of the portal's (it does not LISTEN). So the socket is polled first, which
sends nothing: when nothing arrived and the connection is idle, it is kept; when anything did,
or the connection is not idle, Django's ``SELECT 1`` decides as before.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.pool
            or self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
            or not self._quiet_and_idle()
        ):
            return super().close_if_health_check_failed()
        self.health_check_done = True

    def _quiet_and_idle(self) -> bool:
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        # poll, not select: a descriptor number may exceed select's limit in a busy process.
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN)
        return not poller.poll(0)  # readable, closed or failed: not quiet
