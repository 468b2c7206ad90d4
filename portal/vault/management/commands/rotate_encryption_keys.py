from django.core.management.base import BaseCommand, CommandError

from portal.vault import crypto, rotation, selectors


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret under the active key (the first in PORTAL_ENCRYPTION_KEYS). "
        "Idempotent and resumable. --report counts values per key id: a key whose count is 0 "
        "everywhere may be removed from the keyring."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")
        parser.add_argument(
            "--report", action="store_true", help="Only print how many values each key sealed."
        )
        parser.add_argument("--batch", type=int, default=200, help="Rows per transaction.")

    def handle(self, *args, **opts):
        if opts["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        try:
            active = crypto.active_key_id()
        except crypto.KeyringError as exc:
            raise CommandError(f"PORTAL_ENCRYPTION_KEYS is malformed: {exc}") from exc
        if opts["report"]:
            self._report(active)
            return
        result = rotation.keys_rotate(dry_run=opts["dry_run"], batch_size=opts["batch"])
        verb = "would re-encrypt" if result.dry_run else "re-encrypted"
        self.stdout.write(
            f"Active key {active}: {verb} {result.rotated}, already current "
            f"{result.already_current}, unreadable {result.failed}"
            + (
                f", changed meanwhile (run again) {result.skipped_concurrent}"
                if result.skipped_concurrent
                else ""
            )
            + "."
        )
        if result.failed:
            raise CommandError(
                f"{result.failed} value(s) could not be decrypted with the configured keys "
                "(audited as credential.decrypt_failed). Add the missing key and run again."
            )

    def _report(self, active: str) -> None:
        configured = set(crypto.keyring().keys)
        totals: dict[str, int] = {}
        unopenable: dict[str, dict[str, int]] = {}
        for field, per_key in selectors.encrypted_value_counts().items():
            summary = ", ".join(f"{kid}={n}" for kid, n in sorted(per_key.items())) or "empty"
            self.stdout.write(f"{field}: {summary}")
            for kid, n in per_key.items():
                totals[kid] = totals.get(kid, 0) + n
                if kid not in configured:
                    unopenable.setdefault(field, {})[kid] = n
        # Every configured key appears, 0 included: a key at 0 may be removed from the keyring.
        for kid in configured:
            totals.setdefault(kid, 0)
        total = ", ".join(f"{kid}={n}" for kid, n in sorted(totals.items()))
        self.stdout.write(f"Total: {total} (active key: {active})")
        lost = sum(n for per_key in unopenable.values() for n in per_key.values())
        self.stdout.write(f"Values that cannot be opened: {lost}")
        for field, per_key in sorted(unopenable.items()):
            kids = ", ".join(sorted(per_key))
            self.stdout.write(f"  {field}: {sum(per_key.values())} (key ids: {kids})")
