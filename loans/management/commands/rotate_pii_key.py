from django.core.management.base import BaseCommand, CommandError

from loans.parties import identity
from loans.services.privacy import pii_rotate, pii_versions


class Command(BaseCommand):
    help = (
        "Re-encrypt every person's resident ID and phone under the current key version "
        "(PII_KEY_VERSION, master PII_ENCRYPTION_KEY), in batches, while the product runs: it reads "
        "the old versions too (PII_PREVIOUS_KEYS).  Stopped anywhere, run it again: rows already "
        "under the current version are skipped.  Prints progress; README 'Personal data'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, help="rows per transaction (default 1000)")
        parser.add_argument("--after-id", type=int, default=0, help="resume after this person id (printed as 'last id')")
        parser.add_argument("--status", action="store_true", help="only count persons by key version")

    def handle(self, *args, batch_size, after_id, status, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        version = identity.current_version()
        if status:
            counts = pii_versions()
            self.stdout.write(f"current key version v{version}; persons by version: "
                              + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))
            return

        def report(progress):
            self.stdout.write(f"re-encrypted {progress.done}/{progress.total} persons under v{version} (last id {progress.last_id})")

        try:
            progress = pii_rotate(batch_size=batch_size, after_id=after_id, on_batch=report)
        except identity.UnknownKeyVersion as exc:
            raise CommandError(f"{exc}; add the old master to PII_PREVIOUS_KEYS and run again") from None
        self.stdout.write(self.style.SUCCESS(
            f"done: {progress.done} persons re-encrypted under v{version}; none left under an older key"
        ))
