import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.accounts import services as accounts
from portal.sandbox import keys
from portal.teams.services import personal_team_ensure
from portal.vault import services as vault
from portal.vault.models import Credential

DEMO_USERNAME = "demo"
DEMO_API_STORE_EMAIL = "demo@example.com"
DEMO_ORG_KEY = "demoorg"
SANDBOX_GATEWAY = "Sandbox"
DEMO_CREDENTIAL = "Sandbox demo app"
DEMO_SCOPES = ["default", "read"]


class Command(BaseCommand):
    help = (
        "Development only: create (or refresh) the demo account, the sandbox gateway's demo "
        "application and user, the Sandbox gateway and a demo credential in the demo user's "
        "personal team; print the logins. Idempotent."
    )

    def handle(self, *args, **opts):
        if not settings.DEBUG:
            raise CommandError("demo_setup is for development; it refuses to run with DEBUG off.")
        password = os.environ.get("PORTAL_DEMO_PASSWORD", "")
        if not password:
            raise CommandError(
                "PORTAL_DEMO_PASSWORD is not set (scripts/dev.py writes it to .env)."
            )
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=DEMO_USERNAME).first()
            if user is None:
                user = accounts.user_create(
                    username=DEMO_USERNAME,
                    password=password,
                    email="demo@example.com",
                    display_name="Demo Developer",
                    api_store_email=DEMO_API_STORE_EMAIL,
                    is_staff=True,
                    is_superuser=True,
                )
            elif not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            team = personal_team_ensure(user=user)
        if settings.PORTAL_SANDBOX:
            # The sandbox user is the username the Sandbox gateway's template composes for the
            # demo user: {email}@{org_key}.
            email = user.api_store_email or DEMO_API_STORE_EMAIL
            call_command("sandbox_seed", username=f"{email}@{DEMO_ORG_KEY}", stdout=self.stdout)
            self._sandbox_credential(user=user, team=team)
        line = "-" * 60
        self.stdout.write(line)
        # The portal serves its own sandbox, so the sandbox's base URL names the portal's address.
        portal_url = settings.PORTAL_SANDBOX_BASE_URL.removesuffix("/").removesuffix("/sandbox")
        self.stdout.write(f"  Demo login for {portal_url}/")
        self.stdout.write(f"    username: {DEMO_USERNAME}")
        self.stdout.write(f"    password: {password}")
        self.stdout.write(line)

    def _sandbox_credential(self, *, user, team) -> None:
        """Register the Sandbox gateway and the demo credential through the vault's services
        (which encrypt and audit), creating or correcting them; idempotent."""
        base = settings.PORTAL_SANDBOX_BASE_URL.rstrip("/")
        gateway, created = vault.gateway_create(
            name=SANDBOX_GATEWAY,
            token_url=f"{base}/token",
            revoke_url=f"{base}/revoke",
            username_template="{email}@{org_key}",
            client_auth="basic",
            is_sandbox=True,
            actor_label="demo_setup",
        )
        if created:
            self.stdout.write(f"  vault: created gateway {SANDBOX_GATEWAY!r} ({base}/token)")
        elif gateway.is_sandbox and gateway.token_url != f"{base}/token":
            # The portal now runs at another address (PORTAL_PORT, PORTAL_HOST): its own sandbox
            # moved with it. Audited like any gateway change.
            old_url = gateway.token_url
            vault.gateway_update(
                gateway=gateway,
                token_url=f"{base}/token",
                revoke_url=f"{base}/revoke",
                actor_label="demo_setup",
            )
            self.stdout.write(
                f"  vault: gateway {SANDBOX_GATEWAY!r} moved from {old_url} to {base}/token"
            )
        key, secret = keys.demo_consumer_key(), keys.demo_consumer_secret()
        credential = Credential.objects.filter(
            team=team, name=DEMO_CREDENTIAL, archived_at__isnull=True
        ).first()
        if credential is None:
            vault.credential_create(
                team=team,
                name=DEMO_CREDENTIAL,
                gateway=gateway,
                consumer_key=key,
                consumer_secret=secret,
                org_key=DEMO_ORG_KEY,
                default_scopes=DEMO_SCOPES,
                allow_password=True,
                allow_client_credentials=True,
                actor=user,
            )
            self.stdout.write(f"  vault: created credential {DEMO_CREDENTIAL!r} in {team.name}")
            return
        try:
            stored = vault.credential_secrets(credential=credential, actor=user)
            current = (stored.consumer_key, stored.consumer_secret, stored.org_key)
        except vault.CredentialUnreadable:
            current = None
        if current != (key, secret, DEMO_ORG_KEY) or credential.gateway_id != gateway.pk:
            # SECRET_KEY (from which the demo keys derive) or the encryption keys changed.
            vault.credential_update(
                credential=credential,
                actor=user,
                name=credential.name,
                gateway=gateway,
                default_scopes=list(credential.default_scopes or DEMO_SCOPES),
                allow_password=credential.allow_password,
                allow_client_credentials=credential.allow_client_credentials,
                consumer_key=key,
                consumer_secret=secret,
                org_key=DEMO_ORG_KEY,
            )
            self.stdout.write(f"  vault: updated credential {DEMO_CREDENTIAL!r} in {team.name}")
