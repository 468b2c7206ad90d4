"""The Django admin without a login of its own: one login for the whole portal.

The admin's login form would authenticate with the same backends but skip the portal's audit
events; so /admin/login/ sends people to the portal's login (which comes back to the admin
afterwards) and /admin/logout/ is the portal's audited logout.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def _second_factor_missing(request) -> bool:
    return settings.PORTAL_REQUIRE_2FA_FOR_STAFF and not request.user.is_verified()


class PortalAdminSite(admin.AdminSite):
    def has_permission(self, request):
        """Staff, and - with PORTAL_REQUIRE_2FA_FOR_STAFF - from a session that passed
        two-factor authentication."""
        return super().has_permission(request) and not _second_factor_missing(request)

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_active and user.is_staff and _second_factor_missing(request):
            messages.warning(
                request, "The admin needs two-factor authentication. Set it up, then log in again."
            )
            return redirect("accounts:two_factor")
        next_url = request.GET.get("next", "")
        url = reverse("accounts:login")
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            url += "?" + urlencode({"next": next_url}, safe="/")
        return redirect(url)

    def logout(self, request, extra_context=None):
        from portal.accounts.views import logout_view

        return logout_view(request)
