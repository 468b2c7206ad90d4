"""The JSON API, version 1: ``/api/v1/``, for scripts and CI jobs holding an API key.

Why django-ninja (and not Django REST framework + drf-spectacular): the API is a handful of
function endpoints in front of services that already exist, and ninja is exactly that - typed
function views whose pydantic schemas validate the input and *are* the OpenAPI document, with no
serializer/viewset layer to keep in step and one dependency instead of three (DRF needs
drf-spectacular for OpenAPI 3 and drf-spectacular-sidecar to serve Swagger UI without a CDN;
ninja ships Swagger UI's files). Its per-request cost is also lower, which matters for the
overhead goal of ``POST /tokens`` (``benchmarks/issue.py api``).

Authentication is ``Authorization: Bearer <API key>`` only. Session cookies are never looked
at, so a browser's cookies cannot make a request here on someone's behalf: there is no CSRF
surface (ninja marks its views CSRF-exempt for that reason; the URL-wide security tests check
that a logged-in browser's POST is a 401). Everything an endpoint does goes through the same
services, access rules (narrowed to the key: ``portal/api/access.py``), rate limits, audit
events and fail-closed flow as the pages; every audit event of a request made with a key
carries the key's id.
"""

from __future__ import annotations

from functools import wraps

from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from ninja import NinjaAPI
from ninja.openapi.docs import DocsBase
from ninja.security import HttpBearer

from portal.api import services
from portal.api.v1 import account, audit, errors, tokens
from portal.core import context


class ApiKeyBearer(HttpBearer):
    """``Authorization: Bearer tpk_…``; anything else is a 401 with the reason."""

    def __call__(self, request):
        # Not HttpBearer.__call__: in DEBUG it logs an unexpected header - which may be a key.
        header = request.headers.get("Authorization", "")
        if not header:
            raise errors.Unauthenticated(
                "missing", "Send your API key as 'Authorization: Bearer <key>'."
            )
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise errors.Unauthenticated(
                "malformed", "Send your API key as 'Authorization: Bearer <key>'."
            )
        return self.authenticate(request, secret.strip())

    def authenticate(self, request, token):
        try:
            principal = services.api_key_authenticate(secret=token, ip=context.current().ip)
        except services.ApiKeyRejected as exc:
            raise errors.Unauthenticated(exc.reason, exc.message) from None
        # The key's creator, for anything that reads request.user; never the session's user.
        request.user = principal.user
        return principal


class SelfHostedSwagger(DocsBase):
    """Swagger UI from the portal's own static files (django-ninja ships them), started by a
    script file: no CDN, no inline script or style, so the portal's strict CSP holds."""

    def render_page(self, request, api, **kwargs):
        return render(
            request,
            "api/docs.html",
            {"openapi_url": self.get_openapi_url(api, kwargs), "title": api.title},
        )


def _with_key_in_context(view_func):
    """Every audit event written while the endpoint runs names the request's API key."""

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        principal = getattr(request, "auth", None)
        if principal is None:
            return view_func(request, *args, **kwargs)
        with context.extended(api_key_id=str(principal.key.pk)):
            return view_func(request, *args, **kwargs)

    return wrapper


def _no_store(run):
    """Nothing the API answers belongs in a cache: tokens, credentials, the audit trail."""

    @wraps(run)
    def wrapper(request, *args, **kwargs):
        response = run(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper


DESCRIPTION = """
Generate, renew and revoke OAuth2 tokens through the portal, as the pages do - with the same
access rules, rate limits and audit trail.

**Authentication:** `Authorization: Bearer tpk_…` with an API key created in the portal
(*API keys* page) or with `manage.py create_api_key`. A key acts as its creator, in one team,
as issuer or viewer, optionally only with some credentials, until it expires or is revoked.

**Errors** are RFC 9457 problem documents (`application/problem+json`); each failure kind has a
stable `type` (`/api/v1/problems/<kind>`). Objects outside the key's team or credentials are
404, as for outsiders on the pages.

**Idempotency:** `POST /tokens` and `POST /tokens/{issuance_id}/renew` accept an
`Idempotency-Key` header: the same key gives the same token (the access token is in the first
answer only).
"""

api = NinjaAPI(
    title="Token Portal API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=ApiKeyBearer(),
    docs=SelfHostedSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    # Read-only and cookie-free like every API view: a POST is a 405 problem, not a CSRF page.
    docs_decorator=lambda view: csrf_exempt(require_GET(view)),
)
errors.install(api)
api.add_decorator(_with_key_in_context, mode="operation")
api.add_decorator(_no_store, mode="view")
api.add_router("", account.router)
api.add_router("/tokens", tokens.router)
api.add_router("/audit", audit.router)
