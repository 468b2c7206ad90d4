"""urllib3 connections and pools that let a gateway call's deadline shut their socket down.

``limits.Deadline`` bounds a whole call by shutting down the socket the call is using. These
classes give it that socket: a new connection guards its socket as soon as it exists (before TLS
wraps it) and connects within what is left of the deadline; each request on a pooled connection
claims the guard for its own call; and the pool takes the connection back from its call before
any other call can get it, so a late deadline never cuts off someone else's request.
"""

from __future__ import annotations

import urllib3.connection
import urllib3.connectionpool

from portal.gateway import limits


class DeadlineAware:
    """A urllib3 connection that lets the deadline of the call using it shut its socket down
    (``limits``): new sockets are guarded and connect within what is left of the deadline, and
    each request on a pooled connection claims the guard for its own call."""

    _deadline_guard: limits.SocketGuard | None = None

    def _new_conn(self):
        deadline = limits.current_deadline()
        if deadline is not None:
            left = max(deadline.remaining(), 0.001)
            self.timeout = left if self.timeout is None else min(self.timeout, left)
        sock = super()._new_conn()
        self._set_guard(limits.SocketGuard(sock))
        if deadline is not None:
            self._deadline_guard.claim(deadline)
        return sock

    def request(self, *args, **kwargs):
        deadline = limits.current_deadline()
        if deadline is not None and self._deadline_guard is not None:
            self._deadline_guard.claim(deadline)
        return super().request(*args, **kwargs)

    def close(self):
        self._set_guard(None)
        super().close()

    def _set_guard(self, guard: limits.SocketGuard | None) -> None:
        if self._deadline_guard is not None:
            self._deadline_guard.close()
        self._deadline_guard = guard


class HTTPConnection(DeadlineAware, urllib3.connection.HTTPConnection):
    pass


class HTTPSConnection(DeadlineAware, urllib3.connection.HTTPSConnection):
    pass


class ReleasingPool:
    """A pool that takes a connection back from its call before anyone else can get it."""

    def _put_conn(self, conn):
        guard = getattr(conn, "_deadline_guard", None)
        if guard is not None:
            guard.release()
        super()._put_conn(conn)


class HTTPConnectionPool(ReleasingPool, urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = HTTPConnection


class HTTPSConnectionPool(ReleasingPool, urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = HTTPSConnection


POOL_CLASSES = {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}
