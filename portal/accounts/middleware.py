"""Members of a team that requires two-factor authentication enrol before using team pages."""

from django.contrib import messages
from django.shortcuts import redirect

from portal.accounts import two_factor
from portal.teams import access as team_access

# Pages a person without 2FA may always use: their account (login, 2FA enrolment, profile,
# sessions, logout) and the team list. The dashboard, credentials, tokens, history and audit
# span every team one belongs to, so they wait until the person has enrolled.
_ALWAYS_ALLOWED_APPS = {"accounts", "admin"}
_ALWAYS_ALLOWED_VIEWS = {"teams:list", "teams:switch"}


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if (
            match is None
            or (not match.app_name and match.url_name != "dashboard")  # health check, favicon
            or match.app_name in _ALWAYS_ALLOWED_APPS
            or match.view_name in _ALWAYS_ALLOWED_VIEWS
        ):
            return None
        memberships = team_access.memberships_of(request)
        teams = [r for r in two_factor.required_for(user, memberships) if r != "staff"]
        if not teams:
            return None
        messages.warning(
            request,
            f"{', '.join(teams)} requires two-factor authentication. Set it up to continue.",
        )
        return redirect("accounts:two_factor")
