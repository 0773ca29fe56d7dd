import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loans.services.applications import applications_expire
from loans.services.servicing import loans_service_daily


class Command(BaseCommand):
    help = "Daily servicing: days past due, penalty interest, buckets, five categories; expire lapsed offers."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
        parser.add_argument("--skip-expiry", action="store_true", help="Do not expire lapsed offers.")

    def handle(self, *args, **options):
        try:
            as_of = datetime.date.fromisoformat(options["as_of"]) if options["as_of"] else timezone.localdate()
        except ValueError:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {options['as_of']!r}") from None
        started = time.perf_counter()
        result = loans_service_daily(as_of=as_of)
        expired = 0 if options["skip_expiry"] else applications_expire(as_of=as_of)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"as_of: {as_of}\nloans_serviced: {result.loans_serviced}\n"
            f"offers_expired: {expired}\n"
            f"policy_version: {result.policy_version}\nseconds: {seconds:.3f}"
        )
