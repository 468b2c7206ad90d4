import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts import selectors, services, two_factor, two_factor_views
from portal.accounts.forms import LoginForm, ProfileForm, SignupForm
from portal.audit.chain import AuditWriteError

logger = logging.getLogger(__name__)


def _safe_next(request: HttpRequest) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""


def finish_login(request: HttpRequest, user, backend: str | None = None) -> None:
    """The audit event first, then the session: a login whose record fails leaves no session
    (AuditWriteError goes on to the 503 page). Whatever session the browser had ends too, as it
    would have on success. Called once every factor has been checked."""
    try:
        services.login_record_success(user=user)
    except AuditWriteError:
        request.session.flush()
        raise
    login(request, user, backend=backend)


def _lockout_message() -> str:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed logins for this account from your address. "
        f"Login is locked for {minutes} minutes; try again later or ask an administrator."
    )


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            if two_factor.is_enabled(user):
                return two_factor_views.start_pending_login(
                    request, user, next_url=_safe_next(request)
                )
            finish_login(request, user)
            return redirect(_safe_next(request) or settings.LOGIN_REDIRECT_URL)
        if not getattr(request, "axes_locked_out", False):
            services.login_record_failure(attempted_username=request.POST.get("username", ""))
    return render(
        request,
        "accounts/login.html",
        {"form": form, "next": _safe_next(request), "signup": settings.PORTAL_ALLOW_SIGNUP},
    )


@sensitive_post_parameters("password")
def locked_out(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    """django-axes calls this when a login is refused because of too many failures (a password
    or, at the code step, a two-factor code)."""
    attempted = request.POST.get("username", "") if request.method == "POST" else ""
    if not attempted and credentials:
        attempted = str(credentials.get("username") or "")
    request.session.pop(two_factor_views.PENDING, None)
    services.login_record_failure(attempted_username=attempted, locked_out=True)
    form = LoginForm(request, initial={"username": attempted[:254]})
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "lockout_message": _lockout_message(),
            "signup": settings.PORTAL_ALLOW_SIGNUP,
        },
        status=429,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Always ends the session: a logout that cannot be recorded is logged, not refused."""
    if request.user.is_authenticated:
        try:
            services.logout_record(user=request.user)
        except AuditWriteError:
            logger.error(
                "The logout of user %s could not be written to the audit trail; "
                "the session was ended anyway.",
                request.user.pk,
                exc_info=True,
            )
    logout(request)
    messages.info(request, "You have logged out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_change(
            user=request.user,
            new_password=form.cleaned_data["new_password1"],
            current_session_key=request.session.session_key,
        )
        update_session_auth_hash(request, request.user)
        messages.success(request, "Password changed. Your other sessions have been logged out.")
        return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {
        "display_name": user.display_name,
        "email": user.email,
        "api_store_email": user.api_store_email,
    }
    form = ProfileForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=user, **form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.PORTAL_ALLOW_SIGNUP:
        raise Http404("Sign-up is disabled.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:  # taken by another sign-up since the form checked
            form.add_error(None, exc)
        else:
            finish_login(request, user, backend="portal.accounts.backends.UsernameOrEmailBackend")
            messages.success(
                request,
                "Welcome! Your account and personal team are ready. Add your login email and "
                "API Store email in your profile.",
            )
            return redirect("dashboard")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_GET
def sessions(request: HttpRequest) -> HttpResponse:
    rows = selectors.session_list_for_user(
        user=request.user, current_session_key=request.session.session_key
    )
    idle_minutes = settings.PORTAL_SESSION_IDLE_TIMEOUT // 60
    return render(
        request, "accounts/sessions.html", {"sessions": rows, "idle_minutes": idle_minutes}
    )


@login_required
@require_http_methods(["GET", "POST"])
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    """Confirmation page (GET), then every other session of the user ends (POST)."""
    if request.method == "POST":
        ended = services.sessions_end_others(
            user=request.user, current_session_key=request.session.session_key
        )
        messages.success(request, f"Logged out {ended} other session{'s' if ended != 1 else ''}.")
        return redirect("accounts:sessions")
    others = [
        s
        for s in selectors.session_list_for_user(
            user=request.user, current_session_key=request.session.session_key
        )
        if not s.current
    ]
    return render(request, "accounts/sessions_end_others.html", {"others": others})
