"""Benchmark: the vectorized scorer on one core, and on-demand company scores on this DB.

Prints ``rows:``, ``seconds:``, ``rows_per_s:`` for the scorer over in-memory rows, then the
p50/p99 latency of ``scoring.api.company_scores`` for fresh scores (pointer reads) and for
on-demand scoring (a date with no scores yet; rolled back afterwards).
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import datetime  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from django.core.management.base import BaseCommand  # noqa: E402
from django.db import transaction  # noqa: E402

from scoring import features, scorer  # noqa: E402


class Command(BaseCommand):
    help = "Benchmark the vectorized scorer and on-demand company scoring."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--companies", type=int, default=200)
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=None)

    def _scorecard(self):
        from scoring.models import ScoreModel

        model = ScoreModel.objects.filter(subject_kind="person", status="champion").first()
        if model:
            return model.scorecard, f"champion person scorecard v{model.version}"
        # a synthetic 15-characteristic scorecard when the database has none
        chars = [
            {"name": f.name, "dimension": f.dimension, "kind": "numeric",
             "edges": list(np.linspace(f.min_value, f.max_value, 7)[1:-1]),
             "points": [10.0 * i for i in range(6)], "points_missing": 15.0}
            for f in features.PERSON_FEATURES
        ]
        return {"characteristics": chars, "scaling": {"offset": 430.0, "factor": 57.7}}, "synthetic scorecard"

    def handle(self, *args, **opts):
        sc, label = self._scorecard()
        compiled = scorer.compile_scorecard(sc)
        n = opts["rows"]
        rng = np.random.default_rng(0)
        cols = {}
        for name in compiled.names:
            f = next((x for kind in ("person", "company") for x in features.FEATURES_BY_KIND[kind] if x.name == name), None)
            lo, hi = (f.min_value, min(f.max_value, 1e6)) if f else (0.0, 100.0)
            col = rng.uniform(lo, hi, n)
            col[rng.random(n) < 0.05] = np.nan
            cols[name] = col
        runs = []
        for _ in range(opts["repeat"] + 1):  # the first run pays for page faults: not counted
            t = time.perf_counter()
            batch = scorer.score_batch(compiled, cols)
            runs.append(time.perf_counter() - t)
        secs = float(np.median(runs[1:]))
        self.stdout.write(f"scorer: {label}, {len(compiled.names)} characteristics, one thread")
        self.stdout.write(f"rows: {n}")
        self.stdout.write(f"seconds: {secs:.3f}")
        self.stdout.write(f"rows_per_s: {int(n / secs)}")
        self.stdout.write(f"runs: {', '.join(f'{r:.3f}' for r in runs)} (first is warm-up; seconds = median of the rest)")
        assert batch.score.shape == (n,)
        self._latency(opts)

    def _latency(self, opts):
        from scoring.api import ScoringUnavailable, company_scores
        from scoring.models import CompanyCreditSnapshot, LatestScore

        ids = list(
            LatestScore.objects.filter(subject_kind="company").order_by("subject_id").values_list("subject_id", "as_of")[: opts["companies"] * 50]
        )
        if not ids:
            self.stdout.write("on-demand latency: no scored companies in this database (run seed_demo first)")
            return
        rng = np.random.default_rng(1)
        picks = [ids[i] for i in rng.choice(len(ids), size=min(opts["companies"], len(ids)), replace=False)]
        as_of = opts["as_of"] or max(a for _, a in picks)

        def measure(day, max_age):
            times = []
            for cid, _ in picks:
                t = time.perf_counter()
                try:
                    company_scores(company_id=cid, as_of=day, max_age_days=max_age)
                except ScoringUnavailable:
                    continue
                times.append((time.perf_counter() - t) * 1000)
            return np.array(times)

        fresh = measure(as_of, 3650)
        self.stdout.write(
            f"company_scores fresh (pointer reads): n={len(fresh)} p50_ms: {np.percentile(fresh, 50):.2f} p99_ms: {np.percentile(fresh, 99):.2f}"
        )
        last = CompanyCreditSnapshot.objects.order_by("-as_of").values_list("as_of", flat=True).first()
        day = max(as_of, last) + datetime.timedelta(days=1)
        with transaction.atomic():
            scored = measure(day, 0)
            transaction.set_rollback(True)
        self.stdout.write(
            f"company_scores on demand (company and its parties scored, writes included, rolled back): "
            f"n={len(scored)} p50_ms: {np.percentile(scored, 50):.2f} p99_ms: {np.percentile(scored, 99):.2f}"
        )
