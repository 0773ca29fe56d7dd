"""``rescore --sync --threads N`` on PostgreSQL: chunks of one process run on several database
sessions at once, each chunk still its own transaction (as on Celery workers).  The data must be
committed for the other sessions to see it, hence transactional tests."""

import pytest
from django.core.management import CommandError, call_command

from loans.models import Person
from monitoring.models import ChunkStatus, Phase, RunStatus, ScoringRun
from scoring.models import Score

from .conftest import RUN_AS_OF, assert_one_score_each, seed_population
from .test_nightly import _drop_failing_trigger, _install_failing_trigger

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_sync_run_on_two_threads_scores_every_subject_once(on_postgres):
    # given
    population = seed_population(120)
    # when
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=50, threads=2)
    # then
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.chunks_done == run.chunks_total > 4
    assert_one_score_each(population)
    workers = set(run.chunks.values_list("worker", flat=True))
    assert len(workers) == 2 and all("/chunk-" in w for w in workers)  # two threads took chunks


def test_a_chunk_failing_on_one_thread_fails_the_run_and_the_resume_completes_it(on_postgres):
    # given: the database refuses one person's score
    population = seed_population(120)
    victim = Person.objects.order_by("id").values_list("id", flat=True)[120]
    _install_failing_trigger(victim)
    try:
        # when
        with pytest.raises(CommandError, match="injected fault"):
            call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=50, threads=2)
        # then: failed with its reason; the failed chunk wrote nothing; no company was scored
        run = ScoringRun.objects.get(as_of=RUN_AS_OF)
        assert run.status == RunStatus.FAILED and "injected fault" in run.error
        bad = run.chunks.get(phase=Phase.PERSONS, id_from__lte=victim, id_to__gt=victim)
        assert bad.status == ChunkStatus.FAILED
        assert not Score.objects.filter(
            as_of=RUN_AS_OF, subject_kind="person", subject_id__gte=bad.id_from, subject_id__lt=bad.id_to
        ).exists()
        assert not Score.objects.filter(as_of=RUN_AS_OF, subject_kind="company").exists()
        pending = run.chunks.exclude(status=ChunkStatus.DONE).count()
        assert pending >= 1
    finally:
        _drop_failing_trigger()
    # when: resumed
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=50, threads=2)
    # then
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2
    assert_one_score_each(population)
