from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """django.contrib.admin with the portal's site (no login form of its own)."""

    default_site = "portal.accounts.admin_site.PortalAdminSite"
