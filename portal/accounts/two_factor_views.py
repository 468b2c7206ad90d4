"""Two-factor pages: the code step of the login, enrolment, recovery codes, disabling."""

from __future__ import annotations

import time

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, user_login_failed
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from portal.accounts import two_factor
from portal.accounts.lockout import ACCOUNT_CREDENTIAL

PENDING = "_portal_2fa_pending"
PENDING_LIFETIME = 300  # seconds between the password and the code


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


def start_pending_login(request: HttpRequest, user, *, next_url: str) -> HttpResponse:
    """The password was right and the account has 2FA: remember who, ask for the code."""
    request.session[PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "next": next_url,
        "since": int(time.time()),
    }
    return redirect("accounts:login_code")


def _pending_user(request: HttpRequest):
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("since", 0) > PENDING_LIFETIME:
        request.session.pop(PENDING, None)
        return None, None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return user, pending


def _count_failure(request: HttpRequest, user) -> None:
    """A wrong code counts against the account's lockout counter, like a wrong password."""
    user_login_failed.send(
        sender=__name__,
        credentials={"username": user.get_username(), ACCOUNT_CREDENTIAL: user.pk},
        request=request,
    )


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    from portal.accounts.views import finish_login, locked_out

    user, pending = _pending_user(request)
    if user is None:
        messages.info(request, "Please log in again.")
        return redirect("accounts:login")
    credentials = {"username": user.get_username(), ACCOUNT_CREDENTIAL: user.pk}
    if AxesProxyHandler.is_locked(request, credentials):
        return locked_out(request, credentials=credentials)
    form = CodeForm(request.POST or None)
    recovery = request.GET.get("recovery") == "1" or request.POST.get("recovery") == "1"
    if request.method == "POST" and form.is_valid():
        device = two_factor.code_verify(user=user, code=form.cleaned_data["code"])
        if device is not None:
            del request.session[PENDING]
            user.backend = pending["backend"]
            user.otp_device = device  # django-otp marks the session verified at login
            finish_login(request, user)
            if device.persistent_id.startswith("otp_static"):
                left = two_factor.recovery_codes_left(user=user)
                messages.warning(
                    request,
                    f"You logged in with a recovery code; {left} left. If you lost your "
                    f"device, set up two-factor authentication again in your profile.",
                )
            return redirect(pending["next"] or settings.LOGIN_REDIRECT_URL)
        two_factor.code_failure_record(user=user, purpose="login")
        _count_failure(request, user)
        form.add_error("code", "That code is not right. Check your app's clock and try again.")
    return render(request, "accounts/login_code.html", {"form": form, "recovery": recovery})


@login_required
@never_cache
def two_factor_status(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/two_factor.html",
        {
            "enabled": two_factor.is_enabled(user),
            "required_by": two_factor.required_for(user),
            "codes_left": two_factor.recovery_codes_left(user=user),
            "form": CodeForm(),
        },
    )


@sensitive_post_parameters("code")
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_factor.is_enabled(user):
        return redirect("accounts:two_factor")
    device = two_factor.totp_enrolment_start(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.totp_enrolment_confirm(
            user=user,
            device_id=device.pk,
            code=two_factor.normalize_code(form.cleaned_data["code"]),
        )
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)  # this session is verified from now on
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
        form.add_error("code", "That code is not right. Check your app's clock and try again.")
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            # Safe: segno draws the otpauth URL as path geometry (no text of it in the markup);
            # the only text is our constant title.
            "qr_svg": mark_safe(two_factor.enrolment_qr_svg(device)),  # noqa: S308
            "secret": two_factor.enrolment_secret(device),
        },
    )


@sensitive_post_parameters("code")
@login_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = CodeForm(request.POST)
    credentials = {"username": user.get_username(), ACCOUNT_CREDENTIAL: user.pk}
    if AxesProxyHandler.is_locked(request, credentials):
        messages.error(request, "Too many wrong codes. Try again later.")
        return redirect("accounts:two_factor")
    if form.is_valid() and two_factor.code_verify(user=user, code=form.cleaned_data["code"]):
        two_factor.two_factor_disable(user=user)
        messages.success(request, "Two-factor authentication is off.")
        return redirect("accounts:two_factor")
    two_factor.code_failure_record(user=user, purpose="disable")
    _count_failure(request, user)
    request.axes_locked_out = False  # stay on this page; the next try is refused above
    messages.error(request, "That code is not right; two-factor authentication stays on.")
    return redirect("accounts:two_factor")
