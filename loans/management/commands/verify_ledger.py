from django.core.management.base import BaseCommand

from loans.services.ledger import ledger_verify


class Command(BaseCommand):
    help = "Recompute the decision ledger's hash chain; print 'ok' or the first broken entry."

    def handle(self, *args, **options):
        checked, broken = ledger_verify()
        if broken is None:
            self.stdout.write(f"ok ({checked} entries)" if options["verbosity"] > 1 else "ok")
            return
        self.stdout.write(f"broken at entry #{broken.seq}: {broken.problem} ({checked} entries verified before it)")
        raise SystemExit(1)
