"""Generate a token and show it once. Thin: access.py, a form, one service call."""

import shlex
import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from portal.teams import access as team_access
from portal.tokens import access, services
from portal.tokens.forms import GenerateForm
from portal.tokens.models import Grant, Status
from portal.vault import access as vault_access
from portal.vault import selectors as vault_selectors
from portal.vault import services as vault_services


def _username_suggestion(request, credential) -> str:
    """The gateway username for this user and credential; empty when the org key is unreadable."""
    if credential is None:
        return ""
    org_key = ""
    if vault_selectors.gateway_uses_org_key(credential.gateway):
        try:
            org_key = vault_services.credential_org_key(credential=credential, actor=request.user)
        except vault_services.CredentialUnreadable:
            return ""
    return vault_selectors.gateway_compose_username(
        gateway=credential.gateway, user=request.user, org_key=org_key
    )


def _default_credential(request, credentials):
    membership = team_access.current_membership(request)
    team_first = credentials.filter(team=membership.team).first() if membership else None
    return team_first or credentials.first()


def _credential_asked_for(request, wanted: str):
    """The credential named in the request, through access.py: 404 for outsiders (and unknown,
    malformed or archived ids), 403 for viewers. A form error would hide what happened."""
    try:
        uuid.UUID(wanted)
    except ValueError:
        raise Http404("No such credential.") from None
    credential = vault_access.credential_get_for_user(request.user, wanted, need="issuer")
    if credential.is_archived:
        raise Http404("This credential is archived.")
    return credential


@sensitive_post_parameters("password")
@sensitive_variables("data", "form")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def generate(request: HttpRequest) -> HttpResponse:
    credentials = vault_access.credentials_usable_by(request.user)
    if request.method == "POST":
        credential = _credential_asked_for(request, request.POST.get("credential", ""))
        form = GenerateForm(request.POST, credentials=credentials, credential=credential)
        if form.is_valid():
            data = form.cleaned_data
            try:
                issuance = services.token_issue(
                    user=request.user,
                    credential=credential,
                    grant_type=data["grant_type"],
                    upstream_username=data["upstream_username"],
                    password=data["password"],
                    scopes=data["all_scopes"],
                    idempotency_key=data["idempotency_key"],
                )
            except services.TokenActionError as exc:
                form.add_error(None, exc.message)
            else:
                if issuance.status == Status.FAILED:
                    form.add_error(None, issuance.failure_message)
                else:
                    return redirect("tokens:result", issuance_id=issuance.pk)
            form = form.for_another_try()
    else:
        wanted = request.GET.get("credential", "")
        chosen = _credential_asked_for(request, wanted) if wanted else None
        if chosen is None:
            if not credentials.exists():
                return render(request, "tokens/generate_empty.html", {}, status=200)
            chosen = _default_credential(request, credentials)
        form = GenerateForm(
            credentials=credentials,
            credential=chosen,
            initial={"upstream_username": _username_suggestion(request, chosen)},
        )
    return render(
        request,
        "tokens/generate.html",
        {"form": form, "credential": form.chosen_credential, "grant_password": Grant.PASSWORD},
    )


@sensitive_variables("revealed")
@never_cache
@login_required
@require_GET
def result(request: HttpRequest, issuance_id) -> HttpResponse:
    """Shows the raw token once (POST → redirect → GET); a reload or Back shows it no more."""
    issuance = access.issuance_get_for_user(request.user, issuance_id)
    revealed = None
    reveal_error = ""
    try:
        revealed = services.token_reveal_once(user=request.user, issuance=issuance)
    except services.TokenActionError as exc:
        reveal_error = exc.message
    return render(
        request,
        "tokens/result.html",
        {
            "issuance": issuance,
            "revealed": revealed,
            "reveal_error": reveal_error,
            "may_manage": access.issuance_may_manage(request.user, issuance),
            "curl_command": _curl_command(issuance, revealed) if revealed else "",
        },
    )


@sensitive_variables("revealed")
def _curl_command(issuance, revealed) -> str:
    """A command to paste into a shell: every part shell-quoted, so nothing a gateway put into a
    token or its type can run as code (the client refuses such tokens too)."""
    header = f"Authorization: {issuance.token_type or 'Bearer'} {revealed.access_token}"
    return shlex.join(["curl", "-H", header, _try_url(issuance)])


def _try_url(issuance) -> str:
    """Where the curl example points: the sandbox's protected API for sandbox tokens."""
    gateway = issuance.credential.gateway
    if gateway.is_sandbox and gateway.token_url.endswith("/token"):
        return gateway.token_url.removesuffix("/token") + "/api/echo"
    return "https://your-api.example/resource"
