"""Cross-cutting request plumbing: the request context (address, user agent, request id) for
logs and the audit trail, session lifetimes, no-store caching of private pages."""

import re
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.cache import add_never_cache_headers

from portal.core import context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_USER_AGENT_LIMIT = 255


class RequestContextMiddleware:
    """Binds the request context for the whole request and echoes the request id back.

    A well-formed ``X-Request-ID`` from the proxy is kept, otherwise one is made.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        user_agent = "".join(c for c in request.headers.get("User-Agent", "") if c.isprintable())
        bound = context.RequestContext(
            ip=client_ip(request),
            user_agent=user_agent[:_USER_AGENT_LIMIT],
            request_id=request_id,
        )
        with context.bound(bound):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def client_ip(request) -> str:
    """The client's address; X-Forwarded-For is trusted only behind a configured proxy.

    Proxies append the address they saw to the right of X-Forwarded-For; whatever stands to the
    left came from the client and can be forged. So the address is the one PORTAL_PROXY_COUNT
    entries from the right (1: the one our own proxy added) - never the leftmost, which would let
    anyone pick a fresh address per login attempt and slip past the lockout.
    """
    if settings.PORTAL_BEHIND_PROXY:
        entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        entries = [e for e in entries if e]
        count = max(1, settings.PORTAL_PROXY_COUNT)
        if len(entries) >= count:
            return entries[-count][:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


class SessionLifetimeMiddleware:
    """Ends a session after PORTAL_SESSION_IDLE_TIMEOUT without activity or after
    PORTAL_SESSION_ABSOLUTE_LIFETIME in total, whichever comes first.

    Last activity is written at most once a minute, so a busy page does not write the session
    table on every request.
    """

    STARTED = "_portal_started"
    SEEN = "_portal_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.get(self.STARTED)
            seen = request.session.get(self.SEEN)
            if started is None or seen is None:
                request.session[self.STARTED] = started = now
                request.session[self.SEEN] = seen = now
            idle = now - seen > settings.PORTAL_SESSION_IDLE_TIMEOUT
            too_old = now - started > settings.PORTAL_SESSION_ABSOLUTE_LIFETIME
            if idle or too_old:
                logout(request)
                messages.info(request, "Your session expired. Please log in again.")
            elif now - seen >= 60:
                request.session[self.SEEN] = now
        return self.get_response(request)


class PrivatePagesNoStoreMiddleware:
    """Every page for a logged-in person may show a token, a credential or team data: none of it
    belongs in a browser's or proxy's cache (``Cache-Control: no-store``), unless a view chose
    its own caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
