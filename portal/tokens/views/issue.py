"""Generate a token and show it once. Thin: access.py, a form, one service call."""

import shlex
import uuid
from datetime import UTC, datetime

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from portal.teams import access as team_access
from portal.tokens import access, display, services
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
    # The picker's choices, built only when a page is rendered: a successful POST redirects.
    credentials = SimpleLazyObject(lambda: vault_access.credentials_usable_by(request.user))
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
                    name=data["name"],
                    note=data["note"],
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
                return render(
                    request,
                    "tokens/generate_empty.html",
                    {"memberships": team_access.memberships_of(request)},
                )
            chosen = _default_credential(request, credentials)
        form = GenerateForm(
            credentials=credentials,
            credential=chosen,
            initial={"upstream_username": _username_suggestion(request, chosen)},
        )
    grants = {value for value, _ in form.fields["grant_type"].choices}
    return render(
        request,
        "tokens/generate.html",
        {
            "form": form,
            "credential": form.chosen_credential,
            "grant_password": Grant.PASSWORD,
            "has_password_grant": Grant.PASSWORD in grants,
            "has_client_credentials": Grant.CLIENT_CREDENTIALS in grants,
        },
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
            "scopes": display.scope_view(issuance),
            "claims": claims_for_display(revealed.jwt_claims if revealed else None),
            "token_rows": _token_rows(revealed.access_token) if revealed else 0,
            "now": timezone.now(),
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


# JWT claims that are moments (RFC 7519 NumericDate: seconds since 1970, UTC).
TIME_CLAIMS = frozenset({"exp", "iat", "nbf", "auth_time"})
CLAIM_NAMES = {
    "exp": "expires",
    "iat": "issued",
    "nbf": "valid from",
    "auth_time": "authenticated",
    "sub": "subject",
    "aud": "audience",
    "iss": "issuer",
    "jti": "token id",
}


def claims_for_display(claims: dict | None) -> list[dict]:
    """The decoded claims as rows: the raw value, a name in words, and for time claims the
    moment itself (``exp: 1764338700`` means nothing to a person)."""
    rows = []
    for key, value in (claims or {}).items():
        moment = None
        if key in TIME_CLAIMS and isinstance(value, int | float) and 0 <= value < 32503680000:
            moment = datetime.fromtimestamp(value, tz=UTC)
        rows.append(
            {"key": key, "value": value, "name": CLAIM_NAMES.get(key, ""), "moment": moment}
        )
    return rows


def _token_rows(token: str) -> int:
    """Lines the shown-once box needs at ~56 characters a line (phones); CSS and script grow
    it further where supported, never cutting the last line."""
    return max(2, min(24, -(-len(token) // 56) + 1))


def _try_url(issuance) -> str:
    """Where the curl example points: the sandbox's protected API for sandbox tokens."""
    gateway = issuance.credential.gateway
    if gateway.is_sandbox and gateway.token_url.endswith("/token"):
        return gateway.token_url.removesuffix("/token") + "/api/echo"
    return "https://your-api.example/resource"
