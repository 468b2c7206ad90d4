"""Project-level pages: the dashboard and the styled error pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard.html", {})


@login_required
@require_GET
def coming_soon(request: HttpRequest, title: str) -> HttpResponse:
    return render(request, "coming_soon.html", {"title": title})


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
    return _error(request, "errors/500.html", 500)


def csrf_failure(request, reason=""):
    return _error(request, "errors/403_csrf.html", 403)
