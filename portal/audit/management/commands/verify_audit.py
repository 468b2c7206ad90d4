from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit.chain import AuditWriteError
from portal.audit.verify import ChainBroken, CheckpointError, read_checkpoints, verify_chain


class Command(BaseCommand):
    help = (
        "Recompute every audit hash and check seq contiguity; with --checkpoint also check the "
        "chain against checkpoint lines written by audit_checkpoint (detects truncation). "
        "Exits non-zero naming the first bad seq."
    )

    def add_arguments(self, parser):
        parser.add_argument("--checkpoint", type=Path, help="file written by audit_checkpoint")

    def handle(self, *args, checkpoint: Path | None = None, **options):
        checkpoints = {}
        if checkpoint is not None:
            try:
                checkpoints = read_checkpoints(checkpoint)
            except OSError as exc:
                raise CommandError(f"Cannot read checkpoint file {checkpoint}: {exc}") from exc
            except AuditWriteError as exc:
                raise CommandError(str(exc)) from exc
            except CheckpointError as exc:
                raise CommandError(f"Checkpoint file {checkpoint} rejected: {exc}") from exc
        try:
            summary = verify_chain(checkpoints=checkpoints)
        except AuditWriteError as exc:
            raise CommandError(str(exc)) from exc
        except ChainBroken as exc:
            raise CommandError(f"Audit chain BROKEN at seq {exc.seq}: {exc.reason}") from exc
        self.stdout.write(
            f"Audit chain OK: {summary.count} events, head seq {summary.head_seq} "
            f"hash {summary.head_hash}"
        )
        if checkpoint is not None:
            self.stdout.write(f"{summary.checkpoints} checkpoint(s) matched.")
