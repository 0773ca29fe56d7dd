"""The partner API load benchmark: seed a scratch PostgreSQL database, serve it with
gunicorn on 127.0.0.1, submit applications for distinct companies from a separate load
process, and report requests per second, p50, p99 and errors.  Loopback only, bounded in
requests and time.  Run it through ``manage.py bench_api``."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings

SCALING = {"base_points": 600.0, "base_odds": 19.0, "pdo": 40.0, "factor": 57.70780163555854,
           "offset": 430.0810361751152, "min_score": 0, "max_score": 950}
TIERS = [["A", 750], ["B", 700], ["C", 650], ["D", 600], ["E", 0]]
# Small hand-built champions: the bench measures the API, not model training.
PERSON_CARD = {"characteristics": [
    {"name": "ontime_ratio_24m", "dimension": "credit_history", "kind": "numeric",
     "edges": [0.8, 0.95], "points": [20.0, 60.0, 110.0], "points_missing": 40.0},
    {"name": "debt_to_income", "dimension": "ability", "kind": "numeric",
     "edges": [0.3, 0.6], "points": [150.0, 110.0, 40.0], "points_missing": 90.0},
    {"name": "verification_level", "dimension": "identity", "kind": "numeric",
     "edges": [1, 2, 3], "points": [100.0, 140.0, 180.0, 200.0], "points_missing": 100.0},
    {"name": "connections_with_defaults", "dimension": "social", "kind": "numeric",
     "edges": [1, 3], "points": [260.0, 200.0, 120.0], "points_missing": 200.0},
], "scaling": SCALING, "tiers": TIERS}
COMPANY_CARD = {"characteristics": [
    {"name": "revenue_12m", "dimension": "scale", "kind": "numeric",
     "edges": [1e6, 1e7], "points": [150.0, 250.0, 330.0], "points_missing": 180.0},
    {"name": "lawsuits_24m", "dimension": "compliance", "kind": "numeric",
     "edges": [1, 3], "points": [380.0, 300.0, 200.0], "points_missing": 300.0},
], "scaling": SCALING, "tiers": TIERS}


def prepare(*, companies: int, seed: int) -> dict:
    """In the scratch database: demo borrowers owned by a new bench partner, credit data,
    champions and today's scores (so each application costs what a fresh-scored one does)."""
    from django.db import transaction
    from django.utils import timezone

    from loans import demo
    from loans.models import Company, Partner, RelatedParty
    from scoring import batch, selectors, services

    from .models import PartnerAPIKey

    as_of = timezone.localdate()
    demo.ensure_products()
    before = Company.objects.order_by("-id").values_list("id", flat=True).first() or 0
    demo.load(demo.generate(companies=companies, seed=seed, as_of=as_of))
    company_ids = list(Company.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True))
    partner = Partner.objects.create(name=f"bench-{int(time.time())}")
    Company.objects.filter(id__in=company_ids).update(partner=partner)  # seeding, not a business write
    _, key = PartnerAPIKey.objects.create_key(name="bench", partner=partner)
    if set(selectors.champion_ids()) != {"person", "company"}:
        for kind, card in (("person", PERSON_CARD), ("company", COMPANY_CARD)):
            model = services.score_model_create(subject_kind=kind, scorecard=card, metrics={}, reference_distribution={}, trained_on={})
            services.score_model_promote(model=model)
    person_ids = sorted(set(RelatedParty.objects.filter(company_id__in=company_ids).values_list("person_id", flat=True)))
    with transaction.atomic():
        for pid in person_ids:
            services.credit_snapshot_record(subject_kind="person", subject_id=pid, as_of=as_of, source="bench", features={
                "ontime_ratio_24m": 0.99, "debt_to_income": 0.1, "verification_level": 3, "connections_with_defaults": 0})
        for cid in company_ids:
            services.credit_snapshot_record(subject_kind="company", subject_id=cid, as_of=as_of, source="bench",
                                            features={"revenue_12m": 5e7, "lawsuits_24m": 0})
    batch.score_persons(person_ids=person_ids, as_of=as_of)
    batch.score_companies(company_ids=company_ids, as_of=as_of)
    return {"key": key, "company_ids": company_ids}


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def load(*, port: int, key: str, company_ids: list[int], concurrency: int, warmup: int, timeout_s: float,
         scenario: str = "applications") -> dict:
    """The load generator (run in its own process).  ``applications``: each request applies for
    a distinct company; ``read``: each request reads a distinct company (the API layer alone)."""
    lock = threading.Lock()
    queue = list(reversed(company_ids))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s
    body_for = lambda cid: json.dumps(  # noqa: E731
        {"company": cid, "product": "sme-revolving", "amount": "100000.00", "term_months": 12}
    ).encode()
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}

    def one(cid: int) -> tuple[float, str | None]:
        started = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            if scenario == "read":
                conn.request("GET", f"/api/v1/companies/{cid}/", headers=headers)
                expected = 200
            else:
                conn.request("POST", "/api/v1/applications/", body=body_for(cid), headers=headers)
                expected = 201
            resp = conn.getresponse()
            resp.read()
            conn.close()
            err = None if resp.status == expected else f"HTTP {resp.status}"
        except OSError as exc:
            err = type(exc).__name__
        return (time.perf_counter() - started) * 1000, err

    def worker(record: bool):
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                cid = queue.pop()
            ms, err = one(cid)
            if record:
                with lock:
                    latencies.append(ms)
                    if err:
                        errors[err] = errors.get(err, 0) + 1

    warm = [queue.pop() for _ in range(min(warmup, len(queue)))]
    for cid in warm:
        one(cid)
    threads = [threading.Thread(target=worker, args=(True,)) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile(latencies, 50), 1),
        "p99_ms": round(_percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else float("nan"),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def wait_until_up(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/schema/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within {seconds:.0f} s")


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done


def bench_env(database_url: str, **extra: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "API_THROTTLE_RATE": "1000000/min", "CELERY_BROKER_URL": ""}
    env.update(extra)
    return env
