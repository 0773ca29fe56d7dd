"""Benchmark: event-driven rescoring of one company with its related parties (PostgreSQL).

    DATABASE_URL=postgres://... python manage.py bench_event_rescore --runs 500

For each of ``--runs`` companies (drawn at random among those with credit data and current
related parties), new credit data dated today is written for the company and each of its
parties (not timed), then ``scoring.api.rescore_subjects`` rescores the parties, then every
company depending on them (the company itself among them) — the work done when the partner API
records new credit data.  Prints ``p50_ms``, ``p99_ms``, ``max_ms`` of that rescoring, the mean
number of companies rescored per event and the scores written.  Everything happens in one
transaction rolled back at the end (``--commit`` keeps it), so commit time is not included.

The date is today, or the day after the latest credit data when the database holds data dated
today or later (a database seeded today: a second snapshot of a day is refused).  Also printed:
``p95_ms``, the CPU time of this process per event (``cpu_ms_mean``: Python and NumPy; the rest
of the wall time is the database and waiting for a core), and with ``--statements`` the time of
each SQL statement of the rescoring (p50/p99 per statement, by its first words); ``--profile FILE``
writes a cProfile of the timed part (its overhead inflates the timings of that run).  The
figures are also split between events that froze a line (a company fell below the minimum or a
key person defaulted: the protective freeze, a full post-loan action with its history, ledger
entry and webhooks, runs in the same request) and events that did not.
"""

from __future__ import annotations

