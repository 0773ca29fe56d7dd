"""Benchmark of the nightly run on PostgreSQL (kept out of the test suite).

    DATABASE_URL=postgres://root@127.0.0.1:5432/sme_monitoring_bench \
        python manage.py bench_rescore --companies 100000 [--workers 0|1|2] [--threads 2] [--scaling]

Seeds the database when it is empty (seed_demo + the scoring demo: credit data history,
trained champions, scores for the seed date), then runs a full nightly run (persons,
companies, servicing, early-warning rules and proposals, analytics) for the next date that has no scores yet, and
prints its rate and peak memory, then the rate of a naive ORM loop on a sample of the same
data and the speedup.  ``--workers 0`` runs ``rescore --sync --threads T`` in a child process;
``--workers K`` starts K real Celery worker processes (solo pool) on ``--broker``.  ``--scaling``
adds runs in-process on one thread, on one worker and on two workers.  Peak memory is the
largest any chunk recorded (its process's VmHWM after the chunk).

The warning rules run inside each nightly run (step 4); every run prints their time, per rule
and as a share of the run.  The demo population has no lines or loans, so the rules that look
at exposure would have nothing to read: ``--book-share F`` (default 0.3) books synthetic lines
for that share of the companies when the database has none (set-based, for the benchmark only:
a loan on half of them, a tenth of those past due, collateral and a guarantee on some).
``--rules-only`` skips the run and times the rules alone on the latest scored date (in a
transaction rolled back afterwards, so it can be repeated).

``--nights K`` runs K consecutive nightly runs (the next K free dates, each settled first as
above) instead of the single run and the naive loop, prints each night, then the rate of the
first and of the last night and the score history's size and partitions: what the score
history's growth does to the night.  The dates must lie between the credit data and today (the
nightly run refuses future dates), so a database meant for it is seeded ``--seed-back-days``
days back (default 10; give at least K + 10).
"""

from __future__ import annotations

import datetime
import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from monitoring.services import DEFAULT_SYNC_THREADS

ROOT = Path(settings.BASE_DIR)


