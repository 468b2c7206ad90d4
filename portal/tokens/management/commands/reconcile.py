from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from portal.tokens import services


class Command(BaseCommand):
    help = (
        "Finish what a crash or database outage interrupted (older than --older-than minutes): "
        "mark 'pending' issuances failed, and complete revocations that were requested but never "
        "recorded. Audited. Safe to run from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=15, metavar="MINUTES")

    def handle(self, *args, older_than: int, **opts):
        if older_than < 1:
            raise CommandError(
                "--older-than must be at least 1 minute (a request may still be running)."
            )
        resolved = services.token_reconcile(older_than=timedelta(minutes=older_than))
        self.stdout.write(
            f"Reconciled {len(resolved)} pending issuance(s) older than {older_than} min."
        )
