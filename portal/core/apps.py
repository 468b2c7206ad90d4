from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure: request context, middleware, logging, paging, CSV, system checks."""

    name = "portal.core"
    label = "core"

    def ready(self):
        # checks: importing registers the portal's system checks.
        from portal.core import checks, dbsession  # noqa: F401

        dbsession.connect()
