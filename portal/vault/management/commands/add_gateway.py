from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.vault import services
from portal.vault.models import ClientAuth


class Command(BaseCommand):
    help = "Register a Token API gateway (idempotent by name: an existing one is left unchanged)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--token-url", required=True)
        parser.add_argument("--revoke-url", required=True)
        parser.add_argument(
            "--introspection-url", default="", help="RFC 7662 endpoint, if the gateway has one."
        )
        parser.add_argument(
            "--username-template",
            default="{username}",
            help="e.g. {email}@{org_key} (API Cloud), {username}, {username}@{tenant}",
        )
        parser.add_argument("--client-auth", choices=ClientAuth.values, default=ClientAuth.BASIC)
        parser.add_argument("--ca-bundle", default="", help="PEM file to trust for this gateway.")
        parser.add_argument("--sandbox", action="store_true", help="Mark as the demo gateway.")

    def handle(self, *args, **opts):
        try:
            gateway, created = services.gateway_create(
                name=opts["name"],
                token_url=opts["token_url"],
                revoke_url=opts["revoke_url"],
                introspection_url=opts["introspection_url"],
                username_template=opts["username_template"],
                client_auth=opts["client_auth"],
                ca_bundle=opts["ca_bundle"],
                is_sandbox=opts["sandbox"],
                actor_label="manage.py add_gateway",
            )
        except ValidationError as exc:
            problems = (
                "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
                if hasattr(exc, "error_dict")
                else " ".join(exc.messages)
            )
            raise CommandError(f"Invalid gateway - {problems}") from exc
        if created:
            self.stdout.write(self.style.SUCCESS(f"Gateway “{gateway.name}” created."))
        else:
            self.stdout.write(f"Gateway “{gateway.name}” already exists (unchanged).")
