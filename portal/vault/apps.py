from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "portal.vault"
    label = "vault"
    verbose_name = "Credential vault"

    def ready(self):
        from portal.vault import (
            checks,  # noqa: F401  (registers the keyring check)
            crypto,
        )

        crypto.register_encrypted_fields(
            "vault.Credential",
            "consumer_key_encrypted",
            "consumer_secret_encrypted",
            "org_key_encrypted",
        )