import collections
import cProfile
import datetime
import gc
import random
import re
import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark event-driven rescoring of one company with its parties: p50/p99 over --runs."

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=500)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--commit", action="store_true", help="keep the data and scores written")
        parser.add_argument("--statements", action="store_true", help="time each SQL statement of the rescoring")
        parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the timed rescoring to FILE (pstats)")

    def handle(self, *args, runs, seed, commit, statements=False, profile=None, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_event_rescore measures PostgreSQL: set DATABASE_URL=postgres://...")
        from config.demo import starter
        from loans.models import RelatedParty
        from scoring import api, selectors, services

        if len(selectors.champions()) < 2:
            raise CommandError("no champion scorecards: seed_demo first")
        today = timezone.localdate()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT GREATEST((SELECT max(as_of) FROM scoring_personcreditsnapshot), "
                "(SELECT max(as_of) FROM scoring_companycreditsnapshot))"
            )
            latest = cursor.fetchone()[0]
            if latest is not None and latest >= today:  # seeded today (or later)
                today = latest + datetime.timedelta(days=1)
            cursor.execute(
                "SELECT DISTINCT c.company_id FROM scoring_companycreditsnapshot c "
                "WHERE c.as_of < %s AND EXISTS (SELECT 1 FROM loans_relatedparty rp WHERE rp.company_id = c.company_id) "
                "ORDER BY 1 LIMIT 200000",
                [today],
            )
            candidates = [r[0] for r in cursor.fetchall()]
        if len(candidates) < runs:
            raise CommandError(f"only {len(candidates)} companies with credit data before {today}")
        rng = random.Random(seed)
        picked = rng.sample(candidates, runs)
        timings, cpu, companies, written = [], [], [], 0
        froze: list[bool] = []  # whether the event froze a line (a protective action, with its records)
        per_statement: dict[str, list[float]] = collections.defaultdict(list)
        timer = _StatementTimer(per_statement)
        gc_clock = _GcClock()
        gc.callbacks.append(gc_clock)
        profiler = cProfile.Profile() if profile else None
        try:
            with transaction.atomic():
                for i, cid in enumerate(picked):
                    parties = sorted(set(
                        RelatedParty.objects.filter(company_id=cid, valid_to__isnull=True).values_list("person_id", flat=True)
                    ))
                    bad = i % 3 == 0
                    for pid in parties:
                        try:
                            services.credit_snapshot_record(
                                subject_kind="person", subject_id=pid, as_of=today, rescore=False,
                                features=starter.GOOD_PERSON, in_default=bad,
                            )
                        except services.SnapshotExists:  # a person behind two picked companies
                            pass
                    services.credit_snapshot_record(subject_kind="company", subject_id=cid, as_of=today,
                                                    features=starter.GOOD_COMPANY, rescore=False)
                    actions_before = _last_action_id()
                    timer.on, gc_clock.on = statements, True
                    started, cpu_started = time.perf_counter(), time.process_time()
                    with connection.execute_wrapper(timer):
                        if profiler is not None:
                            profiler.enable()
                        result = api.rescore_subjects(person_ids=parties, company_ids=[cid], as_of=today)
                        if profiler is not None:
                            profiler.disable()
                    timings.append((time.perf_counter() - started) * 1000)
                    gc_clock.on = False
                    cpu.append((time.process_time() - cpu_started) * 1000)
                    froze.append(_last_action_id() != actions_before)
                    companies.append(len(result.companies_inline) + len(result.companies_queued))
                    written += result.persons_written + result.companies_written
                if not commit:
                    raise _Rollback
        except _Rollback:
            pass
        finally:
            gc.callbacks.remove(gc_clock)
        if profiler is not None:
            profiler.dump_stats(profile)
            self.stdout.write(f"profile written to {profile} (python -m pstats {profile})")
        plain = sorted(t for t, f in zip(timings, froze) if not f)
        freezing = sorted(t for t, f in zip(timings, froze) if f)
        timings.sort()
        p = lambda q: _pct(timings, q)  # noqa: E731
        self.stdout.write(f"runs: {runs}  scores_written: {written}  companies_per_event_mean: "
                          f"{statistics.mean(companies):.2f}  persons_per_event_mean: "
                          f"{(written - sum(companies)) / runs:.2f}")
        self.stdout.write(f"as_of: {today}")
        self.stdout.write(f"p50_ms: {p(0.50):.1f}  p95_ms: {p(0.95):.1f}  p99_ms: {p(0.99):.1f}  max_ms: {timings[-1]:.1f}  "
                          f"cpu_ms_mean: {statistics.mean(cpu):.2f}")
        for label, part in (("without a freeze", plain), ("with a protective freeze", freezing)):
            if part:
                self.stdout.write(f"  {len(part)} events {label}: p50_ms {_pct(part, 0.5):.1f}  p95_ms {_pct(part, 0.95):.1f}  "
                                  f"p99_ms {_pct(part, 0.99):.1f}  max_ms {part[-1]:.1f}")
        self.stdout.write(f"gc_in_rescoring: {len(gc_clock.pauses)} collections, longest {max(gc_clock.pauses, default=0):.1f} ms")
        for label, times in sorted(per_statement.items(), key=lambda kv: -sum(kv[1])):
            times.sort()
            self.stdout.write(f"  {len(times) / runs:4.1f}/event  p50 {_pct(times, 0.5):6.2f}  p99 {_pct(times, 0.99):6.2f}  "
                              f"max {times[-1]:6.2f} ms  {label}")


def _last_action_id():
    from monitoring.models import PostLoanAction

    return PostLoanAction.objects.order_by("-pk").values_list("pk", flat=True).first()


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class _GcClock:
    """A ``gc.callbacks`` entry: the pauses of the cyclic garbage collector inside the timed part."""

    def __init__(self):
        self.on, self.pauses, self._started = False, [], None

    def __call__(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        elif self.on and self._started is not None:
            self.pauses.append((time.perf_counter() - self._started) * 1000)


class _StatementTimer:
    """An ``execute_wrapper`` timing each statement, keyed by its first words."""

    def __init__(self, into: dict):
        self.into, self.on = into, False

    def __call__(self, execute, sql, params, many, context):
        if not self.on:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            label = re.sub(r'SAVEPOINT "[^"]*"', "SAVEPOINT", re.sub(r"\s+", " ", sql))[:70]
            self.into[label].append((time.perf_counter() - started) * 1000)
