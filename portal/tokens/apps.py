from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "portal.tokens"
    label = "tokens"

    def ready(self):
        from portal.vault import crypto

        crypto.register_encrypted_fields(
            "tokens.Issuance", "access_token_encrypted", "refresh_token_encrypted"
        )
