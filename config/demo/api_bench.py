"""The partner API load benchmark: seed a scratch PostgreSQL database, serve it with
gunicorn on 127.0.0.1, submit applications for distinct companies from a separate load
process, and report requests per second, p50, p99 and errors.  Loopback only, bounded in
requests and time.  Run it through ``manage.py bench_api``."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings


def prepare(*, companies: int, seed: int) -> dict:
    """In the scratch database: demo borrowers owned by a new bench partner, credit data,
    champions and today's scores (so each application costs what a fresh-scored one does)."""
    from django.db import transaction
    from django.utils import timezone

    from config.demo import borrowers, starter
    from loans.api.models import PartnerAPIKey
    from loans.models import Company, Partner, Person, RelatedParty
    from scoring import batch, services

    as_of = timezone.localdate()
    borrowers.ensure_products()
    before = Company.objects.order_by("-id").values_list("id", flat=True).first() or 0
    borrowers.load(borrowers.generate(companies=companies, seed=seed, as_of=as_of))
    company_ids = list(Company.objects.filter(id__gt=before).order_by("id").values_list("id", flat=True))
    partner = Partner.objects.create(name=f"bench-{int(time.time())}")
    Company.objects.filter(id__in=company_ids).update(partner=partner)  # seeding, not a business write
    # A company's related parties are in its partner's file (README, "Whose data counts").
    Person.objects.filter(roles__company_id__in=company_ids).update(partner=partner)
    _, key = PartnerAPIKey.objects.create_key(name="bench", partner=partner)
    # Small hand-built champions when none exist: the bench measures the API, not training.
    starter.promote_starter_champions()
    person_ids = sorted(set(RelatedParty.objects.filter(company_id__in=company_ids).values_list("person_id", flat=True)))
    with transaction.atomic():
        for pid in person_ids:
            services.credit_snapshot_record(subject_kind="person", subject_id=pid, as_of=as_of, source="bench", rescore=False, features={
                "ontime_ratio_24m": 0.99, "debt_to_income": 0.1, "verification_level": 3, "connections_with_defaults": 0})
        for cid in company_ids:
            services.credit_snapshot_record(subject_kind="company", subject_id=cid, as_of=as_of, source="bench", rescore=False,
                                            features={"revenue_12m": 5e7, "lawsuits_24m": 0})
    batch.score_persons(person_ids=person_ids, as_of=as_of)
    batch.score_companies(company_ids=company_ids, as_of=as_of)
    # Check what the timed run will find: today's scores by the champions for every company
    # and person, so each application takes the normal online path (reads, no re-scoring).
    from scoring.models import LatestScore

    fresh = LatestScore.objects.filter(as_of=as_of)
    return {
        "key": key, "company_ids": company_ids,
        "fresh_companies": fresh.filter(subject_kind="company", subject_id__in=company_ids).count(),
        "fresh_persons": fresh.filter(subject_kind="person", subject_id__in=person_ids).count(),
        "persons": len(person_ids),
    }


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


WRK_INSTALL_HINT = "apt-get install -y wrk  (Debian/Ubuntu; or: brew install wrk)"

# One wrk thread per connection (-t N -c N), each walking its own contiguous slice of the
# company ids, one application per company.  Why one connection per thread: gunicorn's sync
# workers close the connection after each answer and wrk reconnects at once, so a thread can
# only stop cleanly when its single connection has its last answer.  Then, in ``response``:
#   * the thread points its address at a closed port before stopping: the reconnect that wrk
#     makes right after ``response`` returns must not open an idle connection to gunicorn,
#     which would hold a sync worker until wrk exits;
#   * it prints WRK_THREAD_DONE; when every thread has, the Python side sends wrk SIGINT,
#     which ends wrk's fixed-duration sleep, so its summary's duration (and requests per
#     second) is the real time the slices took, not the -d ceiling.
# Errors: wrk's socket errors and non-2xx answers.
_WRK_LUA = """
local ids = {%(ids)s}
local nthreads = %(threads)d
local key = "%(key)s"
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
end

function init(args)
  local base, extra = math.floor(#ids / nthreads), #ids %% nthreads
  nxt = tid * base + math.min(tid, extra) + 1
  last = nxt + base - 1 + (tid < extra and 1 or 0)
  pending = last - nxt + 1
  wrk.method = "POST"
  wrk.path = "/api/v1/applications/"
  wrk.headers["Authorization"] = "Api-Key " .. key
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local cid = ids[nxt]
  nxt = nxt + 1
  return wrk.format(nil, nil, nil,
    '{"company": ' .. cid .. ', "product": "sme-revolving", "amount": "100000.00", "term_months": 12}')
end

function response(status, headers, body)
  pending = pending - 1
  if pending == 0 then
    wrk.thread.addr = wrk.lookup("127.0.0.1", "%(closed_port)d")[1]
    wrk.thread:stop()
    io.write("WRK_THREAD_DONE\\n")
    io.flush()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "seconds": %%.3f, "p50_us": %%d, "p99_us": %%d, "mean_us": %%.1f, ' ..
    '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_wrk(*, port: int, key: str, company_ids: list[int], concurrency: int, warmup: int, timeout_s: float, **_) -> dict:
    """The load generator as a compiled tool: wrk with a small Lua script (distinct companies
    per request).  wrk's event loop costs a fraction of a Python client's CPU, which matters
    when client, gunicorn and PostgreSQL share two cores."""
    import shutil

    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError(f"wrk is not installed: {WRK_INSTALL_HINT}, or pass --client python")
    warm, ids = company_ids[:warmup], company_ids[warmup:]
    _warm_up(port, key, warm)
    threads = max(1, min(concurrency, len(ids)))
    script = Path(f"/tmp/bench_api_wrk_{port}.lua")
    script.write_text(_WRK_LUA % {"ids": ",".join(map(str, ids)), "threads": threads, "key": key,
                                  "closed_port": _closed_port()})
    try:
        proc = subprocess.Popen(
            [wrk, "-t", str(threads), "-c", str(threads), "-d", f"{int(timeout_s)}s",
             "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        out, finished = [], 0
        for line in proc.stdout:  # until wrk exits: at -d, or at the SIGINT below
            out.append(line)
            if line.startswith("WRK_THREAD_DONE"):
                finished += 1
                if finished == threads:
                    proc.send_signal(signal.SIGINT)
        stderr = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        script.unlink(missing_ok=True)
    line = next((ln for ln in out if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed:\n{''.join(out)[-2000:]}\n{stderr[-2000:]}")
    r = json.loads(line[len("WRK_JSON "):])
    errors = {k: r[k] for k in ("connect", "read", "write", "status", "timeout") if r[k]}
    return {
        "requests": r["requests"],
        "seconds": round(r["seconds"], 2),
        "requests_per_s": round(r["requests"] / r["seconds"], 1) if r["seconds"] else 0.0,
        "p50_ms": round(r["p50_us"] / 1000, 1),
        "p99_ms": round(r["p99_us"] / 1000, 1),
        "mean_ms": round(r["mean_us"] / 1000, 1),
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def _warm_up(port: int, key: str, company_ids: list[int]) -> None:
    """A few sequential applications so every worker has imported and connected."""
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json"}
    for cid in company_ids:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        body = json.dumps({"company": cid, "product": "sme-revolving", "amount": "100000.00", "term_months": 12})
        conn.request("POST", "/api/v1/applications/", body=body, headers=headers)
        conn.getresponse().read()
        conn.close()


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
