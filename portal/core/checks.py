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


# HMAC-SHA256 keys shorter than its block's half give up strength; 32 characters of random text
# is what `python -c "import secrets; print(secrets.token_urlsafe(48))"` comfortably exceeds.
MIN_AUDIT_KEY_LENGTH = 32


@checks.register(checks.Tags.security, deploy=True)
def production_hardening(app_configs, **kwargs):
    """Settings that are right for development and wrong for production."""
    if settings.DEBUG:
        return []
    found = []
    if settings.PORTAL_ALLOW_HTTP_GATEWAYS:
        found.append(
            checks.Warning(
                "PORTAL_ALLOW_HTTP_GATEWAYS is on: consumer secrets, API Store passwords and tokens "
                "may be sent to gateways over plain HTTP.",
                hint="Unset it; issuance refuses plain-HTTP gateways while it is off.",
                id="portal.W002",
            )
        )
    if settings.PORTAL_ALLOW_SIGNUP:
        found.append(
            checks.Warning(
                "PORTAL_ALLOW_SIGNUP is on: anyone who reaches the portal can create an account.",
                hint="Unset it and create accounts with `manage.py create_user` or the admin.",
                id="portal.W003",
            )
        )
    audit_key = settings.PORTAL_AUDIT_KEY or ""
    if audit_key and len(audit_key) < MIN_AUDIT_KEY_LENGTH:
        found.append(
            checks.Warning(
                f"PORTAL_AUDIT_KEY is shorter than {MIN_AUDIT_KEY_LENGTH} characters.",
                hint="Use a long random value; changing it needs a new chain (see the README).",
                id="portal.W004",
            )
        )
    if audit_key and audit_key == settings.SECRET_KEY:
        found.append(
            checks.Warning(
                "PORTAL_AUDIT_KEY is the same as SECRET_KEY: whoever learns one can forge the "
                "audit chain.",
                hint="Give the audit key its own random value.",
                id="portal.W005",
            )
        )
    return found
