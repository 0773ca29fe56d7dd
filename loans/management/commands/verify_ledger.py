from django.core.management.base import BaseCommand

from loans.services.ledger import LedgerAnchorError, ledger_checkpoint, ledger_verify


class Command(BaseCommand):
    help = (
        "Recompute the ledger's keyed hash chain and check it against the signed anchor "
        "(LEDGER_ANCHOR_PATH); print 'ok' or the first break.  Exit status 1 when broken."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint", action="store_true",
            help="after a clean verification, record the current head in the anchor (starting one if "
                 "there is none: the first run, or after an upgrade)",
        )

    def handle(self, *args, checkpoint=False, **options):
        checked, broken = ledger_verify(anchored=not checkpoint)
        if broken is None and checkpoint:
            # The chain verified without the anchor; the checkpoint itself refuses an anchor
            # that is forged or ahead of the ledger.
            try:
                anchor = ledger_checkpoint(start=True)
            except LedgerAnchorError as exc:
                self.stdout.write(f"broken: {exc}")
                raise SystemExit(1) from None
            self.stdout.write(anchor.log_line())
        if broken is None:
            self.stdout.write(f"ok ({checked} entries)" if options["verbosity"] > 1 else "ok")
            return
        self.stdout.write(f"{broken} ({checked} entries verified before it)")
        raise SystemExit(1)
