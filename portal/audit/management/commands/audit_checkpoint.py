from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.audit.chain import AuditWriteError
from portal.audit.verify import (
    CheckpointError,
    checkpoint_append,
    checkpoint_head,
    checkpoint_json,
    checkpoint_line,
)


class Command(BaseCommand):
    help = (
        "Checkpoint the audit trail's head: append 'seq hash hmac' to FILE (default "
        "PORTAL_AUDIT_CHECKPOINT_FILE) and print it; --print only prints it, for a log system "
        "(--json: as one JSON object). Run it from cron and keep the lines off this machine; "
        "verify_audit then detects a log truncated after a checkpoint."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", type=Path, help="default: PORTAL_AUDIT_CHECKPOINT_FILE"
        )
        parser.add_argument(
            # Not --stdout: call_command() would map its own stdout= argument onto that option.
            "--print",
            action="store_true",
            dest="print_only",
            help="print the checkpoint only, write no file",
        )
        parser.add_argument(
            "--json", action="store_true", help="print it as one JSON object (for log systems)"
        )

    def handle(self, *args, file: Path | None, print_only: bool, json: bool, **options):
        if print_only and file is not None:
            raise CommandError("--print writes no file: drop FILE or --print.")
        configured = settings.PORTAL_AUDIT_CHECKPOINT_FILE
        if file is None and configured and not print_only:
            file = Path(configured)
        if file is None and not print_only:
            raise CommandError(
                "Name a FILE, set PORTAL_AUDIT_CHECKPOINT_FILE, or print only with --print."
            )
        try:
            head = checkpoint_head()
            if file is not None:
                checkpoint_append(file, head)
        except (CheckpointError, AuditWriteError) as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot write {file}: {exc}") from exc
        self.stdout.write(checkpoint_json(*head) if json else checkpoint_line(*head))
