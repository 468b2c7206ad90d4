import secrets

from django.core.management.base import BaseCommand, CommandError

from portal.vault import crypto


class Command(BaseCommand):
    help = (
        "Print a new kid:base64key entry for PORTAL_ENCRYPTION_KEYS. Put it first to make it the "
        "active key, keep the old ones after it, then run rotate_encryption_keys."
    )
    # Must work before any key is configured (the keyring checks would refuse to run).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--kid", help="Key id (default: k + 8 random hex digits).")

    def handle(self, *args, **options):
        kid = options.get("kid") or f"k{secrets.token_hex(4)}"
        if not crypto.KEY_ID_RE.match(kid):
            raise CommandError("A key id is 1-32 letters, digits, '_' or '-'.")
        self.stdout.write(f"{kid}:{crypto.generate_key()}")
