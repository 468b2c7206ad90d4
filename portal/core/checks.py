"""System checks for the portal's own settings (registered in accounts' AppConfig.ready)."""

import ipaddress
import os
import stat
from pathlib import Path

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


@checks.register(checks.Tags.security)
def trusted_proxies_are_addresses(app_configs, **kwargs):
    """PORTAL_TRUSTED_PROXIES holds addresses or networks, nothing the portal would have to
    guess about."""
    bad = []
    for entry in settings.PORTAL_TRUSTED_PROXIES:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            bad.append(entry)
    if bad:
        return [
            checks.Error(
                f"PORTAL_TRUSTED_PROXIES has entries that are not addresses or networks: "
                f"{', '.join(repr(b) for b in bad)}.",
                hint="List the proxies' IP addresses or CIDR networks, e.g. 10.0.0.5,10.1.0.0/16.",
                id="portal.E002",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def retired_proxy_settings(app_configs, **kwargs):
    """PORTAL_BEHIND_PROXY and PORTAL_PROXY_COUNT trusted X-Forwarded-For from any connection."""
    retired = [n for n in ("PORTAL_BEHIND_PROXY", "PORTAL_PROXY_COUNT") if n in os.environ]
    if retired:
        return [
            checks.Warning(
                f"{' and '.join(retired)} are no longer read: X-Forwarded-For and X-Request-ID "
                f"are honoured only from PORTAL_TRUSTED_PROXIES.",
                hint="Set PORTAL_TRUSTED_PROXIES to your proxies' addresses and remove these.",
                id="portal.W002",
            )
        ]
    return []


def _private_files() -> list:
    """Files that hold secrets: the .env read at start-up and a SQLite database."""
    files = []
    if settings.PORTAL_ENV_FILE_PATH:
        files.append(Path(settings.PORTAL_ENV_FILE_PATH))
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and str(database["NAME"]) != ":memory:":
        files.append(Path(database["NAME"]))
    return [f for f in files if f.is_file()]


@checks.register(checks.Tags.security, deploy=True)
def private_files_are_private(app_configs, **kwargs):
    """New ones are created owner-only; older ones may not be."""
    open_to_others = [f for f in _private_files() if stat.S_IMODE(f.stat().st_mode) & 0o077]
    if open_to_others:
        return [
            checks.Warning(
                f"Readable by other users of this machine: {', '.join(map(str, open_to_others))}.",
                hint="chmod 600 them (they hold secrets or the database).",
                id="portal.W003",
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
                id="portal.W010",
            )
        )
    if settings.PORTAL_ALLOW_SIGNUP:
        found.append(
            checks.Warning(
                "PORTAL_ALLOW_SIGNUP is on: anyone who reaches the portal can create an account.",
                hint="Unset it and create accounts with `manage.py create_user` or the admin.",
                id="portal.W011",
            )
        )
    audit_key = settings.PORTAL_AUDIT_KEY or ""
    if audit_key and len(audit_key) < MIN_AUDIT_KEY_LENGTH:
        found.append(
            checks.Warning(
                f"PORTAL_AUDIT_KEY is shorter than {MIN_AUDIT_KEY_LENGTH} characters.",
                hint="Use a long random value; changing it needs a new chain (see the README).",
                id="portal.W012",
            )
        )
    if audit_key and audit_key == settings.SECRET_KEY:
        found.append(
            checks.Warning(
                "PORTAL_AUDIT_KEY is the same as SECRET_KEY: whoever learns one can forge the "
                "audit chain.",
                hint="Give the audit key its own random value.",
                id="portal.W013",
            )
        )
    return found
