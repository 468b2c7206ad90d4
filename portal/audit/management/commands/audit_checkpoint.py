from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit.chain import AuditWriteError
from portal.audit.verify import CheckpointError, checkpoint_append


class Command(BaseCommand):
    help = (
        "Append 'seq hash hmac' for the audit trail's current head to FILE. Ship the file off "
        "this machine; verify_audit --checkpoint FILE then detects a truncated log."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            line = checkpoint_append(file)
        except (CheckpointError, AuditWriteError) as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot write {file}: {exc}") from exc
        self.stdout.write(line)
