"""Exceptions the API's endpoints raise, and the handlers that turn every exception - theirs, the
services', Django's and django-ninja's - into a problem document (``problems.py``)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from portal.api.v1.problems import problem_for_failure, problem_response
from portal.audit.chain import AuditWriteError
from portal.tokens import services as token_services
from portal.tokens.models import Issuance

logger = logging.getLogger(__name__)

# The portal's own rate limit counts the last minute.
RATE_LIMIT_RETRY_AFTER = 60


class Unauthenticated(Exception):
    """No usable key: ``reason`` is missing, malformed, unknown, expired, revoked or inactive."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Problem(Exception):
    """Answer with the problem ``slug`` (see ``problems.PROBLEMS``)."""

    def __init__(self, slug: str, detail: str = "", **extensions) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.extensions = extensions


class FieldInvalid(Problem):
    """One invalid field, checked by an endpoint rather than by the schema."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            "validation",
            "The request has invalid fields.",
            errors=[{"field": field, "message": message}],
        )


class IssuanceFailed(Exception):
    """The service recorded a failed attempt (the gateway refused, or could not be reached)."""

    def __init__(self, issuance: Issuance) -> None:
        super().__init__(issuance.failure_message)
        self.issuance = issuance


def _unauthenticated(request: HttpRequest, exc: Unauthenticated) -> HttpResponse:
    # RFC 6750 §3.1: no error code when no key was sent at all.
    challenge = 'Bearer realm="token-portal"'
    if exc.reason != "missing":
        challenge += ', error="invalid_token"'
    return problem_response(
        "unauthenticated",
        exc.message,
        instance=request.path,
        reason=exc.reason,
        headers={"WWW-Authenticate": challenge},
    )


def _field_name(loc) -> str:
    # ninja reports ("body", "payload", "scopes", 0) or ("query", "limit"): the source and the
    # parameter's own name say nothing to a client.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "form"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] in ("payload", "filters"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {
            "field": _field_name(error.get("loc", ())),
            # pydantic prefixes a validator's own message with "Value error, ".
            "message": str(error.get("msg", "Invalid.")).removeprefix("Value error, "),
        }
        for error in exc.errors
    ]
    return problem_response(
        "validation", "The request has invalid fields.", instance=request.path, errors=errors
    )


_HTTP_ERROR_SLUGS = {400: "malformed-request", 401: "unauthenticated", 403: "forbidden"}


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    slug = _HTTP_ERROR_SLUGS.get(exc.status_code, "internal-error")
    if isinstance(exc, AuthenticationError):
        return _unauthenticated(
            request, Unauthenticated("missing", "Send the API key as 'Authorization: Bearer …'.")
        )
    return problem_response(slug, str(exc.message), instance=request.path)


def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # The access rules' messages ("No such token.") say nothing an outsider may not know.
    detail = str(exc) or "Not found."
    return problem_response("not-found", detail, instance=request.path)


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response("forbidden", str(exc) or "Not allowed.", instance=request.path)


def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    extensions = dict(exc.extensions)
    retry_after = extensions.pop("retry_after", None)
    return problem_response(
        exc.slug, exc.detail, instance=request.path, retry_after=retry_after, **extensions
    )


def _rate_limited(request: HttpRequest, exc: token_services.RateLimited) -> HttpResponse:
    return problem_response(
        "rate-limited", exc.message, instance=request.path, retry_after=RATE_LIMIT_RETRY_AFTER
    )


def _token_action(request: HttpRequest, exc: token_services.TokenActionError) -> HttpResponse:
    problem = problem_for_failure(exc.kind)
    return problem_response(problem.slug, exc.message, instance=request.path)


def _issuance_failed(request: HttpRequest, exc: IssuanceFailed) -> HttpResponse:
    issuance = exc.issuance
    problem = problem_for_failure(issuance.failure_kind, grant=issuance.grant_type)
    return problem_response(
        problem.slug,
        issuance.failure_message,
        instance=request.path,
        retry_after=getattr(issuance, "retry_after", None),
        token_id=str(issuance.pk),
    )


def _audit_unavailable(request: HttpRequest, exc: AuditWriteError) -> HttpResponse:
    logger.error("Audit write failed; the action was rolled back", exc_info=exc)
    return problem_response(
        "audit-unavailable",
        "The action was not performed because it could not be recorded in the audit trail.",
        instance=request.path,
    )


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("Unhandled exception in the API", exc_info=exc)
    return problem_response(
        "internal-error",
        "Something unexpected went wrong. Quote the X-Request-ID header to an administrator.",
        instance=request.path,
    )


HANDLERS = {
    Exception: _unexpected,
    Unauthenticated: _unauthenticated,
    ValidationError: _validation,
    HttpError: _http_error,
    Http404: _not_found,
    PermissionDenied: _forbidden,
    Problem: _problem,
    token_services.RateLimited: _rate_limited,
    token_services.TokenActionError: _token_action,
    IssuanceFailed: _issuance_failed,
    AuditWriteError: _audit_unavailable,
}


def install(api) -> None:
    for exc_class, handler in HANDLERS.items():
        api.add_exception_handler(exc_class, handler)