class Command(BaseCommand):
    help = "Benchmark the nightly run: subjects_per_s, peak_rss_mb, naive ORM loop rate, speedup."

    def add_arguments(self, parser):
        parser.add_argument("--companies", type=int, required=True, help="population to seed when the db is empty")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--chunk-size", type=int, default=25_000)
        parser.add_argument("--workers", type=int, default=0, help="0: in-process (--sync); K: K worker processes")
        parser.add_argument("--threads", type=int, default=DEFAULT_SYNC_THREADS, help="in-process: rescore --threads")
        parser.add_argument("--scaling", action="store_true", help="also run in-process on one thread, and on 1 and on 2 workers, and compare")
        parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/14")
        parser.add_argument("--naive-sample", type=int, default=2000)
        parser.add_argument("--book-share", type=float, default=0.3,
                            help="share of companies given a synthetic line (and loans) when there are no lines")
        parser.add_argument("--rules-only", action="store_true", help="time the warning rules alone on the latest scored date")
        parser.add_argument("--nights", type=int, default=0,
                            help="K > 0: run K consecutive nights and compare the first and the last night's rate")
        parser.add_argument("--seed-back-days", type=int, default=10,
                            help="when seeding, the credit data's date is this many days before today")
        parser.add_argument("--loans-share", type=float, default=0.3,
                            help="a book for the analytics phase when there are no loans: a line and a loan for this share of companies")

    def handle(self, *args, companies, seed, chunk_size, workers, threads, scaling, broker, naive_sample,
               book_share, rules_only, loans_share=0.3, nights=0, seed_back_days=10, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_rescore measures PostgreSQL: set DATABASE_URL=postgres://...")
        from loans.models import Company, Person

        if nights < 0 or seed_back_days < 1:
            raise CommandError("--nights must be at least 0 and --seed-back-days at least 1")
        self._seed_if_empty(companies, seed, seed_back_days)
        self._seed_book_if_empty(loans_share)  # lines, loans and installments for servicing and analytics
        self._book_if_empty(book_share)  # when no loans were asked for: lines, loans, collateral, guarantees for the rules
        if rules_only:
            self._rules_only()
            return
        n_companies, n_persons = Company.objects.count(), Person.objects.count()
        if n_companies != companies:
            self.stdout.write(f"note: the database holds {n_companies} companies (not {companies}); benchmarking those")
        self.stdout.write(f"population: {n_companies} companies, {n_persons} persons, "
                          f"{n_companies + n_persons} subjects; chunk size {chunk_size}")

        if nights:
            self._nights(nights, chunk_size, threads)
            return
        if workers == 0:
            rate, rss = self._run_sync(chunk_size, threads)
        else:
            rate, rss = self._run_workers(workers, chunk_size, broker)
        self.stdout.write(f"subjects_per_s: {rate:,.0f}".replace(",", ""))
        self.stdout.write(f"peak_rss_mb: {rss:.0f}")
        self._analytics_cost()

        naive = self._naive_rate(naive_sample)
        self.stdout.write(f"naive_subjects_per_s: {naive:.0f}  (sample of {naive_sample}: one query and one save "
                          "per subject, own scorecard only, no composite; rate extrapolated)")
        self.stdout.write(f"speedup: {rate / naive:.0f}")

        if scaling:
            single, rss0 = self._run_sync(chunk_size, 1)
            self.stdout.write(f"in_process_one_thread_subjects_per_s: {single:.0f}  peak_rss_mb: {rss0:.0f}  "
                              f"speedup: {single / naive:.0f}")
            one, rss1 = self._run_workers(1, chunk_size, broker)
            two, rss2 = self._run_workers(2, chunk_size, broker)
            self.stdout.write(f"one_worker_subjects_per_s: {one:.0f}  peak_rss_mb: {rss1:.0f}")
            self.stdout.write(f"two_workers_subjects_per_s: {two:.0f}  peak_rss_mb: {rss2:.0f}")
            self.stdout.write(f"two_worker_scaling: {two / one:.2f}")

    def _analytics_cost(self) -> None:
        """Phase 5 (portfolio snapshot and model monitoring) of the latest run against the run's
        total, then ``portfolio_report`` on the snapshot it stored."""
        from monitoring.models import PortfolioSnapshot, ScoringRun

        run = ScoringRun.objects.filter(status="succeeded").order_by("-finished_at").first()
        if run is None or "analytics" not in run.timings:
            self.stdout.write("analytics: the run recorded no analytics phase")
            return
        total = run.timings.get("total") or (run.finished_at - run.started_at).total_seconds()
        analytics = run.timings["analytics"]
        snap_s = run.counts.get("analytics_snapshot_s", 0.0)
        mon_s = run.counts.get("analytics_model_monitoring_s", 0.0)
        self.stdout.write(
            f"analytics_s: {analytics:.2f} (snapshot {snap_s:.2f}, model monitoring {mon_s:.2f}) of run total {total:.1f}s"
            f" = {100 * analytics / total:.1f}%"
            + (f"  errors: {run.counts['analytics_errors']}" if run.counts.get("analytics_errors") else "")
        )
        snap = PortfolioSnapshot.objects.filter(as_of=run.as_of).first()
        if snap is None:
            return
        self.stdout.write(f"snapshot: {snap.loans_count} loans, {snap.lines_count} lines, computed in {snap.seconds:.2f}s")
        steps = (snap.tables or {}).get("seconds") or {}
        if steps:
            self.stdout.write("  " + "  ".join(f"{k} {v:.2f}s" for k, v in steps.items()))
        started = time.perf_counter()
        call_command("portfolio_report", as_of=run.as_of.isoformat(), json=True, stdout=io.StringIO())
        self.stdout.write(f"portfolio_report_on_stored_snapshot_s: {time.perf_counter() - started:.3f}")

    # --- data ------------------------------------------------------------------------------

    def _nights(self, nights: int, chunk_size: int, threads: int) -> None:
        """K consecutive nightly runs; the per-night rate of the first and the last."""
        rates = []
        for night in range(1, nights + 1):
            rate, _ = self._run_sync(chunk_size, threads)
            rates.append(rate)
            self.stdout.write(f"night {night}/{nights}: {rate:.0f} subjects/s  (load {os.getloadavg()[0]:.2f})")
        from scoring import partitions

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size(c.oid) FROM pg_class c WHERE c.relname = 'scoring_score'")
            size = cursor.fetchone()[0]
            cursor.execute(
                "SELECT COALESCE(SUM(pg_total_relation_size(i.inhrelid)), 0), COUNT(*) FROM pg_inherits i "
                "WHERE i.inhparent = 'scoring_score'::regclass"
            )
            parts_size, n_parts = cursor.fetchone()
        self.stdout.write(f"first_night_subjects_per_s: {rates[0]:.0f}")
        self.stdout.write(f"last_night_subjects_per_s: {rates[-1]:.0f}  ({100 * rates[-1] / rates[0]:.0f} % of the first)")
        self.stdout.write(f"score_history: {max(size, parts_size) / 2**30:.2f} GiB in {n_parts} partitions "
                          f"(partitioned: {partitions.is_partitioned()})")

    def _seed_if_empty(self, companies: int, seed: int, back_days: int = 10) -> None:
        from config.demo.credit import seed_scoring_demo
        from loans.models import Company
        from scoring.models import PersonCreditSnapshot

        if not Company.objects.exists():
            as_of = timezone.localdate() - datetime.timedelta(days=back_days)
            self.stdout.write(f"seeding {companies} companies (credit data up to {as_of}) ...")
            started = time.perf_counter()
            call_command("seed_demo", companies=companies, seed=seed, as_of=as_of, no_scoring=True,
                         stdout=self.stdout)
            if not PersonCreditSnapshot.objects.exists():
                seed_scoring_demo(seed=seed, as_of=as_of, stdout=io.StringIO())
            self.stdout.write(f"seeded in {time.perf_counter() - started:.0f}s")

    def _book_if_empty(self, share: float) -> None:
        """Synthetic lines, loans, collateral and guarantees for ``share`` of the companies, so
        that the rules reading exposure have the work they would have on a real book."""
        from config.demo import borrowers
        from loans.models import CreditLine

        if share <= 0 or CreditLine.objects.exists():
            return
        started = time.perf_counter()
        product = borrowers.ensure_products()[0]
        day = timezone.localdate()
        every = max(1, round(1 / share))
        from django.db import transaction

        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO loans_creditline (company_id, partner_id, product_id, limit_amount, drawn_principal, annual_rate, "
                "tier, status, opened_on, expires_on, created_at, updated_at) "
                "SELECT id, partner_id, %s, 500000, CASE WHEN id %% 2 = 0 THEN 200000 ELSE 0 END, 0.08, 'B', 'active', "
                "%s::date - 200, %s::date + (id %% 365)::int + 1, now(), now() FROM loans_company WHERE id %% %s = 0",
                [product.pk, day, day, every],
            )
            cursor.execute(
                "INSERT INTO loans_loan (credit_line_id, company_id, partner_id, principal, annual_rate, term_months, "
                "repayment_method, disbursed_on, first_due_date, maturity_date, status, outstanding_principal, "
                "penalty_accrued, days_past_due, bucket, classification, created_at, updated_at) "
                "SELECT l.id, l.company_id, l.partner_id, 200000, 0.08, 12, 'equal_installment', %s::date - 150, "
                "%s::date - 120, %s::date + 215, 'active', 200000, 0, "
                "CASE WHEN (l.id / 2) %% 10 = 0 THEN (l.id * 7) %% 120 ELSE 0 END, "
                "CASE WHEN (l.id / 2) %% 10 <> 0 OR (l.id * 7) %% 120 = 0 THEN 'current' WHEN (l.id * 7) %% 120 <= 30 THEN 'm1' "
                "WHEN (l.id * 7) %% 120 <= 60 THEN 'm2' WHEN (l.id * 7) %% 120 <= 90 THEN 'm3' ELSE 'm3_plus' END, "
                "'normal', now(), now() FROM loans_creditline l WHERE l.drawn_principal > 0",
                [day, day, day],
            )
            cursor.execute(
                "INSERT INTO loans_collateral (owner_id, kind, description, appraised_value, haircut_pct, valued_on, "
                "credit_line_id, status, created_at, updated_at) "
                "SELECT company_id, 'equipment', 'bench', 150000 + (id %% 5) * 50000, 30, %s::date - 10, id, 'pledged', "
                "now(), now() FROM loans_creditline WHERE (id / 2) %% 4 = 0",
                [day],
            )
            cursor.execute(
                "INSERT INTO loans_guarantee (guarantor_person_id, amount, credit_line_id, status, created_at, updated_at) "
                "SELECT r.person_id, 100000, l.id, 'pledged', now(), now() FROM loans_creditline l "
                "JOIN loans_relatedparty r ON r.company_id = l.company_id AND r.role = 'legal_representative' "
                "WHERE (l.id / 2) %% 4 = 1",
                [],
            )
            cursor.execute("ANALYZE loans_creditline; ANALYZE loans_loan; ANALYZE loans_collateral; ANALYZE loans_guarantee")
        from loans.models import Loan

        self.stdout.write(f"booked {CreditLine.objects.count()} synthetic lines and {Loan.objects.count()} loans "
                          f"in {time.perf_counter() - started:.0f}s (benchmark data)")

    def _rules_only(self) -> None:
        from django.db import transaction

        from monitoring.rules import rules_evaluate_detailed
        from scoring.models import Score

        day = Score.objects.aggregate(d=Max("as_of"))["d"]
        if day is None:
            raise CommandError("no scores: run the benchmark once first")
        from monitoring.proposals import propose_actions
        from monitoring.protection import protect_companies

        for attempt in (1, 2):
            started = time.perf_counter()
            with transaction.atomic():
                results = rules_evaluate_detailed(as_of=day)
                total = time.perf_counter() - started
                # what the night does after its rules: protective freezes, then the proposals
                started = time.perf_counter()
                frozen = protect_companies(None, day)
                protect_s = time.perf_counter() - started
                started = time.perf_counter()
                proposed = propose_actions(day)
                propose_s = time.perf_counter() - started
                transaction.set_rollback(True)
            self.stdout.write(f"rules on {day} (attempt {attempt}): {total:.2f}s, "
                              f"{sum(r.seen for r in results.values())} hits, "
                              f"{sum(r.resolved for r in results.values())} resolved; "
                              f"protective freezes {protect_s:.2f}s/{frozen}; proposals {propose_s:.2f}s/"
                              f"{proposed['actions_proposed']}; rules + proposals {total + protect_s + propose_s:.2f}s")
            self.stdout.write("  " + "  ".join(f"{code} {r.seconds:.2f}s/{r.seen}" for code, r in results.items()))

    def _seed_book_if_empty(self, share: float) -> None:
        """A synthetic loan book in three INSERT ... SELECT statements (the demo seeds
        borrowers, not loans): a line and one interest-first loan for every k-th company, with
        one installment each, a fifth of them already past due by up to 400 days, so the
        night's servicing gives the book real buckets and categories."""
        from config.demo import borrowers
        from loans.models import CreditLine, Installment, Loan
        from loans.services.policy import credit_policy_active
        from scoring.models import LatestScore, PersonCreditSnapshot

        if share <= 0 or Loan.objects.exists():
            return
        day = PersonCreditSnapshot.objects.aggregate(d=Max("as_of"))["d"] or timezone.localdate()
        product = borrowers.ensure_products()[0]
        step = max(int(round(1 / share)), 1)
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {CreditLine._meta.db_table} (company_id, product_id, partner_id, limit_amount, drawn_principal, "
                "annual_rate, tier, status, opened_on, expires_on, created_at, updated_at) "
                "SELECT c.id, %s, c.partner_id, 500000 + (c.id %% 10) * 100000, 300000 + (c.id %% 5) * 50000, 0.08, '', "
                "'active', %s::date - 700, %s::date + 365, now(), now() FROM loans_company c WHERE c.id %% %s = 0 "
                # a lender books lines for eligible companies only: without this, the first night
                # freezes every line the seed gave a company below the minimum (a third of the
                # book), one locked transaction each, which no real night ever meets
                f"AND EXISTS (SELECT 1 FROM {LatestScore._meta.db_table} s WHERE s.subject_kind = 'company' "
                "AND s.subject_id = c.id AND s.score >= %s)",
                [product.pk, day, day, step, credit_policy_active().min_score],
            )
            cur.execute(
                f"INSERT INTO {Loan._meta.db_table} (credit_line_id, company_id, partner_id, principal, annual_rate, term_months, "
                "repayment_method, disbursed_on, first_due_date, maturity_date, status, outstanding_principal, penalty_accrued, "
                "days_past_due, bucket, classification, created_at, updated_at) "
                "SELECT cl.id, cl.company_id, cl.partner_id, cl.drawn_principal, 0.08, 12, 'interest_first', "
                "%s::date - ((cl.id * 7) %% 690)::int, %s::date - ((cl.id * 7) %% 690)::int + 30, "
                "%s::date - ((cl.id * 7) %% 690)::int + 365, "
                f"'active', cl.drawn_principal, 0, 0, 'current', 'normal', now(), now() FROM {CreditLine._meta.db_table} cl",
                [day, day, day],
            )
            cur.execute(
                f"INSERT INTO {Installment._meta.db_table} (loan_id, number, due_date, principal_due, interest_due, penalty_due, "
                "principal_paid, interest_paid, penalty_paid) "
                "SELECT l.id, 1, CASE WHEN l.id %% 5 = 0 THEN %s::date - ((l.id * 13) %% 400)::int ELSE %s::date + 30 END, "
                f"l.principal, ROUND(l.principal * 0.08, 2), 0, 0, 0, 0 FROM {Loan._meta.db_table} l",
                [day, day],
            )
            for table in (CreditLine, Loan, Installment):
                cur.execute(f"ANALYZE {table._meta.db_table}")
        self.stdout.write(f"book: {Loan.objects.count()} loans on {CreditLine.objects.count()} lines seeded in "
                          f"{time.perf_counter() - started:.1f}s")

    def _settle(self) -> None:
        """Start each timed run from the same state, as a nightly run starts a day after the
        last one: the previous run's dead pointer versions vacuumed, statistics fresh, its WAL
        checkpointed.  Back to back, each run otherwise paid for the autovacuum and checkpoint
        of the one before, on the same two cores."""
        from django.db import DatabaseError, transaction

        with connection.cursor() as cursor:
            for table in ("scoring_latestscore", "scoring_score"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            try:
                with transaction.atomic():
                    cursor.execute("CHECKPOINT")  # superuser or pg_checkpoint
            except DatabaseError:
                pass

    def _free_date(self, after: datetime.date | None = None) -> datetime.date:
        """The first date after the credit data (and ``after``) with no run and no scores."""
        from monitoring.models import ScoringRun
        from scoring.models import PersonCreditSnapshot, Score

        day = PersonCreditSnapshot.objects.aggregate(d=Max("as_of"))["d"]
        if day is None:
            raise CommandError("no credit data: seed with seed_demo (with scoring) first")
        today = timezone.localdate()
        while True:
            day += datetime.timedelta(days=1)
            if after and day <= after:
                continue
            if day > today:
                raise CommandError("no free date left between the credit data and today; use a fresh database")
            if not ScoringRun.objects.filter(as_of=day).exists() and not Score.objects.filter(as_of=day).exists():
                return day

    # --- runs ------------------------------------------------------------------------------

    def _result(self, day: datetime.date, how: str) -> tuple[float, dict]:
        from monitoring.models import RunStatus, ScoringRun

        run = ScoringRun.objects.get(as_of=day)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"the run for {day} did not succeed: {run.status} {run.error}")
        written = run.counts.get("persons", 0) + run.counts.get("companies", 0)
        seconds = (run.finished_at - run.started_at).total_seconds()
        timings = "  ".join(f"{k} {v:.1f}s" for k, v in run.timings.items())
        self.stdout.write(f"run {day} ({run.mode}, {how}): {written} scores, {run.counts.get('alerts', 0)} alerts, "
                          f"{seconds:.1f}s  [{timings}]")
        rule_seconds = run.counts.get("rule_seconds") or {}
        if rule_seconds:
            # the alerts phase: rules, protective freezes and proposals
            rules_total = run.timings.get("alerts", sum(rule_seconds.values()))
            hits = run.counts.get("alert_hits_by_rule") or {}
            self.stdout.write(f"rules_and_proposals_s: {rules_total:.2f}  (rules {sum(rule_seconds.values()):.2f}, "
                              f"protective freezes {run.counts.get('protection_seconds', 0):.2f}, "
                              f"proposals {run.counts.get('proposals_seconds', 0):.2f}; "
                              f"{100 * rules_total / seconds:.1f} % of the run; "
                              f"{100 * rules_total / max(seconds - rules_total, 1e-9):.1f} % added to the rest)")
            self.stdout.write("  " + "  ".join(f"{code} {sec:.2f}s/{hits.get(code, 0)}" for code, sec in rule_seconds.items()))
        return written / seconds, run.counts

    def _run_sync(self, chunk_size: int, threads: int) -> tuple[float, float]:
        day = self._free_date()
        self._settle()
        result = subprocess.run(
            [sys.executable, "manage.py", "rescore", "--as-of", day.isoformat(), "--sync", "--chunk-size", str(chunk_size),
             "--threads", str(threads)],
            cwd=ROOT, capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"rescore --sync failed:\n{result.stdout}{result.stderr}")
        rate, counts = self._result(day, f"{threads} thread{'s' if threads > 1 else ''}")
        return rate, counts.get("peak_rss_mb", 0.0)

    def _run_workers(self, count: int, chunk_size: int, broker: str) -> tuple[float, float]:
        import redis

        day = self._free_date()
        self._settle()
        env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker, "LOG_LEVEL": "WARNING"}
        if broker.startswith("redis"):
            redis.Redis.from_url(broker).flushdb()
        procs = []
        try:
            for i in range(count):
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-n", f"bench{i}@%h",
                     "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                    cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    text=True,
                ))
            for p in procs:  # wait until each worker is consuming
                for line in p.stderr:
                    if " ready." in line:
                        break
                else:
                    raise CommandError("a worker did not start")
                # keep draining its log so a full pipe never blocks it
                threading.Thread(target=lambda f=p.stderr: [None for _ in f], daemon=True).start()
            result = subprocess.run(
                [sys.executable, "manage.py", "rescore", "--as-of", day.isoformat(), "--chunk-size", str(chunk_size),
                 "--wait"], cwd=ROOT, env=env, capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise CommandError(f"rescore failed:\n{result.stdout}{result.stderr}")
        finally:
            for p in procs:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        rate, counts = self._result(day, f"{count} worker{'s' if count > 1 else ''}")
        return rate, counts.get("peak_rss_mb", 0.0)

    # --- the naive loop --------------------------------------------------------------------

    def _naive_rate(self, sample: int) -> float:
        """One ORM query and one ORM save per subject, on a sample, for a scratch date whose
        rows are deleted afterwards."""
        from loans.models import Company, Person
        from scoring import selectors
        from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot, Score
        from scoring.scorer import score_batch

        day = self._free_date()
        n_p, n_c = Person.objects.count(), Company.objects.count()
        rng = random.Random(1)
        k_p = round(sample * n_p / (n_p + n_c))
        person_ids = rng.sample(list(Person.objects.values_list("id", flat=True)[: 200_000]), k_p)
        company_ids = rng.sample(list(Company.objects.values_list("id", flat=True)[: 200_000]), sample - k_p)
        started = time.perf_counter()
        for kind, ids, model, fk in (("person", person_ids, PersonCreditSnapshot, "person_id"),
                                     ("company", company_ids, CompanyCreditSnapshot, "company_id")):
            model_id, version, compiled = selectors.champion(kind)
            for sid in ids:
                snap = model.objects.filter(**{fk: sid, "as_of__lte": day}).order_by("-as_of").first()
                if snap is None:
                    continue
                b = score_batch(compiled, {name: [getattr(snap, name)] for name in compiled.names})
                Score(
                    subject_kind=kind, subject_id=sid, as_of=day, model_id=model_id, model_version=version,
                    score=int(b.score[0]), pd=float(b.pd[0]), tier=str(b.tier[0]),
                    in_default=bool(getattr(snap, "in_default", False)),
                    dimension_points=dict(zip(compiled.dimensions, b.dimension_points()[0].round(1).tolist())),
                    reason_codes=[{"code": c, "points_lost": float(v)}
                                  for c, v in zip(b.reason_codes[0], b.points_lost[0]) if c],
                ).save()
        seconds = time.perf_counter() - started
        Score.objects.filter(as_of=day).delete()
        return sample / seconds
