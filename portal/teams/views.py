from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.teams import access, selectors, services
from portal.teams.forms import (
    ROLE_HELP,
    MemberAddForm,
    RoleForm,
    TeamCreateForm,
    TeamRenameForm,
    TeamSwitchForm,
)
from portal.teams.models import Role


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    memberships = selectors.membership_list_for_user(user=request.user)
    return render(request, "teams/team_list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(name=form.cleaned_data["name"], owner=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            access.set_current_team(request, team)
            messages.success(request, f"Team “{team.name}” created. Add members below.")
            return redirect("teams:detail", team_id=team.pk)
    return render(request, "teams/team_create.html", {"form": form})


def _detail_context(membership, *, add_form=None, rename_form=None) -> dict:
    team = membership.team
    is_owner = membership.role == Role.OWNER
    members = list(selectors.membership_list_for_team(team=team))
    owners = sum(1 for m in members if m.role == Role.OWNER)
    shared_owner = is_owner and not team.is_personal
    return {
        "team": team,
        "membership": membership,
        "is_owner": is_owner,
        "members": members,
        # The last owner can neither leave nor be demoted: no button that would only fail.
        "last_owner": membership.role == Role.OWNER and owners == 1,
        "add_form": add_form or (MemberAddForm() if shared_owner else None),
        "rename_form": rename_form
        or (TeamRenameForm(team=team, initial={"name": team.name}) if shared_owner else None),
        "role_choices": Role.choices,
        "role_help": [(label, ROLE_HELP[value]) for value, label in Role.choices],
    }


@login_required
@require_GET
def team_detail(request: HttpRequest, team_id) -> HttpResponse:
    membership = access.membership_get_for_user(request.user, team_id)
    return render(request, "teams/team_detail.html", _detail_context(membership))


@login_required
@require_POST
def member_add(request: HttpRequest, team_id) -> HttpResponse:
    team = access.team_get_for_user(request.user, team_id, need=Role.OWNER)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        user = services.user_find(form.cleaned_data["identifier"])
        if user is None:
            form.add_error("identifier", "No user with that username or email.")
        elif not form.cleaned_data["confirm"]:
            # Show who the identifier names before adding them.
            try:
                services.member_add_check(team=team, user=user)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return render(
                    request,
                    "teams/member_add_confirm.html",
                    {"team": team, "candidate": user, "form": form},
                )
        elif form.cleaned_data["account"] != user.pk:
            form.add_error(
                "identifier",
                "This username or email now names another account than the one you confirmed. "
                "Check it and try again.",
            )
        else:
            try:
                services.member_add(
                    team=team,
                    user=user,
                    role=form.cleaned_data["role"],
                    actor=request.user,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, f"{user.get_username()} added as {form.cleaned_data['role']}."
                )
                return redirect("teams:detail", team_id=team.pk)
    membership = access.membership_for(request.user, team.pk)
    return render(
        request, "teams/team_detail.html", _detail_context(membership, add_form=form), status=400
    )


@login_required
@require_POST
def team_require_2fa(request: HttpRequest, team_id) -> HttpResponse:
    team = access.team_get_for_user(request.user, team_id, need=Role.OWNER)
    required = request.POST.get("require_2fa") == "1"
    try:
        services.team_require_2fa_set(team=team, required=required, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"{team.name} {'now requires' if required else 'no longer requires'} "
            f"two-factor authentication of its members.",
        )
    return redirect("teams:detail", team_id=team.pk)


@login_required
@require_POST
def member_role(request: HttpRequest, team_id, membership_id: int) -> HttpResponse:
    target = access.member_get_for_owner(request.user, team_id, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose owner, issuer or viewer.")
    else:
        try:
            services.member_change_role(
                membership=target,
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request, f"{target.user.get_username()} is now {form.cleaned_data['role']}."
            )
    return redirect("teams:detail", team_id=team_id)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, team_id, membership_id: int) -> HttpResponse:
    """Owners remove anyone; every member may remove themselves (leave). Confirmation first."""
    own = access.membership_get_for_user(request.user, team_id)
    if str(own.pk) == str(membership_id):
        target = own
    else:
        target = access.member_get_for_owner(request.user, team_id, membership_id)
    leaving = target.user_id == request.user.pk
    blocked = ""
    if target.team.is_personal:
        blocked = "You cannot leave your personal team."
    elif selectors.membership_is_last_owner(target):
        blocked = (
            "The last owner cannot leave or be removed. Make someone else owner first."
            if leaving
            else "The last owner cannot be removed. Make someone else owner first."
        )
    if request.method == "POST":
        try:
            services.member_remove(membership=target, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("teams:detail", team_id=team_id)
        if leaving:
            messages.success(request, f"You left {target.team.name}.")
            return redirect("teams:list")
        messages.success(request, f"{target.user.get_username()} removed from {target.team.name}.")
        return redirect("teams:detail", team_id=team_id)
    return render(
        request,
        "teams/member_remove.html",
        {"target": target, "team": target.team, "leaving": leaving, "blocked": blocked},
    )


@login_required
@require_POST
def team_rename(request: HttpRequest, team_id) -> HttpResponse:
    """Owners rename a shared team; audited."""
    membership = access.membership_get_for_user(request.user, team_id, need=Role.OWNER)
    team = membership.team
    form = TeamRenameForm(request.POST, team=team)
    if form.is_valid():
        old = team.name
        try:
            services.team_rename(team=team, name=form.cleaned_data["name"], actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Team “{old}” is now called “{team.name}”.")
            return redirect("teams:detail", team_id=team.pk)
    return render(
        request,
        "teams/team_detail.html",
        _detail_context(membership, rename_form=form),
        status=400,
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_delete(request: HttpRequest, team_id) -> HttpResponse:
    """Owners delete a shared team after a confirmation; refused (and said why) while it has
    active tokens or credentials. Audited."""
    membership = access.membership_get_for_user(request.user, team_id, need=Role.OWNER)
    team = membership.team
    if team.is_personal:
        messages.error(request, "A personal team cannot be deleted.")
        return redirect("teams:detail", team_id=team.pk)
    blockers = selectors.team_delete_blockers(team=team)
    if request.method == "POST" and not blockers and request.POST.get("confirm_name") == team.name:
        name = team.name
        try:
            services.team_delete(team=team, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("teams:delete", team_id=team_id)
        messages.success(request, f"Team “{name}” deleted. Its audit trail is kept.")
        return redirect("teams:list")
    mistyped = request.method == "POST" and not blockers
    return render(
        request,
        "teams/team_delete.html",
        {
            "team": team,
            "blockers": blockers,
            "mistyped": mistyped,
            **selectors.team_delete_summary(team=team),
        },
        status=400 if mistyped or (request.method == "POST" and blockers) else 200,
    )


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    form = TeamSwitchForm(request.POST)
    if form.is_valid():
        team = access.team_get_for_user(request.user, form.cleaned_data["team"])
        access.set_current_team(request, team)
        messages.info(request, f"Now working in {team.name}.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "dashboard"
    return redirect(next_url)
