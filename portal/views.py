"""Project-level pages: the dashboard and the styled error pages."""

import logging
import sys
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.teams import access
from portal.teams.models import Role
from portal.tokens import selectors as tokens
from portal.vault import access as vault_access
from portal.vault import crypto
from portal.vault import selectors as vault_selectors

logger = logging.getLogger(__name__)


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """My live tokens with countdowns, tokens about to expire (the current team's for its owners,
    else my own) and recent failures (same rule). A handful of indexed queries."""
    membership = access.current_membership(request)
    team_wide = (
        membership is not None and membership.role == Role.OWNER and not membership.team.is_personal
    )
    scope_team = membership.team if team_wide else None
    now = timezone.now()
    my_active = tokens.issuance_active_for_user(user=request.user, now=now)
    return render(
        request,
        "dashboard.html",
        {
            "now": now,
            "team_wide": team_wide,
            "my_active": my_active,
            "expiring": tokens.issuance_expiring_soon(user=request.user, team=scope_team, now=now),
            "failures": tokens.issuance_recent_failures(user=request.user, team=scope_team),
            "steps": _getting_started(request, membership, has_active=bool(my_active)),
        },
    )


def _getting_started(request, membership, *, has_active: bool) -> list[dict]:
    """The first steps, each ticked once done (a few EXISTS queries)."""
    user = request.user
    usable = vault_access.credentials_usable_by(user).exists()
    generated = has_active or tokens.issuance_any_by_user(user=user)
    return [
        {"done": bool(user.api_store_email), "key": "email"},
        {"done": usable, "key": "credential"},
        {"done": generated, "key": "token"},
    ]


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links to; the hashed name is known only
    at request time (after collectstatic), so redirect then."""
    return redirect(static("img/favicon.svg"), permanent=True)


def _error(request, template: str, status: int, message: str = "") -> HttpResponse:
    # Rendered without the request context processors' database work where possible: a 500 page
    # must render even when the database is the problem.
    body = loader.render_to_string(template, {"message": message, "status": status})
    return HttpResponse(body, status=status)


def bad_request(request, exception=None):
    return _error(request, "errors/400.html", 400)


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else ""
    return _error(request, "errors/403.html", 403, message)


def page_not_found(request, exception=None):
    return _error(request, "errors/404.html", 404)


def server_error(request):
    # Django calls this inside its exception handler, so the exception is still current. A
    # database that is down or restarting is not a bug: say "try again shortly" with a 503.
    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError):
        response = _error(request, "errors/503.html", 503)
        response["Retry-After"] = "30"
        return response
    return _error(request, "errors/500.html", 500)


def csrf_failure(request, reason=""):
    return _error(request, "errors/403_csrf.html", 403)


def _keys_loaded() -> bool:
    """The keyring parses and the audit key is set (values are never part of the answer)."""
    if not settings.PORTAL_AUDIT_KEY:
        return False
    try:
        crypto.keyring()
    except Exception:  # any keyring problem means "not healthy", whatever its type
        return False
    return True


# /healthz is polled every few seconds by every load balancer; counting unopenable values scans
# the encrypted columns, so the answer is reused for a while.
UNOPENABLE_CACHE_SECONDS = 60
_unopenable_cache: dict[str, tuple[float, int]] = {}


def _unopenable_total() -> int:
    """Stored values no configured key can open (cached per keyring for a minute)."""
    ring = settings.PORTAL_ENCRYPTION_KEYS
    now = time.monotonic()
    cached = _unopenable_cache.get(ring)
    if cached is None or now - cached[0] > UNOPENABLE_CACHE_SECONDS:
        cached = (now, sum(vault_selectors.unopenable_value_counts().values()))
        _unopenable_cache.clear()
        _unopenable_cache[ring] = cached
    return cached[1]


def forget_health_cache() -> None:
    _unopenable_cache.clear()


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers and the keys are loaded, else 503.

    Stored values that no configured key can open make the state ``degraded`` (still 200: every
    server shares the problem, so taking them out of rotation would help nobody).
    """
    checks: dict[str, bool | int] = {"database": True, "keys": _keys_loaded()}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("healthz: database unreachable")
        checks["database"] = False
    healthy = checks["database"] and checks["keys"]
    status = "ok" if healthy else "unavailable"
    if healthy:
        try:
            checks["unopenable_values"] = _unopenable_total()
        except DatabaseError:
            logger.warning("healthz: could not count unopenable values")
        if checks.get("unopenable_values"):
            status = "degraded"
    return JsonResponse({"status": status, "checks": checks}, status=200 if healthy else 503)
