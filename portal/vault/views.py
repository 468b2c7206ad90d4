"""Credential pages. Every lookup goes through access.py (the vault's and the teams'): outsiders
404, low roles 403."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.teams import access as team_access
from portal.teams.models import Role
from portal.vault import access, selectors, services
from portal.vault.forms import CredentialForm

PAGE_SIZE = 25
SECRET_POST_FIELDS = ("consumer_key", "consumer_secret", "org_key")
ORG_KEY_PLACEHOLDER = "‹org key›"


def _username_previews(user, org_key: str, selected_gateway_id=None) -> list[dict]:
    """The upstream username the current user would get on each gateway (server-rendered)."""
    previews = []
    for gateway in selectors.gateway_list():
        needs = selectors.gateway_uses_org_key(gateway)
        previews.append(
            {
                "gateway": gateway,
                "username": selectors.gateway_compose_username(
                    gateway=gateway, user=user, org_key=org_key or ORG_KEY_PLACEHOLDER
                ),
                "incomplete": needs and not org_key,
                "selected": gateway.pk == selected_gateway_id,
            }
        )
    return previews


def _submitted(form, name: str):
    """A field's cleaned value after validation, if it validated."""
    return getattr(form, "cleaned_data", {}).get(name)


def _list(request: HttpRequest, membership) -> HttpResponse:
    team = membership.team
    archived = request.GET.get("show") == "archived"
    page = Paginator(
        selectors.credential_list_for_team(team=team, archived=archived), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "vault/credential_list.html",
        {
            "team": team,
            "membership": membership,
            "is_owner": membership.role == Role.OWNER,
            "archived": archived,
            "page": page,
        },
    )


@login_required
@require_GET
def credential_list(request: HttpRequest) -> HttpResponse:
    """The current team's credentials (masked); every member may read them."""
    membership = team_access.current_membership(request)
    if membership is None:
        raise Http404("No team.")
    return _list(request, membership)


@login_required
@require_GET
def credential_list_team(request: HttpRequest, team_id) -> HttpResponse:
    membership = team_access.membership_get_for_user(request.user, team_id)
    team_access.set_current_team(request, membership.team)
    return _list(request, membership)


@login_required
@sensitive_post_parameters(*SECRET_POST_FIELDS)
@sensitive_variables("data", "form")
@require_http_methods(["GET", "POST"])
def credential_create(request: HttpRequest, team_id) -> HttpResponse:
    team = team_access.team_get_for_user(request.user, team_id, need=Role.OWNER)
    form = CredentialForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credential = services.credential_create(
                team=team,
                name=data["name"],
                gateway=data["gateway"],
                consumer_key=data["consumer_key"],
                consumer_secret=data["consumer_secret"],
                org_key=data["org_key"],
                default_scopes=data["default_scopes"],
                allow_password=data["allow_password"],
                allow_client_credentials=data["allow_client_credentials"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Credential “{credential.name}” saved, encrypted.")
            return redirect("vault:credential_list_team", team_id=team.pk)
    gateway = _submitted(form, "gateway")
    return render(
        request,
        "vault/credential_form.html",
        {
            "team": team,
            "form": form,
            "credential": None,
            "has_gateways": selectors.gateway_list().exists(),
            "previews": _username_previews(
                request.user, _submitted(form, "org_key") or "", gateway.pk if gateway else None
            ),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@sensitive_post_parameters(*SECRET_POST_FIELDS)
@sensitive_variables("data", "form")
@require_http_methods(["GET", "POST"])
def credential_edit(request: HttpRequest, pk) -> HttpResponse:
    credential = access.credential_get_for_user(request.user, pk, need=Role.OWNER)
    if credential.is_archived:
        messages.error(request, "Archived credentials cannot be changed.")
        return redirect("vault:credential_list_team", team_id=credential.team_id)
    has_org_key = bool(credential.org_key_encrypted)
    form = CredentialForm(
        request.POST or None,
        team=credential.team,
        credential=credential,
        has_org_key=has_org_key,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.credential_update(
                credential=credential,
                actor=request.user,
                name=data["name"],
                gateway=data["gateway"],
                default_scopes=data["default_scopes"],
                allow_password=data["allow_password"],
                allow_client_credentials=data["allow_client_credentials"],
                consumer_key=data["consumer_key"],
                consumer_secret=data["consumer_secret"],
                org_key=data["org_key"],
                clear_org_key=data.get("clear_org_key", False),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Credential “{credential.name}” updated.")
            return redirect("vault:credential_list_team", team_id=credential.team_id)
    org_key = _submitted(form, "org_key") or ""
    if not org_key and has_org_key and not _submitted(form, "clear_org_key"):
        try:
            org_key = services.credential_org_key(credential=credential, actor=request.user)
        except services.CredentialUnreadable as exc:
            messages.error(request, exc.user_message)
    gateway = _submitted(form, "gateway") or credential.gateway
    return render(
        request,
        "vault/credential_form.html",
        {
            "team": credential.team,
            "form": form,
            "credential": credential,
            "has_gateways": True,
            "previews": _username_previews(request.user, org_key, gateway.pk),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def credential_archive(request: HttpRequest, pk) -> HttpResponse:
    """Confirmation page (GET), then archive (POST)."""
    credential = access.credential_get_for_user(request.user, pk, need=Role.OWNER)
    if request.method == "POST":
        services.credential_archive(credential=credential, actor=request.user)
        messages.success(
            request,
            f"Credential “{credential.name}” archived. Its history stays; it issues no more tokens.",
        )
        return redirect("vault:credential_list_team", team_id=credential.team_id)
    return render(
        request,
        "vault/credential_archive.html",
        {"credential": credential, "team": credential.team},
    )


@login_required
@require_POST
def credential_restore(request: HttpRequest, pk) -> HttpResponse:
    """Owners bring an archived credential back (from the Archived tab); audited."""
    credential = access.credential_get_for_user(request.user, pk, need=Role.OWNER)
    try:
        services.credential_restore(credential=credential, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(
            reverse("vault:credential_list_team", args=[credential.team_id]) + "?show=archived"
        )
    messages.success(
        request, f"Credential “{credential.name}” restored: the team can generate tokens with it."
    )
    return redirect("vault:credential_list_team", team_id=credential.team_id)
