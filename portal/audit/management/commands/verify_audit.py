import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.audit.chain import AuditWriteError
from portal.audit.verify import ChainBroken, CheckpointError, read_checkpoints, verify_chain

NEWEST_CHECKPOINT = -1


class Command(BaseCommand):
    # The system checks judge the serving setup and import every view and the API to check the
    # URLs: a fifth of a second and 10 MiB before the first event. Verification needs only the
    # database and the audit key, and reports a missing key itself.
    requires_system_checks = []
    help = (
        "Recompute every audit hash and check seq contiguity, and check the chain against the "
        "checkpoints written by audit_checkpoint (--checkpoint FILE, by default "
        "PORTAL_AUDIT_CHECKPOINT_FILE when set): a log truncated after a checkpoint is detected. "
        "--since recomputes only the events after the newest checkpoint (or after SEQ). "
        "A long chain is walked by several processes (--workers). "
        "Exits non-zero naming the first bad seq."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint",
            type=Path,
            help="file of checkpoint lines (default: PORTAL_AUDIT_CHECKPOINT_FILE)",
        )
        parser.add_argument(
            "--since",
            nargs="?",
            type=int,
            const=NEWEST_CHECKPOINT,
            metavar="SEQ",
            help="verify only the events after the newest checkpoint, or after SEQ, trusting "
            "the hash it starts from (a checkpoint's when there is one for it)",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=min(4, os.cpu_count() or 1),
            help="processes that walk consecutive parts of a long chain at once (default: one "
            "per CPU, at most 4; 1 walks it in this process)",
        )

    def handle(
        self,
        *args,
        checkpoint: Path | None = None,
        since: int | None = None,
        workers: int = 1,
        **options,
    ):
        checkpoint = checkpoint or _configured_file()
        checkpoints = _read(checkpoint) if checkpoint else {}
        if since == NEWEST_CHECKPOINT:
            if not checkpoints:
                raise CommandError(
                    "--since without SEQ starts from the newest checkpoint, and there is none "
                    "(--checkpoint FILE or PORTAL_AUDIT_CHECKPOINT_FILE)."
                )
            since = max(checkpoints)
        elif since is not None and since < 0:
            raise CommandError("--since SEQ must be 0 or more.")
        if workers < 1:
            raise CommandError("--workers must be 1 or more.")
        try:
            summary = verify_chain(checkpoints=checkpoints, since=since, workers=workers)
        except AuditWriteError as exc:
            raise CommandError(str(exc)) from exc
        except ChainBroken as exc:
            raise CommandError(f"Audit chain BROKEN at seq {exc.seq}: {exc.reason}") from exc
        if summary.start_seq:
            self.stdout.write(
                f"Audit chain OK: {summary.count} events after seq {summary.start_seq} "
                f"(trusted: {summary.start_trusted}), head seq {summary.head_seq} "
                f"hash {summary.head_hash}"
            )
        else:
            self.stdout.write(
                f"Audit chain OK: {summary.count} events, head seq {summary.head_seq} "
                f"hash {summary.head_hash}"
            )
        if checkpoint is not None:
            self.stdout.write(f"{summary.checkpoints} checkpoint(s) matched ({checkpoint}).")


def _configured_file() -> Path | None:
    configured = settings.PORTAL_AUDIT_CHECKPOINT_FILE
    return Path(configured) if configured else None


def _read(path: Path) -> dict[int, str]:
    try:
        return read_checkpoints(path)
    except OSError as exc:
        raise CommandError(f"Cannot read checkpoint file {path}: {exc}") from exc
    except AuditWriteError as exc:
        raise CommandError(str(exc)) from exc
    except CheckpointError as exc:
        raise CommandError(f"Checkpoint file {path} rejected: {exc}") from exc
