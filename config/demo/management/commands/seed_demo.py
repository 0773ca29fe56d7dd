import datetime
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.demo import borrowers
from loans.models import Company


class Command(BaseCommand):
    help = "Create a deterministic demo population: companies, their people, products and hidden risks."

    def add_arguments(self, parser):
        parser.add_argument("--companies", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=None, help="YYYY-MM-DD; default today")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when companies already exist.")
        parser.add_argument("--no-scoring", action="store_true", help="Only borrowers: no credit data, models or scores.")
        parser.add_argument("--simulate-days", type=int, default=0,
                            help="Seed N+1 days back (unless --as-of) and simulate each day since up to yesterday, rescoring it: "
                                 "a living portfolio whose next day, today, simulate_day and rescore accept.")
        parser.add_argument("--no-portfolio", action="store_true",
                            help="No applications, lines and loans (booked by default for part of the population).")

    def handle(self, *args, companies, seed, as_of, if_empty, no_scoring, no_portfolio=False, simulate_days=0, **options):
        if companies < 1:
            raise CommandError("--companies must be at least 1")
        if if_empty and Company.objects.exists():
            self.stdout.write("demo data already present; nothing to do")
            return
        if simulate_days < 0:
            raise CommandError("--simulate-days must be 0 or more")
        # The simulated days end yesterday, so the newcomer's next day is today: the nightly run
        # refuses a date after today, and a demo that had simulated today could not go on until tomorrow.
        as_of = as_of or timezone.localdate() - datetime.timedelta(days=simulate_days + 1 if simulate_days else 0)
        started = time.perf_counter()
        borrowers.ensure_products()
        pop = borrowers.generate(companies=companies, seed=seed, as_of=as_of)
        generated = time.perf_counter()
        counts = borrowers.load(pop)
        loaded = time.perf_counter()
        seconds = loaded - started
        self.stdout.write(
            f"companies: {counts['companies']}  persons: {counts['persons']}  related_parties: {counts['related_parties']}"
        )
        self.stdout.write(
            f"generate_s: {generated - started:.2f}  load_s: {loaded - generated:.2f}  "
            f"companies_per_s: {counts['companies'] / seconds:,.0f}"
        )
        if no_scoring:
            return
        # Credit data, outcomes, first champion scorecards and scores for as_of, so that a
        # fresh install decides at once.
        from config.demo.credit import seed_scoring_demo

        seed_scoring_demo(seed=seed, as_of=as_of, stdout=self.stdout)
        if not no_portfolio:
            # applications, lines and loans for part of the population, through the services;
            # a share of it is the demo partner's, so the partner API and webhooks see the demo too
            from config.demo.portfolio import book_demo_portfolio, demo_partner_file

            partner = demo_partner_file(seed=seed)
            self.stdout.write(f"partner {partner.name!r}: {partner.companies.count()} companies "
                              f"(a key: manage.py create_partner --name {partner.name!r} --existing)")
            book_demo_portfolio(seed=seed, as_of=as_of, stdout=self.stdout)
        if simulate_days:
            from django.core.management import call_command

            for n in range(1, simulate_days + 1):
                call_command("simulate_day", as_of=as_of + datetime.timedelta(days=n), seed=seed, rescore=True,
                             stdout=self.stdout)
            after = as_of + datetime.timedelta(days=simulate_days + 1)
            self.stdout.write(f"next day: manage.py simulate_day --as-of {after} --seed {seed}, "
                              f"then manage.py rescore --as-of {after}")
        self.stdout.write(f"total_s: {time.perf_counter() - started:.2f}")
