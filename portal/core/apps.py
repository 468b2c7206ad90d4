from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure: request context, middleware, logging, paging, CSV, system checks."""

    name = "portal.core"
    label = "core"

    def ready(self):
        from portal.core import checks  # noqa: F401  (registers the portal's system checks)
