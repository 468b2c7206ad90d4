"""System checks of the vault: a malformed keyring stops start-up with a message naming the problem."""

from django.conf import settings
from django.core import checks

from portal.vault import crypto

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
