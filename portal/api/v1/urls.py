"""``/api/v1/``'s URLconf: django-ninja's routes, with every answer - a wrong method or an
unknown path too - a problem document, and a page per problem type."""

from functools import wraps

from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path, re_path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from portal.api.v1.api import api
from portal.api.v1.problems import PROBLEMS, problem_response


def _method_problem(view):
    """ninja answers a wrong method with a bare 405; the API answers every error the same way."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            return problem_response(
                "method-not-allowed",
                f"Use {allowed}.",
                instance=request.path,
                headers={"Allow": allowed},
            )
        return response

    return wrapper


def _api_patterns():
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _method_problem(pattern.callback)
    return patterns, app_name, namespace


# The views below read no cookie and change nothing: like ninja's, they are CSRF-exempt, so
# every answer under /api/v1/ is the API's own (a 405 or 404 problem), never a CSRF page.
@csrf_exempt
@require_GET
def index(request):
    """What ``/api/v1/`` answers: where the documentation is."""
    return JsonResponse(
        {
            "openapi": reverse("api-v1:openapi-json"),
            "docs": reverse("api-v1:openapi-view"),
            "problem_types": [p.type for p in PROBLEMS.values()],
        }
    )


@csrf_exempt
@require_GET
def problem_page(request, slug: str):
    """The page a problem ``type`` resolves to."""
    problem = PROBLEMS.get(slug)
    if problem is None:
        raise Http404("No such problem type.")
    return render(request, "api/problem.html", {"problem": problem, "problems": PROBLEMS.values()})


@csrf_exempt
def not_found(request):
    return problem_response("not-found", "No such API endpoint.", instance=request.path)


urlpatterns = [
    # Before ninja's own root (a bare 404): an index of the documentation.
    path("", index, name="api_v1_index"),
    path("problems/<slug:slug>", problem_page, name="api_v1_problem"),
    path("", _api_patterns()),
    re_path(r"^.*$", not_found, name="api_v1_not_found"),
]
