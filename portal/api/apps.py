from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The JSON API (``/api/v1/``) and the API keys it is used with."""

    name = "portal.api"
    label = "api"

    def ready(self):
        from django.urls import reverse

        from portal.audit.targets import register_target

        register_target("api.apikey", lambda event: reverse("api_keys:list"))
