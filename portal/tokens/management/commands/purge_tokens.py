from django.conf import settings
from django.core.management.base import BaseCommand

from portal.tokens import services


class Command(BaseCommand):
    help = (
        "Wipe stored (encrypted) tokens that can no longer be used: those of renewed, revoked and "
        "failed issuances, and of active ones expired for longer than PORTAL_REFRESH_TOKEN_LIFETIME. "
        "Audited. Safe to run from cron."
    )

    def handle(self, *args, **opts):
        count = services.token_purge()
        self.stdout.write(
            f"Purged stored tokens of {count} issuance(s) "
            f"(refresh lifetime {settings.PORTAL_REFRESH_TOKEN_LIFETIME} s)."
        )
