"""The sandbox gateway's HTTP face: WSO2's ``/token``, ``/revoke`` and a protected echo API.

These views are an API for programs (the portal's client, curl), not browser forms, so they are
CSRF-exempt: they never read the session or a cookie, and authenticate every call by its own
credentials (client authentication or a bearer token), which a cross-site page cannot supply.
Every bad input gets an OAuth error JSON answer, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import time
from urllib.parse import unquote_plus

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from portal.gateway.protocol import BEARER, ErrorCode, Grant
from portal.sandbox import selectors, services
from portal.sandbox.services import OAuthError, invalid_client

MAX_BODY_BYTES = 16 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _no_store(response: HttpResponse) -> HttpResponse:
    # RFC 6749 §5.1: token answers must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _error_response(err: OAuthError) -> HttpResponse:
    response = JsonResponse(
        {"error": err.error, "error_description": err.description}, status=err.status
    )
    for name, value in err.headers.items():
        response[name] = value
    return _no_store(response)


def _read_form(request: HttpRequest) -> QueryDict:
    """The POSTed form, or an OAuthError for anything that is not a small, well-formed one."""
    if request.method != "POST":
        raise OAuthError(
            405, ErrorCode.INVALID_REQUEST, "Only POST is supported.", {"Allow": "POST"}
        )
    if request.content_type != FORM_CONTENT_TYPE:
        raise OAuthError(
            400, ErrorCode.INVALID_REQUEST, f"The request body must be {FORM_CONTENT_TYPE}."
        )
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        raise OAuthError(413, ErrorCode.INVALID_REQUEST, "The request body is too large.")
    try:
        if len(request.body) > MAX_BODY_BYTES:
            raise OAuthError(413, ErrorCode.INVALID_REQUEST, "The request body is too large.")
        form = request.POST
    except (RequestDataTooBig, TooManyFieldsSent) as exc:
        raise OAuthError(413, ErrorCode.INVALID_REQUEST, "The request body is too large.") from exc
    for name in form:
        if len(form.getlist(name)) > 1:
            # RFC 6749 §3.1: parameters must not be included more than once.
            raise OAuthError(400, ErrorCode.INVALID_REQUEST, f"Repeated parameter: {name[:40]}")
    return form


@sensitive_variables("header", "value", "decoded", "key", "secret", "pairs")
def _client_pairs(request: HttpRequest, form: QueryDict) -> list[tuple[str, str]]:
    """Candidate (consumer key, secret) pairs from Basic auth or the form (client_secret_post).

    A Basic header is read both raw (WSO2's docs) and form-urlencoded (RFC 6749 §2.3.1).
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        if "client_secret" in form:
            raise OAuthError(
                400, ErrorCode.INVALID_REQUEST, "Use one client authentication method, not two."
            )
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            raise invalid_client()
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise invalid_client() from None
        key, sep, secret = decoded.partition(":")
        if not sep:
            raise invalid_client()
        pairs = [(key, secret)]
        encoded_style = (unquote_plus(key), unquote_plus(secret))
        if encoded_style != pairs[0]:
            pairs.append(encoded_style)
        return pairs
    if "client_id" in form and "client_secret" in form:
        return [(form["client_id"], form["client_secret"])]
    raise invalid_client()


@csrf_exempt
@sensitive_post_parameters("password", "refresh_token", "client_secret")
def token(request: HttpRequest) -> HttpResponse:
    """``POST /sandbox/token``: password, refresh_token and client_credentials grants."""
    try:
        form = _read_form(request)
        app = services.application_authenticate(pairs=_client_pairs(request, form))
        grant = form.get("grant_type", "")
        scopes = form.get("scope", "").split()
        if not grant:
            raise OAuthError(400, ErrorCode.INVALID_REQUEST, "Missing parameters: grant_type")
        if grant == Grant.PASSWORD:
            answer = services.token_password(
                app=app,
                username=form.get("username", ""),
                password=form.get("password", ""),
                scopes=scopes,
            )
        elif grant == Grant.REFRESH_TOKEN:
            answer = services.token_refresh(
                app=app, refresh_token=form.get("refresh_token", ""), scopes=scopes
            )
        elif grant == Grant.CLIENT_CREDENTIALS:
            answer = services.token_client_credentials(app=app, scopes=scopes)
        else:
            raise OAuthError(400, ErrorCode.UNSUPPORTED_GRANT_TYPE, "Unsupported grant_type value")
    except OAuthError as err:
        return _error_response(err)
    return _no_store(JsonResponse(answer))


@csrf_exempt
@sensitive_post_parameters("token", "client_secret")
def revoke(request: HttpRequest) -> HttpResponse:
    """``POST /sandbox/revoke`` (RFC 7009): 200 with an empty body, ``Revoked*`` headers when a
    token was really revoked."""
    try:
        form = _read_form(request)
        app = services.application_authenticate(pairs=_client_pairs(request, form))
        if not form.get("token"):
            raise OAuthError(400, ErrorCode.INVALID_REQUEST, "Missing parameters: token")
        headers = services.token_revoke(
            app=app, token=form["token"], hint=form.get("token_type_hint", "")
        )
    except OAuthError as err:
        return _error_response(err)
    response = HttpResponse(b"", status=200, content_type="text/plain")
    for name, value in headers.items():
        response[name] = value
    return _no_store(response)


def _unauthorized(code: str, message: str, description: str, challenge: str) -> HttpResponse:
    # WSO2's gateway answers API calls with its own error shape (code/message/description).
    response = JsonResponse(
        {"code": code, "message": message, "description": description}, status=401
    )
    response["WWW-Authenticate"] = challenge
    return _no_store(response)


@csrf_exempt
def echo(request: HttpRequest) -> HttpResponse:
    """``GET /sandbox/api/echo``: a protected API. 200 with the token's user, scopes and expiry
    for a live bearer token; 401 otherwise."""
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse(
            {"code": "405", "message": "Method not allowed", "description": "Use GET."},
            status=405,
        )
        response["Allow"] = "GET, HEAD"
        return response
    header = request.META.get("HTTP_AUTHORIZATION", "").strip()
    if not header:
        return _unauthorized(
            "900902",
            "Missing Credentials",
            "Send the access token as 'Authorization: Bearer <token>'.",
            'Bearer realm="sandbox"',
        )
    scheme, _, value = header.partition(" ")
    row = selectors.token_for_bearer(value.strip()) if scheme.lower() == BEARER.lower() else None
    if row is None:
        return _unauthorized(
            "900901",
            "Invalid Credentials",
            "The access token is invalid, expired or revoked. Generate a new token.",
            'Bearer realm="sandbox", error="invalid_token"',
        )
    claims = row.claims
    return _no_store(
        JsonResponse(
            {
                "message": "Hello from the Token Portal sandbox API.",
                "user": claims.get("sub"),
                "scopes": row.scope_list,
                "application": row.application.name,
                "consumer_key": row.application.consumer_key,
                "keytype": claims.get("keytype"),
                "grant_type": row.grant_type,
                "expires_at": row.expires_at.isoformat(),
                "expires_in": max(0, int(claims.get("exp", 0) - time.time())),
            }
        )
    )
