"""Load benchmark of the partner API (a script, not a timed test).

    python manage.py bench_api                      # scratch DB sme_bench on 127.0.0.1
    python manage.py bench_api --requests 5000 --client wrk --concurrency 16 --workers 5
    python manage.py bench_api --client wrk         # the lighter load generator (apt-get install -y wrk)

Creates (or reuses) the scratch PostgreSQL database, migrates it, seeds distinct companies
with credit data and scores them (so the timed run finds fresh scores and measures the
normal online path), starts gunicorn on 127.0.0.1, fires POST /api/v1/applications/ from a
separate load process and prints requests_per_s, p50_ms, p99_ms and errors.

Sizing for a small box (2 cores, PostgreSQL on the same machine): measured on this 2-core
VM, cores + 1 sync workers with one connection per worker (closed loop) gave the same
throughput as 5 workers × 16 connections (~90 req/s) at a fifth of the latency (p99 61 ms
against 305 ms): once the CPUs are busy, more connections only queue.  Those are the
defaults; raise ``--concurrency`` to see the queueing.  The load generator shares the cores;
``--client wrk`` (a compiled event loop, ``apt-get install -y wrk``) is the light one (one
connection per wrk thread, each thread submitting its own slice of the companies); the
default is the threaded stdlib client, which needs nothing installed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.demo import api_bench as bench


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(BaseCommand):
    help = "Benchmark POST /api/v1/applications/ under gunicorn on PostgreSQL (loopback only)."

    def add_arguments(self, parser):
        parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/sme_bench",
                            help="A scratch PostgreSQL database, dropped and created anew; its name must contain 'bench'.")
        parser.add_argument("--requests", type=int, default=6000, help="Applications to submit (one per company).")
        parser.add_argument("--concurrency", type=int, default=(os.cpu_count() or 2) + 1,
                            help="concurrent connections (default: one per gunicorn worker)")
        parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) + 1, help="gunicorn workers")
        parser.add_argument("--worker-class", choices=["sync", "gthread"], default="sync")
        parser.add_argument("--threads", type=int, default=2, help="threads per worker (gthread only)")
        parser.add_argument("--client", choices=["wrk", "python"], default="python",
                            help=f"load generator: the Python client, or wrk (lighter; needs: {bench.WRK_INSTALL_HINT})")
        parser.add_argument("--warmup", type=int, default=100)
        parser.add_argument("--timeout", type=float, default=300, help="Stop firing after this many seconds.")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--scenario", choices=["applications", "read"], default="applications",
                            help="applications: POST /applications/ per distinct company (the target); "
                                 "read: GET /companies/{id}/ (the API layer without underwriting).")
        parser.add_argument("--synchronous-commit", choices=["on", "off"], default="on",
                            help="Diagnostic: 'off' on the scratch DB shows how much of the time is WAL flushes.")
        # internal sub-steps, run in subprocesses against the scratch database
        parser.add_argument("--prepare", type=int, default=None, help=argparse_suppress())
        parser.add_argument("--load", default=None, help=argparse_suppress())

    def handle(self, *args, **opts):
        if opts["prepare"] is not None:
            out = bench.prepare(companies=opts["prepare"], seed=opts["seed"] or int(time.time()))
            self.stdout.write(json.dumps(out))
            return
        if opts["load"] is not None:
            spec = json.loads(Path(opts["load"]).read_text())
            loader = bench.load_wrk if spec.pop("client", "python") == "wrk" else bench.load
            self.stdout.write(json.dumps(loader(**spec)))
            return
        self.run(**opts)

    def run(self, *, database_url, requests, concurrency, workers, warmup, timeout, seed, synchronous_commit, scenario,
            worker_class, threads, client, **_):
        url = urlsplit(database_url)
        if url.scheme not in ("postgres", "postgresql") or url.hostname not in ("127.0.0.1", "localhost"):
            raise CommandError("--database-url must be a PostgreSQL database on 127.0.0.1")
        if requests < 1 or requests > 100_000:
            raise CommandError("--requests must be between 1 and 100000")
        if client == "wrk":
            import shutil

            if shutil.which("wrk") is None:
                raise CommandError(f"wrk is not installed; install it ({bench.WRK_INSTALL_HINT}) or pass --client python")
            if scenario != "applications":
                raise CommandError("--client wrk runs the applications scenario; use --client python for --scenario read")
        self._ensure_database(database_url, synchronous_commit)
        sep = "&" if "?" in database_url else "?"
        served_url = f"{database_url}{sep}conn_max_age=600"  # persistent connections per worker
        env = bench.bench_env(database_url)
        self.stdout.write(f"migrating and seeding {requests + warmup} companies in {url.path.lstrip('/')} …")
        bench.manage("migrate", "--noinput", env=env)
        started = time.perf_counter()
        prepared = bench.manage("bench_api", "--prepare", str(requests + warmup),
                                *(["--seed", str(seed)] if seed is not None else []), env=env)
        data = json.loads(prepared.stdout.strip().splitlines()[-1])
        self.stdout.write(f"seeded in {time.perf_counter() - started:.1f} s")
        self.stdout.write(
            f"fresh scores before the timed run: {data['fresh_companies']}/{len(data['company_ids'])} companies, "
            f"{data['fresh_persons']}/{data['persons']} persons scored today by the champions "
            "(the measured path reads scores; nothing is scored on demand)"
        )

        port = _free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        log_path = Path(f"/tmp/bench_api_gunicorn_{port}.log")
        log = log_path.open("w")
        server = subprocess.Popen(
            [gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
             "--worker-class", worker_class, *(["--threads", str(threads)] if worker_class == "gthread" else []),
             "--backlog", "2048", "--log-level", "warning"],
            cwd=settings.BASE_DIR, env=bench.bench_env(served_url, DJANGO_SETTINGS_MODULE="config.settings.local"),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            bench.wait_until_up(port)
            spec_path = Path(f"/tmp/bench_api_{port}.json")
            spec_path.write_text(json.dumps({
                "port": port, "key": data["key"], "company_ids": data["company_ids"],
                "concurrency": concurrency, "warmup": warmup, "timeout_s": timeout, "scenario": scenario,
                "client": client,
            } | {"company_ids": data["company_ids"][: warmup + requests]}))
            kind = f"{worker_class} workers" + (f" × {threads} threads" if worker_class == "gthread" else "")
            self.stdout.write(f"gunicorn: {workers} {kind} on 127.0.0.1:{port}; firing {requests} {scenario} requests "
                              f"with {concurrency} concurrent connections from {client} …")
            out = bench.manage("bench_api", "--load", str(spec_path), env=env)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            spec_path.unlink(missing_ok=True)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            log.close()
        self.stdout.write(f"gunicorn log: {log_path}")
        self.stdout.write(f"requests: {result['requests']}  seconds: {result['seconds']}  "
                          f"scenario: {scenario}  synchronous_commit: {synchronous_commit}  workers: {workers} {worker_class}  "
                          f"concurrency: {concurrency}  client: {client}")
        self.stdout.write(f"load average (1/5/15 min) after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        self.stdout.write(f"requests_per_s: {result['requests_per_s']}")
        self.stdout.write(f"p50_ms: {result['p50_ms']}")
        self.stdout.write(f"p99_ms: {result['p99_ms']}")
        self.stdout.write(f"errors: {result['errors']}" + (f"  {result['error_kinds']}" if result["errors"] else ""))

    def _ensure_database(self, database_url: str, synchronous_commit: str = "on") -> None:
        import psycopg

        url = urlsplit(database_url)
        name = url.path.lstrip("/")
        admin = f"host={url.hostname} port={url.port or 5432} user={url.username or 'root'} dbname=postgres"
        if "bench" not in name or not name.replace("_", "").isalnum():
            raise CommandError("the scratch database's name must contain 'bench' (it is dropped and created anew)")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = {"off" if synchronous_commit == "off" else "on"}')


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
