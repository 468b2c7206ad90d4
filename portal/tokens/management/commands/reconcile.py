from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from portal.tokens import services


class Command(BaseCommand):
    help = (
        "Finish what a crash or database outage interrupted (older than --older-than minutes): "
        "mark 'pending' issuances failed, complete revocations that were requested but never "
        "recorded, and ask gateways with an introspection URL about active tokens. Audited. Safe "
        "to run from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=15, metavar="MINUTES")
        parser.add_argument(
            "--no-introspect",
            action="store_true",
            help="Do not ask gateways about active tokens (RFC 7662 introspection).",
        )

    def handle(self, *args, older_than: int, **opts):
        if older_than < 1:
            raise CommandError(
                "--older-than must be at least 1 minute (a request may still be running)."
            )
        resolved = services.token_reconcile(
            older_than=timedelta(minutes=older_than), introspect=not opts["no_introspect"]
        )
        self.stdout.write(
            f"Reconciled {len(resolved)} issuance(s) (pending or unfinished older than "
            f"{older_than} min, or no longer active at their gateway)."
        )
