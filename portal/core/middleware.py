"""Cross-cutting request plumbing: the request context (address, user agent, request id) for
logs and the audit trail, session lifetimes, no-store caching of private pages."""

import functools
import ipaddress
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

    A well-formed ``X-Request-ID`` is kept only when a trusted proxy sent it (anyone else could
    plant ids to muddle the logs and the audit trail); otherwise one is made.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        if _SAFE_REQUEST_ID.match(incoming) and _peer_is_trusted(request):
            request_id = incoming
        else:
            request_id = uuid.uuid4().hex
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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def trusted_networks() -> tuple[Network, ...]:
    """PORTAL_TRUSTED_PROXIES as networks (raises ValueError for a malformed entry; a system
    check reports it at start-up)."""
    return _networks(tuple(settings.PORTAL_TRUSTED_PROXIES))


def parse_address(text: str) -> Address | None:
    """An address from a header entry or REMOTE_ADDR (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``,
    ``::ffff:1.2.3.4``), or None when it is not one."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address) -> bool:
    return any(address in network for network in trusted_networks())


def _peer_is_trusted(request) -> bool:
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _is_trusted(peer)


def client_ip(request) -> str:
    """The client's address, for the login lockout, the audit trail and the logs.

    X-Forwarded-For counts only when the connection comes from a proxy in
    PORTAL_TRUSTED_PROXIES. Each proxy appends the address it saw, so the header is read from
    the right: trusted proxies are skipped, and the first address that is not one of them is
    the client (whatever stands further left came from the client and can be forged). An entry
    that is not an address ends the walk at the last good one.
    """
    cached = getattr(request, "_portal_client_ip", None)
    if cached is not None:
        return cached
    remote = request.META.get("REMOTE_ADDR", "")
    peer = parse_address(remote)
    if peer is None:
        result = remote[:45]
    else:
        client = peer
        if _is_trusted(peer):
            forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
            for entry in reversed([e for e in forwarded.split(",") if e.strip()]):
                address = parse_address(entry)
                if address is None:
                    break
                client = address
                if not _is_trusted(address):
                    break
        result = str(client)
    request._portal_client_ip = result
    return result


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
