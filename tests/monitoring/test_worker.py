"""The nightly run on real Celery workers: Redis broker and result backend, PostgreSQL.

Workers and the dispatching ``rescore`` are separate processes (``celery -A config worker``,
``manage.py rescore``) pointed at pytest's test database, so a worker can be SIGKILLed mid-run
like a real one.  Skipped with the reason on SQLite or without TEST_REDIS_URL."""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from loans.models import Person
from monitoring.models import ChunkStatus, Phase, RunStatus, ScoringChunk, ScoringRun
from scoring.models import Score

from .conftest import RUN_AS_OF, assert_one_score_each, seed_population

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))

SLEEPING = "wait_event = 'PgSleep' AND datname = current_database()"
HEARTBEAT_SECONDS = 2  # the processes' heartbeat: a run that stops beating is taken over after 6 s

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(on_postgres, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # no stale messages or chord counters
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url,
           "DJANGO_SETTINGS_MODULE": "config.settings.test", "LOG_LEVEL": "WARNING",
           "NIGHTLY_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS)}
    procs = []

    def start_worker(name):
        p = subprocess.Popen(
            [CELERY, "-A", "config", "worker", "-P", "solo", "-n", f"{name}@%h", "-l", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        procs.append(p)
        return p

    def manage(*args, timeout=90):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)

    yield start_worker, manage
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
    redis.Redis.from_url(redis_url).flushdb()


def test_a_nightly_run_on_two_real_workers_scores_every_subject_once(worker_env):
    start_worker, manage = worker_env
    # given: a few thousand subjects
    population = seed_population(1000)
    assert population["persons"] + population["companies"] > 3000
    start_worker("w1")
    start_worker("w2")
    # when
    result = manage("rescore", "--as-of", RUN_AS_OF.isoformat(), "--chunk-size", "400", "--wait", "--timeout", "60")
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.mode == "workers"
    assert run.chunks_done == run.chunks_total == run.chunks.filter(status=ChunkStatus.DONE).count()
    assert len(set(run.chunks.values_list("worker", flat=True))) == 2  # both workers took chunks
    assert_one_score_each(population)
    # a re-run of the finished date does nothing
    again = manage("rescore", "--as-of", RUN_AS_OF.isoformat(), "--wait")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert Score.objects.filter(as_of=RUN_AS_OF).count() == population["persons"] + population["companies"]


def test_a_worker_killed_mid_chunk_loses_nothing_and_a_plain_rerun_takes_over_once_its_lease_lapses(
    worker_env, settings
):
    from monitoring import services

    start_worker, manage = worker_env
    settings.NIGHTLY_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS  # this process judges leases as the others do
    population = seed_population(800)
    # given: the scores of one person in the third chunk take 60 s to insert, so the worker is
    # surely inside that chunk's transaction when it is killed
    victim = Person.objects.order_by("id").values_list("id", flat=True)[1000]
    with connection.cursor() as cur:
        cur.execute("CREATE FUNCTION _slow_score() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$")
        cur.execute("CREATE TRIGGER _slow_score BEFORE INSERT ON scoring_score FOR EACH ROW "
                    f"WHEN (NEW.subject_kind = 'person' AND NEW.subject_id = {victim}) EXECUTE FUNCTION _slow_score()")
    worker = start_worker("w1")
    dispatched = manage("rescore", "--as-of", RUN_AS_OF.isoformat(), "--chunk-size", "400")
    assert dispatched.returncode == 0, dispatched.stdout + dispatched.stderr
    victim_chunk = ScoringChunk.objects.get(phase=Phase.PERSONS, id_from__lte=victim, id_to__gt=victim)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM pg_stat_activity WHERE {SLEEPING}")
            if cur.fetchone()[0]:
                break
        time.sleep(0.2)
    else:
        pytest.fail("the worker never reached the slow chunk: " + worker.stderr.read1().decode())
    # while the chunk sleeps in the database, the worker's heartbeat keeps the run alive
    victim_chunk.refresh_from_db()
    deadline = time.monotonic() + 20
    while ScoringRun.objects.get(as_of=RUN_AS_OF).heartbeat_at < victim_chunk.started_at + datetime.timedelta(
        seconds=HEARTBEAT_SECONDS
    ):
        if time.monotonic() > deadline:
            pytest.fail("the run's heartbeat was not renewed during the chunk")
        time.sleep(0.2)

    # when: the worker dies (SIGKILL, no goodbye); PostgreSQL drops its connection
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    with connection.cursor() as cur:
        cur.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {SLEEPING}")
        time.sleep(0.5)
        cur.execute("DROP TRIGGER _slow_score ON scoring_score")
        cur.execute("DROP FUNCTION _slow_score()")

    # then: nothing of the killed chunk was written, the run still says running, and while its
    # lease lasts a second rescore for the date is refused
    victim_chunk.refresh_from_db()
    assert victim_chunk.status == ChunkStatus.PENDING
    assert not Score.objects.filter(
        as_of=RUN_AS_OF, subject_kind="person", subject_id__gte=victim_chunk.id_from, subject_id__lt=victim_chunk.id_to
    ).exists()
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.RUNNING and 0 < run.chunks_done < run.chunks_total
    done_before = set(run.chunks.filter(status=ChunkStatus.DONE).values_list("id", flat=True))
    with pytest.raises(services.RunAlreadyRunning):
        services.scoring_run_start(as_of=RUN_AS_OF, mode="workers", chunk_size=400)

    # when: two heartbeats are missed, a plain rescore (no --takeover) resumes it on a fresh worker
    deadline = time.monotonic() + 30
    while ScoringRun.objects.get(as_of=RUN_AS_OF).heartbeat_at > timezone.now() - services.run_lease():
        if time.monotonic() > deadline:
            pytest.fail("the dead worker's lease never lapsed")
        time.sleep(0.2)
    # The rerun starts before the fresh worker: a worker started first would take the dead
    # worker's still-queued chunks and renew the lease (the run goes on, correctly), and the
    # plain rerun would then be refused as "already running" (seen on a loaded machine).
    lapsed_at = ScoringRun.objects.get(as_of=RUN_AS_OF).heartbeat_at
    outcome = []
    rerun = threading.Thread(target=lambda: outcome.append(
        manage("rescore", "--as-of", RUN_AS_OF.isoformat(), "--wait", "--timeout", "60")))
    rerun.start()
    deadline = time.monotonic() + 60
    while ScoringRun.objects.get(as_of=RUN_AS_OF).heartbeat_at == lapsed_at and rerun.is_alive():
        if time.monotonic() > deadline:
            pytest.fail("the plain rerun never took the run over")
        time.sleep(0.2)
    start_worker("w2")
    rerun.join(120)
    (resumed,) = outcome
    # then: exactly one score per subject, the chunks done before the kill kept their scores
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2
    assert run.chunks_done == run.chunks_total
    assert_one_score_each(population)
    assert ScoringChunk.objects.filter(id__in=done_before, status=ChunkStatus.DONE).count() == len(done_before)
