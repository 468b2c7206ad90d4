"""Limits on gateway calls: one deadline for the whole of a call, and a cap on calls per gateway.

A socket timeout bounds each wait for bytes, not the call: a gateway that sends one header line
or one body byte just inside the timeout holds the call - and the worker thread serving it - for
as long as it likes. So every call gets one :class:`Deadline`. When it passes, the process's
deadline watchdog (one thread for all calls) shuts down the socket the call is using, and
whatever the call is blocked on (connecting, TLS, headers, body) returns at once; the client
then reports a timeout, never the truncated answer.

Shutting down a pooled connection's socket is only safe while that connection serves the call
that owns the deadline: the moment the pool takes the connection back, another call may use it.
So each connection carries a :class:`SocketGuard` that the call claims and the pool releases,
and a deadline can only shut down a socket its own call still holds.

A gateway that is slow for everyone must not take every thread of the process either:
:func:`call_slot` lets at most ``PORTAL_GATEWAY_MAX_CONCURRENT`` calls wait on one gateway (host
and port) per process, and refuses the next one at once.

This module knows sockets and threads, not HTTP; ``connections`` wires it into urllib3.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

logger = logging.getLogger(__name__)

_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "gateway_call_deadline", default=None
)


def current_deadline() -> Deadline | None:
    """The deadline of the gateway call this thread is making, if any."""
    return _current.get()


class Deadline:
    """One gateway call's deadline: ``with Deadline(seconds):`` around the call.

    Connections the call uses register their guard (:meth:`watch`); when the time is up, each is
    shut down (if the call still holds it) and :attr:`expired` becomes true for good - unless the
    call said it had its whole answer first (:meth:`finish`).
    """

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._guards: list[SocketGuard] = []
        self._expired = False
        self._finished = False
        # The call has left its ``with`` block: its time can no longer run out.
        self.over = False
        self._token: contextvars.Token | None = None

    @property
    def expired(self) -> bool:
        with self._lock:
            return self._expired

    def finish(self) -> bool:
        """The call has read its whole answer: True if that happened before the deadline (the
        answer is whole and nothing will be shut down any more), False if the deadline came
        first (the answer may have been cut short)."""
        with self._lock:
            if not self._expired:
                self._finished = True
            return self._finished

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def __enter__(self) -> Deadline:
        self._token = _current.set(self)
        _watchdog.add(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        with self._lock:
            self.over = True
            guards, self._guards = self._guards, []
        if self._token is not None:
            _current.reset(self._token)
        for guard in guards:
            guard.release(self)

    def watch(self, guard: SocketGuard) -> None:
        """``guard``'s connection now serves this call; shut it down at once if time is up."""
        with self._lock:
            self._guards.append(guard)
            expired = self._expired
        if expired:
            guard.shut_down_for(self)

    def _expire(self) -> None:
        with self._lock:
            if self._finished or self.over:
                return
            self._expired = True
            guards = list(self._guards)
        for guard in guards:
            guard.shut_down_for(self)


class _Watchdog:
    """The one thread of a process that expires gateway calls' deadlines when their time comes.

    A ``threading.Timer`` per call started and ended a thread for every call: 0.2 ms of CPU,
    more than a third of the client's. Deadlines wait here in a heap by time; the thread sleeps
    until the first that is not over, and drops the calls that ended meanwhile without waking
    up for each of them.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Condition(threading.Lock())
        self._queue: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()  # equal times keep their order; deadlines never compare
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._wakeup:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="gateway-call-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._queue, (deadline.at, next(self._order), deadline))
            if self._queue[0][2] is deadline:
                self._wakeup.notify()  # sooner than what the thread is sleeping for

    def _run(self) -> None:
        while True:
            due = self._next_due()
            try:
                due._expire()
            except Exception:
                # Every later call's deadline depends on this thread: it must outlive one failure.
                logger.exception("expiring a gateway call's deadline failed")

    def _next_due(self) -> Deadline:
        with self._wakeup:
            while True:
                while self._queue and self._queue[0][2].over:
                    heapq.heappop(self._queue)
                if not self._queue:
                    self._wakeup.wait()
                    continue
                at, _, deadline = self._queue[0]
                left = at - time.monotonic()
                if left <= 0:
                    heapq.heappop(self._queue)
                    return deadline
                self._wakeup.wait(left)


_watchdog = _Watchdog()


def _new_watchdog_after_fork() -> None:
    # A forked worker has no watchdog thread (only the thread that forked survives a fork),
    # and must not wait on a lock the parent's watchdog might have held.
    global _watchdog
    _watchdog = _Watchdog()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_watchdog_after_fork)


class SocketGuard:
    """A connection's handle for deadlines: a duplicate of its socket (so it still works while
    the socket is being wrapped for TLS) that a deadline may shut down while - and only while -
    the connection serves that deadline's call. Shutting down any descriptor of a socket ends
    the connection for every descriptor, and wakes a thread blocked reading from it."""

    def __init__(self, sock: socket.socket) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = sock.dup()
        self._owner: Deadline | None = None
        self._closing = False

    def claim(self, deadline: Deadline) -> None:
        with self._lock:
            if self._owner is deadline:
                return
            self._owner = deadline
        deadline.watch(self)

    def release(self, deadline: Deadline | None = None) -> None:
        """The call is over (``deadline``) or the pool took the connection back (None)."""
        with self._lock:
            if deadline is None or self._owner is deadline:
                self._owner = None
            sock = self._take_if_closing()
        if sock is not None:
            sock.close()

    def shut_down_for(self, deadline: Deadline) -> None:
        with self._lock:
            if self._owner is not deadline or self._sock is None:
                return
            with contextlib.suppress(OSError):  # already closed by the other end: fine
                self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """The connection is done with its socket. A connection closes itself while its call
        still reads the answer (http.client hands a close-delimited answer's socket over to the
        response): then the guard stays until the call releases it."""
        with self._lock:
            self._closing = True
            sock = self._take_if_closing()
        if sock is not None:
            sock.close()

    def _take_if_closing(self) -> socket.socket | None:
        if not self._closing or self._owner is not None:
            return None
        sock, self._sock = self._sock, None
        return sock


# --- Calls in flight per gateway --------------------------------------------------------------


class GatewayBusy(Exception):
    """The gateway already has as many calls in flight from this process as allowed."""


_inflight_lock = threading.Lock()
_inflight: dict[str, int] = {}


def _reset_after_fork() -> None:
    # A forked worker inherits no calls in flight (and no lock held by another thread).
    global _inflight_lock, _inflight
    _inflight_lock = threading.Lock()
    _inflight = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


@contextlib.contextmanager
def call_slot(key: str, limit: int) -> Iterator[None]:
    """Hold one of ``limit`` slots for gateway ``key`` for the duration of a call, or raise
    :class:`GatewayBusy` at once when all are taken. ``limit`` 0 means no limit."""
    with _inflight_lock:
        taken = _inflight.get(key, 0)
        if limit > 0 and taken >= limit:
            raise GatewayBusy(key)
        _inflight[key] = taken + 1
    try:
        yield
    finally:
        with _inflight_lock:
            left = _inflight.get(key, 1) - 1
            if left > 0:
                _inflight[key] = left
            else:
                _inflight.pop(key, None)
