import datetime
import time

from django.core.management.base import BaseCommand, CommandError

from loans.services.applications import applications_expire
from loans.services.servicing import loans_service_daily


class Command(BaseCommand):
    help = (
        "Daily servicing (days past due, penalty interest, buckets, five categories) and the expiry of "
        "lapsed offers, by hand: without --as-of the same days as the scheduled jobs (servicing for "
        "yesterday, as the nightly run; expiry for today, as the offer-expiry job)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: servicing for yesterday, expiry for today)")
        parser.add_argument("--skip-expiry", action="store_true", help="Do not expire lapsed offers.")

    def handle(self, *args, **options):
        try:
            as_of = datetime.date.fromisoformat(options["as_of"]) if options["as_of"] else None
        except ValueError:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {options['as_of']!r}") from None
        started = time.perf_counter()
        # The functions the scheduled jobs call, with the same defaults.
        result = loans_service_daily(as_of=as_of)
        expired = 0 if options["skip_expiry"] else applications_expire(as_of=as_of)
        as_of = result.as_of
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"as_of: {as_of}\nloans_serviced: {result.loans_serviced}\n"
            f"offers_expired: {expired}\n"
            f"policy_version: {result.policy_version}\nseconds: {seconds:.3f}"
        )
