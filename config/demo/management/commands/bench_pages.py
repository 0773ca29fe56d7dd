"""Server time of the back office's pages at scale: the dashboard, a company's and a person's
page, the underwriting view, and the lists officers open most.

Seeds what is missing (use a scratch database: the data stays): ``seed_demo`` for the
population and its scores, score history by copying the latest night back ``--score-days``
days (100,000 companies and their people over 6 nights is about 2,000,000 score rows),
applications decided through the services, some booked and drawn, and alerts.  Then it asks
each page ``--repeat`` times through Django's test client as a superuser and prints the
server time (request in, response out: middleware, queries and template), the queries and
their own time (the rest is Python: views and templates), and the machine's load average.
"""

from __future__ import annotations

import datetime
import os
import random
import statistics
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import Max
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans.choices import ApplicationStatus, Role
from loans.errors import DomainError
from loans.models import Company, CreditLine, LoanApplication, LoanProduct, RelatedParty
from loans.services.applications import application_accept, application_book, application_create, application_submit
from loans.services.lines import credit_line_draw_down
from monitoring.actions import post_loan_action_propose
from monitoring.dashboard import alert_model
from monitoring.models import PostLoanAction
from scoring.models import Score

BENCH_USER = "bench-pages"


class Command(BaseCommand):
    help = "Server time per back-office page at scale (seeds a scratch database first)."

    def add_arguments(self, parser):
        parser.add_argument("--companies", type=int, default=100_000)
        parser.add_argument("--score-days", type=int, default=5, help="nights of score history to add before the latest")
        parser.add_argument("--applications", type=int, default=200)
        parser.add_argument("--alerts", type=int, default=3000)
        parser.add_argument("--actions", type=int, default=100, help="post-loan actions proposed by the system")
        parser.add_argument("--repeat", type=int, default=7)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, companies, score_days, applications, alerts, actions, repeat, seed, **options):
        started = time.perf_counter()
        rng = random.Random(seed)
        if Company.objects.count() < companies:
            call_command("seed_demo", companies=companies - Company.objects.count(), seed=seed, stdout=self.stdout)
        as_of = Score.objects.filter(subject_kind="company").aggregate(d=Max("as_of"))["d"]
        self._history(as_of, score_days)
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:  # fresh bulk loads: plan with real statistics
                cur.execute("ANALYZE")
        self._applications(as_of, applications, rng)
        self._alerts(as_of, alerts, rng)
        self._actions(as_of, actions)
        self.stdout.write(
            f"seeded in {time.perf_counter() - started:.1f} s: companies {Company.objects.count():,}  "
            f"scores {self._estimate(Score._meta.db_table):,}  applications {LoanApplication.objects.count():,}  "
            f"lines {CreditLine.objects.count():,}  alerts {alert_model().objects.count():,}"
        )
        self._measure(repeat, rng)

    # --- seeding ------------------------------------------------------------------------

    def _estimate(self, table: str) -> int:
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("ANALYZE " + connection.ops.quote_name(table))
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
                return int(cur.fetchone()[0])
        return Score.objects.count()

    def _history(self, as_of, days: int) -> None:
        """Copy the latest night's scores back ``days`` nights, each a little different."""
        table = connection.ops.quote_name(Score._meta.db_table)
        have = set(Score.objects.filter(subject_kind="company", subject_id=Company.objects.order_by("pk").values("pk")[:1])
                   .values_list("as_of", flat=True))
        cols = ["subject_kind", "subject_id", "model_id", "model_version", "revision", "pd", "tier", "in_default",
                "dimension_points", "reason_codes", "components", "previous_score", "created_at"]
        for k in range(1, days + 1):
            day = as_of - datetime.timedelta(days=k)
            if day in have:
                continue
            wiggle = f"((subject_id * 7 + {k * 13}) %% 41) - 20"
            score = f"CASE WHEN score + {wiggle} < 0 THEN 0 WHEN score + {wiggle} > 950 THEN 950 ELSE score + {wiggle} END"
            t0 = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cur:
                # each night's score from that night's data (data_as_of is never after as_of)
                cur.execute(
                    f"INSERT INTO {table} (as_of, data_as_of, score, {', '.join(cols)}) "
                    f"SELECT %s, LEAST(data_as_of, %s), {score}, {', '.join(cols)} FROM {table} WHERE as_of = %s",
                    [day, day, as_of],
                )
                n = cur.rowcount
            self.stdout.write(f"score history {day}: {n:,} rows in {time.perf_counter() - t0:.1f} s")

    def _applications(self, as_of, target: int, rng: random.Random) -> None:
        have = LoanApplication.objects.count()
        if have >= target:
            return
        product = LoanProduct.objects.filter(is_active=True).order_by("pk").first()
        officer = self._user()
        with_rep = RelatedParty.objects.filter(role=Role.LEGAL_REPRESENTATIVE).values("company_id")
        ids = list(Company.objects.filter(pk__in=with_rep, status="active", is_blocklisted=False)
                   .exclude(applications__isnull=False).order_by("pk").values_list("pk", flat=True)[: target * 3])
        rng.shuffle(ids)
        t0, made = time.perf_counter(), 0
        for company_id in ids:
            if have + made >= target:
                break
            amount = Decimal(rng.choice(["100000", "200000", "300000", "500000"]))
            app = application_create(company_id=company_id, product_id=product.pk, requested_amount=amount,
                                     term_months=12, actor=officer)
            made += 1
            try:
                application_submit(application_id=app.pk, actor=officer, as_of=as_of)
                app.refresh_from_db()
                if app.status == ApplicationStatus.APPROVED and rng.random() < 0.7:
                    application_accept(application_id=app.pk, actor=officer, as_of=as_of)
                    line = application_book(application_id=app.pk, actor=officer, opened_on=as_of)
                    if rng.random() < 0.8:
                        credit_line_draw_down(credit_line_id=line.pk, amount=(line.limit_amount / 2).quantize(Decimal("0.01")),
                                              term_months=12, disbursed_on=as_of, actor=officer)
            except DomainError as exc:
                self.stdout.write(f"application #{app.pk}: {exc}")
        self.stdout.write(f"applications: {made} decided through the services in {time.perf_counter() - t0:.1f} s")

    def _alerts(self, as_of, target: int, rng: random.Random) -> None:
        model = alert_model()
        have = model.objects.count()
        if have >= target:
            return
        top = Company.objects.aggregate(m=Max("pk"))["m"]
        rules = [("score_drop", "high"), ("tier_downgrade", "medium"), ("related_party_deterioration", "medium"), ("dpd", "low")]
        rows, seen = [], set()
        while len(rows) < target - have:
            sid = rng.randint(1, top)
            rule, severity = rng.choice(rules)
            if (sid, rule) in seen:
                continue
            seen.add((sid, rule))
            rows.append(model(subject_kind="company", subject_id=sid, company_id=sid, first_seen_on=as_of, last_seen_on=as_of,
                              rule=rule, severity=severity, old_score=700, new_score=640))
        model.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)

    def _actions(self, as_of, target: int) -> None:
        """Limit cuts proposed by the system on the booked lines, each answering a warning on
        its company (the queue and the action pages read the warning too)."""
        model = alert_model()
        have = PostLoanAction.objects.count()
        lines = CreditLine.objects.filter(status="active").exclude(post_loan_actions__isnull=False).order_by("pk")
        for line in lines[: max(0, target - have)]:
            alert = model.objects.filter(subject_kind="company", subject_id=line.company_id, rule="score_drop").first()
            if alert is None:
                alert = model.objects.create(subject_kind="company", subject_id=line.company_id, company_id=line.company_id,
                                             rule="score_drop", severity="high", first_seen_on=as_of, last_seen_on=as_of,
                                             old_score=700, new_score=590, evidence={"score_before": 700, "score_after": 590})
            try:
                post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"percent": 30},
                                         alert_id=alert.pk, actor=None, on=as_of)
            except DomainError as exc:
                self.stdout.write(f"line #{line.pk}: {exc}")

    def _user(self):
        user, created = get_user_model().objects.get_or_create(
            username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True})
        if created:
            user.set_unusable_password()
            user.save()
        return user

    # --- measuring ----------------------------------------------------------------------

    def _pages(self, rng: random.Random) -> list[tuple[str, str]]:
        busy = LoanApplication.objects.filter(status=ApplicationStatus.BOOKED).order_by("pk").values_list("company_id", flat=True).first()
        company_id = busy or Company.objects.order_by("pk").values_list("pk", flat=True).first()
        person_id = RelatedParty.objects.filter(company_id=company_id).values_list("person_id", flat=True).first()
        app = (LoanApplication.objects.filter(status=ApplicationStatus.REFERRED).order_by("pk").first()
               or LoanApplication.objects.order_by("pk").first())
        pages = [
            ("dashboard", reverse("admin:index")),
            ("company page", reverse("backoffice:company", args=[company_id])),
            ("company page (random)", reverse("backoffice:company", args=[rng.choice(list(
                Company.objects.order_by("?").values_list("pk", flat=True)[:1]))])),
        ]
        if person_id:
            pages.append(("person page", reverse("backoffice:person", args=[person_id])))
        if app:
            pages.append(("underwriting view", reverse("backoffice:application", args=[app.pk])))
        alert = alert_model().objects.order_by("-pk").values_list("pk", flat=True).first()
        if alert:
            pages.append(("alert page", reverse("admin:monitoring_alert_change", args=[alert])))
        action = PostLoanAction.objects.order_by("-pk").values_list("pk", flat=True).first()
        if action:
            pages.append(("post-loan action page", reverse("admin:monitoring_postloanaction_change", args=[action])))
        pages += [
            ("company list", reverse("admin:parties_company_changelist")),
            ("company search", reverse("admin:parties_company_changelist") + "?q=Trading"),
            ("person list", reverse("admin:parties_person_changelist")),
            ("application list", reverse("admin:loans_loanapplication_changelist")),
            ("credit line list", reverse("admin:loans_creditline_changelist")),
            ("loan list", reverse("admin:loans_loan_changelist")),
            ("alert list", reverse("admin:monitoring_alert_changelist")),
            ("post-loan action list", reverse("admin:monitoring_postloanaction_changelist")),
            ("actions waiting (queue)", reverse("admin:monitoring_postloanaction_approvals")),
            ("score list (latest night)", reverse("admin:scoring_score_changelist")),
            ("latest score list", reverse("admin:scoring_latestscore_changelist")),
        ]
        return pages

    def _measure(self, repeat: int, rng: random.Random) -> None:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(self._user())
        self.stdout.write(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        self.stdout.write(f"{'page':<26} {'status':>6} {'queries':>7} {'sql_ms':>7} {'median_ms':>10} {'max_ms':>8}")
        for name, url in self._pages(rng):
            client.get(url)  # warm: caches, connection, templates
            times, sql, status, queries = [], [], None, 0
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as captured:
                    t0 = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - t0) * 1000)
                status, queries = response.status_code, len(captured.captured_queries)
                sql.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            self.stdout.write(f"{name:<26} {status:>6} {queries:>7} {statistics.median(sql):>7.1f} "
                              f"{statistics.median(times):>10.1f} {max(times):>8.1f}")
        self.stdout.write(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
