"""Who is asking, for the audit trail and the logs, without passing the HTTP request around.

``RequestContextMiddleware`` sets it once per request; ``audit.record`` and the log filter read
it. Services therefore take ``actor=`` and their own arguments only: the request stops at the
view. Outside a request (management commands, background threads) the context is empty.
A request made with an API key carries the key's id too (``api_key_id``), so every audit event
of that request names the key beside the actor.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RequestContext:
    ip: str = ""
    user_agent: str = ""
    request_id: str = ""
    api_key_id: str = ""


EMPTY = RequestContext()

_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "request_context", default=EMPTY
)


def current() -> RequestContext:
    return _current.get()


def current_request_id() -> str:
    """The request id for log lines; ``-`` outside a request."""
    return _current.get().request_id or "-"


@contextmanager
def bound(context: RequestContext) -> Iterator[RequestContext]:
    """Make ``context`` the current one for the duration of the block (one request, one task)."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def extended(**changes) -> Iterator[RequestContext]:
    """The current context with ``changes`` (e.g. ``api_key_id``) for the duration of the block."""
    with bound(replace(current(), **changes)) as context:
        yield context
