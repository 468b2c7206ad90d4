"""System checks of the vault: a malformed keyring stops start-up with a message naming the problem."""

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from portal.vault import crypto, selectors

# One id per problem, so operators (and tests) can tell them apart.
KEYRING_ERROR_IDS = {
    "empty": "vault.E001",
    "format": "vault.E002",
    "base64": "vault.E003",
    "length": "vault.E004",
    "duplicate": "vault.E005",
}

_HINT = (
    "PORTAL_ENCRYPTION_KEYS is a comma-separated list of kid:base64key entries, the first being "
    "the active key, each key 32 random bytes. `python manage.py generate_encryption_key` prints one."
)


@checks.register(checks.Tags.security)
def keyring_well_formed(app_configs=None, **kwargs):
    raw = getattr(settings, "PORTAL_ENCRYPTION_KEYS", "") or ""
    if not raw.strip():
        # An unset keyring is reported once, by portal.E001.
        return []
    try:
        crypto.parse_keyring(raw)
    except crypto.KeyringError as exc:
        return [
            checks.Error(
                f"PORTAL_ENCRYPTION_KEYS is malformed: {exc}",
                hint=_HINT,
                id=KEYRING_ERROR_IDS[exc.code],
            )
        ]
    return []


@checks.register(checks.Tags.database)
def stored_values_openable(app_configs=None, databases=None, **kwargs):
    """Values sealed under a key that is no longer configured (``check --database default``)."""
    if not databases:
        return []
    try:
        counts = selectors.unopenable_value_counts()
    except crypto.KeyringError:
        return []  # reported by keyring_well_formed
    except DatabaseError:
        return []  # no tables yet: `migrate` runs this check before it creates them
    total = sum(counts.values())
    if not total:
        return []
    fields = ", ".join(f"{name}={n}" for name, n in sorted(counts.items()) if n)
    return [
        checks.Warning(
            f"{total} stored value(s) cannot be opened by any configured key ({fields}).",
            hint="Put the removed key back into PORTAL_ENCRYPTION_KEYS (not first), then run "
            "`manage.py rotate_encryption_keys`; `--report` lists the key ids involved.",
            id="vault.W001",
        )
    ]
