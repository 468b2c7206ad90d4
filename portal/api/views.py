"""The API key page: list, create (the key shown once, in the answer to the POST), revoke.
Thin: access.py, a form, one service call."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods

from portal.api import access, selectors, services
from portal.api.forms import ApiKeyForm


def _page(request, form, *, status=200, created=None, secret=""):
    return render(
        request,
        "api/keys.html",
        {
            "form": form,
            "rows": selectors.api_key_rows_for_user(request.user),
            "created": created,
            "secret": secret,
        },
        status=status,
    )


@never_cache
@login_required
@sensitive_variables("secret")
@require_http_methods(["GET", "POST"])
def key_list(request: HttpRequest) -> HttpResponse:
    """Your keys and those of the teams you own; the create form. A new key is shown once, in
    the answer to the POST itself (never stored, so no later page could show it)."""
    if request.method != "POST":
        return _page(request, ApiKeyForm(user=request.user))
    form = ApiKeyForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            key, secret = services.api_key_create(
                actor=request.user,
                team=data["team"],
                name=data["name"],
                role=data["role"],
                expires_in_days=data["expires_in_days"],
                credentials=data["credentials"],
                form_nonce=data["form_nonce"],
            )
        except services.FormAlreadyUsed:
            messages.info(
                request, "That key was already created; it was shown once, when it was created."
            )
            return redirect("api_keys:list")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return _page(request, ApiKeyForm(user=request.user), created=key, secret=secret)
    return _page(request, form, status=400)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, key_id) -> HttpResponse:
    key = access.api_key_get_for_manager(request.user, key_id)
    if request.method == "POST":
        services.api_key_revoke(actor=request.user, api_key=key)
        messages.success(request, f"API key “{key.name}” ({key.masked}) revoked.")
        return redirect("api_keys:list")
    return render(request, "api/key_revoke.html", {"key": key})
