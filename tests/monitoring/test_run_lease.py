"""The nightly run's lease on PostgreSQL: a run in progress renews its heartbeat from a thread
(so a long chunk never looks dead), and a rerun takes over only once heartbeats stop.
Transactional: the heartbeat writes on its own database session."""

import datetime
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from loans.models import Person
from monitoring import services
from monitoring.models import Phase, RunStatus, ScoringChunk, ScoringRun

from .conftest import RUN_AS_OF, assert_one_score_each, seed_population

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def wait_until(predicate, timeout=15.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def test_the_heartbeat_renews_a_running_run_and_nothing_else(on_postgres):
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    running = ScoringRun.objects.create(as_of=RUN_AS_OF, status=RunStatus.RUNNING, heartbeat_at=long_ago)
    failed = ScoringRun.objects.create(
        as_of=RUN_AS_OF - datetime.timedelta(days=1), status=RunStatus.FAILED, heartbeat_at=long_ago
    )
    beats = set()

    def renewed_twice():
        beats.add(ScoringRun.objects.get(pk=running.pk).heartbeat_at)
        return len(beats - {long_ago}) >= 2

    with services.run_heartbeat(run_id=running.pk, interval=0.02), services.run_heartbeat(run_id=failed.pk, interval=0.02):
        wait_until(renewed_twice, what="two heartbeats")
    assert ScoringRun.objects.get(pk=failed.pk).heartbeat_at == long_ago


def test_a_chunk_heartbeat_renews_its_run(on_postgres):
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    run = ScoringRun.objects.create(as_of=RUN_AS_OF, status=RunStatus.RUNNING, heartbeat_at=long_ago)
    chunk = ScoringChunk.objects.create(run=run, phase=Phase.PERSONS, id_from=1, id_to=100)
    with services.run_heartbeat(chunk_id=chunk.pk, interval=0.02):
        wait_until(lambda: ScoringRun.objects.get(pk=run.pk).heartbeat_at > long_ago, what="a heartbeat")


def test_a_chunk_longer_than_the_lease_keeps_its_run_owned(on_postgres, settings):
    # given: a lease of 0.3 s (heartbeat 0.1 s), and one person whose score takes 1 s to insert
    population = seed_population(120)
    settings.NIGHTLY_HEARTBEAT_SECONDS = 0.1
    victim = Person.objects.order_by("id").values_list("id", flat=True)[30]
    with connection.cursor() as cur:
        cur.execute("CREATE FUNCTION _slow_score() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$")
        cur.execute("CREATE TRIGGER _slow_score BEFORE INSERT ON scoring_score FOR EACH ROW "
                    f"WHEN (NEW.subject_kind = 'person' AND NEW.subject_id = {victim}) EXECUTE FUNCTION _slow_score()")
    errors = []

    def nightly():
        try:
            services.scoring_run_sync(as_of=RUN_AS_OF, chunk_size=100, threads=1)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    runner = threading.Thread(target=nightly)
    runner.start()
    try:
        # when: another rescore of the date starts while the slow chunk is well past the lease
        def slow_chunk_past_lease():
            chunk = ScoringChunk.objects.filter(phase=Phase.PERSONS, id_from__lte=victim, id_to__gt=victim).first()
            return chunk is not None and chunk.started_at is not None and chunk.finished_at is None and (
                timezone.now() - chunk.started_at > services.run_lease() * 2
            )

        wait_until(slow_chunk_past_lease, what="the slow chunk to outlive the lease")
        # then: it is refused, the run being alive
        with pytest.raises(services.RunAlreadyRunning):
            services.scoring_run_start(as_of=RUN_AS_OF, chunk_size=100)
    finally:
        runner.join(30)
        with connection.cursor() as cur:
            cur.execute("DROP TRIGGER _slow_score ON scoring_score")
            cur.execute("DROP FUNCTION _slow_score()")
    assert errors == []
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 1
    assert_one_score_each(population)
