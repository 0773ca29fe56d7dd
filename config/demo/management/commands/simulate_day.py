"""One more day in the life of the demo portfolio.

    python manage.py simulate_day --as-of YYYY-MM-DD [--seed N] [--rescore]

Appends the day's credit data for the demo population (``config.demo.credit.simulate_credit_day``:
most companies steady, a share deteriorating — some sharply, some through their legal
representative, who slides into default — a few improving) and records the day's repayments
(``config.demo.portfolio.simulate_repayments``: most on time, some late, a few never).  Deterministic
for a seed; a day already simulated appends nothing twice.  ``--rescore`` then runs the nightly
run for that day in this process (``rescore --as-of D --sync``).
"""

import datetime

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Append the next day's credit data and repayments for the demo population (deterministic for a seed)."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=datetime.date.fromisoformat, required=True, help="YYYY-MM-DD")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--rescore", action="store_true", help="then run the nightly rescore for the day (--sync)")

    def handle(self, *args, as_of, seed, rescore, **options):
        from config.demo.credit import simulate_credit_day
        from config.demo.portfolio import simulate_repayments

        # Today at the latest, not the value dates' tolerance (tomorrow): the nightly run refuses a
        # date after today, so a day simulated ahead would sit there unscored, its data dated ahead.
        today = timezone.localdate()
        if as_of > today:
            raise CommandError(f"--as-of {as_of} is in the future; the latest day to simulate today is {today} "
                               "(the nightly run scores no later day).")
        credit = simulate_credit_day(seed=seed, as_of=as_of)
        if credit["skipped"]:
            self.stdout.write(f"credit data for {as_of}: already simulated, nothing appended")
        else:
            self.stdout.write(
                f"credit data for {as_of}: {credit['companies']} company and {credit['persons']} person snapshots  "
                f"(steady {credit['steady']}, sharp {credit['sharp']}, gradual {credit['gradual']}, "
                f"through a related party {credit['through_party']}, improving {credit['improving']})"
            )
        paid = simulate_repayments(seed=seed, as_of=as_of)
        self.stdout.write(f"repayments for {as_of}: on time {paid['on_time']}, late {paid['late']}, "
                          f"unpaid {paid['never']}, amount {paid['amount']}")
        if rescore:
            call_command("rescore", as_of=as_of, sync=True, stdout=self.stdout)
