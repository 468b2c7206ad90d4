"""System checks for the portal's own settings (registered in accounts' AppConfig.ready)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def keys_present(app_configs, **kwargs):
    """The encryption keyring and audit key have no usable default, even in development."""
    errors = []
    for name in ("PORTAL_ENCRYPTION_KEYS", "PORTAL_AUDIT_KEY"):
        if not getattr(settings, name, ""):
            errors.append(
                checks.Error(
                    f"{name} is not set.",
                    hint="Set it in the environment or .env (see .env.example).",
                    id="portal.E001",
                )
            )
    return errors


@checks.register(checks.Tags.security, deploy=True)
def sandbox_off_in_production(app_configs, **kwargs):
    if settings.PORTAL_SANDBOX and not settings.DEBUG:
        return [
            checks.Warning(
                "PORTAL_SANDBOX is on while DEBUG is off: the demo gateway is mounted in production.",
                hint="Unset PORTAL_SANDBOX in production.",
                id="portal.W001",
            )
        ]
    return []
