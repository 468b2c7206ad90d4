"""Renew and revoke tokens, one or many. Thin: access.py, a confirmation, one service call."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.tokens import access, services
from portal.tokens.forms import ConfirmForm
from portal.tokens.models import Status

MAX_BULK = 100


def _history_url(team_id, *, anchor: str = "") -> str:
    """The history of the team the form came from (the history page checks membership)."""
    url = reverse("tokens:history")
    try:
        url += "?" + urlencode({"team": str(uuid.UUID(str(team_id)))})
    except ValueError:
        pass
    return url + (f"#{anchor}" if anchor else "")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def renew(request: HttpRequest, issuance_id) -> HttpResponse:
    issuance = access.issuance_get_for_manager(request.user, issuance_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.token_renew(
                user=request.user,
                issuance=issuance,
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except services.TokenActionError as exc:
            messages.error(request, exc.message)
            return redirect("tokens:detail", issuance_id=issuance.pk)
        if new.status == Status.FAILED:
            messages.error(request, new.failure_message)
            return redirect("tokens:detail", issuance_id=issuance.pk)
        if new.issued_by_id != request.user.pk:
            holder = new.issued_by.get_username() if new.issued_by else "its holder"
            messages.success(
                request,
                f"Token renewed. The new token belongs to {holder}, who generated the original: "
                "only they can display it, once, from its page.",
            )
            return redirect("tokens:detail", issuance_id=new.pk)
        return redirect("tokens:result", issuance_id=new.pk)
    return render(request, "tokens/renew_confirm.html", {"issuance": issuance, "form": form})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def revoke(request: HttpRequest, issuance_id) -> HttpResponse:
    issuance = access.issuance_get_for_manager(request.user, issuance_id)
    if request.method == "POST":
        try:
            services.token_revoke(user=request.user, issuance=issuance)
        except services.TokenActionError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"Token …{issuance.access_token_last4} revoked. {services.GATEWAY_CACHE_NOTE}",
            )
        return redirect("tokens:detail", issuance_id=issuance.pk)
    return render(
        request,
        "tokens/revoke_confirm.html",
        {"issuances": [issuance], "single": True, "cache_note": services.GATEWAY_CACHE_NOTE},
    )


@never_cache
@login_required
@require_POST
def revoke_bulk(request: HttpRequest) -> HttpResponse:
    """From the history's checkboxes: first a confirmation page, then (``confirm=1``) the revokes."""
    ids = request.POST.getlist("issuances")[: MAX_BULK + 1]
    if not ids:
        # Shown beside the button (the history renders "inline" messages in its bulk bar).
        messages.info(request, "Select the tokens to revoke first.", extra_tags="inline")
        return redirect(_history_url(request.POST.get("team"), anchor="bulk-actions"))
    if len(ids) > MAX_BULK:
        messages.error(request, f"Revoke at most {MAX_BULK} tokens at a time.")
        return redirect("tokens:history")
    try:
        wanted = list(dict.fromkeys(uuid.UUID(raw) for raw in ids))  # one revoke per token
    except ValueError:
        raise Http404("No such token.") from None
    issuances = [access.issuance_get_for_manager(request.user, pk) for pk in wanted]
    if request.POST.get("confirm") != "1":
        return render(
            request,
            "tokens/revoke_confirm.html",
            {"issuances": issuances, "single": False, "cache_note": services.GATEWAY_CACHE_NOTE},
        )
    summary = services.token_revoke_many(user=request.user, issuances=issuances)
    if summary.revoked:
        messages.success(
            request, f"{len(summary.revoked)} token(s) revoked. {services.GATEWAY_CACHE_NOTE}"
        )
    for issuance, message in summary.failed:
        messages.error(request, f"Token …{issuance.access_token_last4}: {message}")
    if summary.not_tried:
        messages.warning(
            request,
            f"{len(summary.not_tried)} token(s) were not tried: the gateway took too long. "
            "They are still active; revoke them again.",
        )
    if summary.skipped:
        messages.info(
            request, f"{len(summary.skipped)} token(s) were no longer active and were skipped."
        )
    return redirect("tokens:history")


@never_cache
@login_required
@require_POST
def check(request: HttpRequest, issuance_id) -> HttpResponse:
    """Ask the gateway (RFC 7662) whether the token is still active; anyone who may see the
    token may ask, and the record follows the answer."""
    issuance = access.issuance_get_for_user(request.user, issuance_id)
    try:
        result = services.token_check_at_gateway(user=request.user, issuance=issuance)
    except services.TokenActionError as exc:
        messages.error(request, exc.message)
    else:
        if result.active:
            messages.success(request, "The token is still active at the gateway.")
        elif result.recorded_as == "revoked":
            messages.warning(
                request,
                "The token is no longer active at the gateway (revoked there); the history now "
                "says so.",
            )
        else:
            messages.info(request, "The token is no longer active at the gateway: it expired.")
    return redirect("tokens:detail", issuance_id=issuance.pk)
