"""Measure the server time of an automated decision (``application_submit``), end to end:
scores from ``scoring.api`` (fresh, so no re-scoring), group and exposure, the pure
engine, the decision record, history and ledger entry.

By default everything runs in one transaction that is rolled back at the end, so the bench
leaves nothing behind.  That makes every decision a savepoint inside one huge transaction,
which on PostgreSQL overflows the subtransaction cache after 64 and slows every query: the
figures are pessimistic.  With ``--commit`` (use a scratch database!) each decision is its
own transaction, as in production, and the bench data and ledger entries stay.  If no
champion scorecards exist, small hand-built ones are promoted.
"""

import datetime
import random
import statistics
import sys
import time
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from config.demo.identities import make_resident_id, make_uscc
from loans.choices import ProductKind, RepaymentMethod, Role
from loans.models import Company, LoanProduct, Person, RelatedParty
from loans.services.applications import application_create, application_submit


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Decision latency: p50/p99 server time of application_submit over N decisions (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, default=500)
        parser.add_argument("--seed", type=int, default=4)
        parser.add_argument("--commit", action="store_true", help="Commit each decision (scratch database only).")
        parser.add_argument("--explain", action="store_true", help="Profile one more decision: Python profile and its slowest queries.")

    def handle(self, *args, **options):
        # With --commit the bench data stays, so a second run on the same database must not
        # draw the same USCCs and product code again: offset the seed by what is already there.
        seed = options["seed"] + (Company.objects.count() if options["commit"] else 0)
        self.n, self.rng, self.explain = options["n"], random.Random(seed), options["explain"]
        if options["commit"]:
            self._run(commit=True)
            return
        try:
            with transaction.atomic():
                self._run(commit=False)
                raise _Rollback
        except _Rollback:
            pass

    def _run(self, *, commit: bool):  # commit: the caller holds no outer transaction
        with transaction.atomic():
            product, company_ids, person_ids, as_of = self._seed()
        self._decide(product, company_ids, person_ids, as_of)

    def _seed(self):
        from config.demo import starter
        from scoring import services

        as_of = datetime.date.today()
        starter.promote_starter_champions()
        product = LoanProduct.objects.create(
            code=f"bench-{self.rng.randrange(10**9)}", name="bench", kind=ProductKind.REVOLVING,
            repayment_method=RepaymentMethod.EQUAL_INSTALLMENT, min_amount=Decimal("10000"), max_amount=Decimal("3000000"),
            min_term_months=3, max_term_months=36,
        )
        company_ids, person_ids = [], []
        for i in range(self.n):
            c = Company.objects.create(
                legal_name=f"Bench {i}", uscc=make_uscc(self.rng), industry="F", province="31", founded_on=datetime.date(2015, 1, 1),
                registered_capital=Decimal("1000000"), employees=20, annual_revenue=Decimal(self.rng.randrange(2, 60) * 1000000),
            )
            p = Person(name=f"Bench {i}")
            p.set_resident_id(make_resident_id(self.rng, datetime.date(1980, 1, 1) + datetime.timedelta(days=i)))
            p.save()
            RelatedParty.objects.create(company=c, person=p, role=Role.LEGAL_REPRESENTATIVE, valid_from=datetime.date(2015, 1, 1))
            services.credit_snapshot_record(subject_kind="person", subject_id=p.pk, as_of=as_of, rescore=False, features={
                "ontime_ratio_24m": self.rng.choice([0.7, 0.9, 0.99]), "debt_to_income": self.rng.choice([0.1, 0.4, 0.8]),
                "verification_level": self.rng.randrange(4), "connections_with_defaults": self.rng.randrange(4)})
            services.credit_snapshot_record(subject_kind="company", subject_id=c.pk, as_of=as_of, rescore=False, features={
                "revenue_12m": float(c.annual_revenue), "lawsuits_24m": self.rng.randrange(4)})
            company_ids.append(c.pk)
            person_ids.append(p.pk)
        return product, company_ids, person_ids, as_of

    def _decide(self, product, company_ids, person_ids, as_of):
        from scoring import batch
        # the nightly run's job: fresh scores for everyone, so decisions read, not score
        batch.score_persons(person_ids=person_ids, as_of=as_of)
        batch.score_companies(company_ids=company_ids, as_of=as_of)
        apps = [
            application_create(company_id=cid, product_id=product.pk, requested_amount=str(self.rng.randrange(5, 150) * 10000), term_months=12)
            for cid in company_ids
        ]
        timings, outcomes = [], {}
        for app in apps:
            t0 = time.perf_counter()
            decision = application_submit(application_id=app.pk, as_of=as_of)
            timings.append((time.perf_counter() - t0) * 1000)
            outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
        if self.explain:
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            app = application_create(company_id=company_ids[0], product_id=product.pk, requested_amount="100000", term_months=12)
            import cProfile
            import pstats

            prof = cProfile.Profile()
            with CaptureQueriesContext(connection) as ctx:
                prof.enable()
                application_submit(application_id=app.pk, as_of=as_of)
                prof.disable()
            pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
            for q in sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:8]:
                self.stdout.write(f"{q['time']}s {q['sql'][:160]}")
        timings.sort()
        q = statistics.quantiles(timings, n=100, method="inclusive")
        self.stdout.write(
            f"decisions: {len(timings)}\noutcomes: {outcomes}\n"
            f"p50_ms: {q[49]:.2f}\np95_ms: {q[94]:.2f}\np99_ms: {q[98]:.2f}\nmax_ms: {timings[-1]:.2f}"
        )
