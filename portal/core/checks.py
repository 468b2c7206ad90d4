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


@checks.register(checks.Tags.security)
def trusted_proxies_are_addresses(app_configs, **kwargs):
    """PORTAL_TRUSTED_PROXIES holds addresses or networks, nothing the portal would have to
    guess about."""
    import ipaddress

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
    import os

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
    from pathlib import Path

    from portal import settings as portal_settings

    files = []
    if portal_settings._env_file:
        files.append(Path(portal_settings._env_file))
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and str(database["NAME"]) != ":memory:":
        files.append(Path(database["NAME"]))
    return [f for f in files if f.is_file()]


@checks.register(checks.Tags.security, deploy=True)
def private_files_are_private(app_configs, **kwargs):
    """New ones are created owner-only; older ones may not be."""
    import stat

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
