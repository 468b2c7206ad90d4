from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from portal import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", views.favicon),
    # The API key page lives under the account (its own app, so before accounts' own URLs).
    path("accounts/api-keys/", include("portal.api.urls")),
    path("accounts/", include("portal.accounts.urls")),
    path("teams/", include("portal.teams.urls")),
    path("credentials/", include("portal.vault.urls")),
    path("tokens/", include("portal.tokens.urls")),
    path("audit/", include("portal.audit.urls")),
    path("admin/", admin.site.urls),
    # The JSON API: bearer API keys only, RFC 9457 errors (portal/api/v1/api.py).
    path("api/v1/", include("portal.api.v1.urls")),
]

# The demo gateway exists only when asked for; production leaves PORTAL_SANDBOX off.
if settings.PORTAL_SANDBOX:
    urlpatterns.append(path("sandbox/", include("portal.sandbox.urls")))

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
