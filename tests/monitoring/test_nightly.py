"""The nightly run in-process (--sync): SQLite and PostgreSQL."""

import datetime
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from monitoring import services
from monitoring.models import Alert, ChunkStatus, Phase, RunStatus, ScoringChunk, ScoringRun
from scoring.models import LatestScore, ModelStatus, Score, ScoreModel

from .conftest import RUN_AS_OF, SEED_AS_OF, assert_one_score_each

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_sync_run_scores_every_subject_once_and_moves_latest_pointers(population, capsys):
    # when
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    # then
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.phase == Phase.DONE
    assert run.chunks_total == run.chunks_done == run.chunks.count() > 4
    assert run.counts["persons"] == population["persons"]
    assert run.counts["companies"] == population["companies"]
    assert {"persons", "companies", "alerts", "servicing", "total"} <= set(run.timings)
    assert run.finished_at and run.error == ""
    assert_one_score_each(population)
    assert not LatestScore.objects.exclude(as_of=RUN_AS_OF).exists()
    assert "succeeded" in capsys.readouterr().out


def test_rerunning_a_finished_date_writes_nothing(population, capsys):
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    before = Score.objects.count()
    # when: the command again, and a chunk delivered twice
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    again = services.chunk_execute(chunk_id=ScoringChunk.objects.first().pk)
    # then
    assert "already succeeded; nothing to do" in capsys.readouterr().out
    assert again == 0
    assert Score.objects.count() == before
    assert ScoringRun.objects.get(as_of=RUN_AS_OF).attempts == 1


def _install_failing_trigger(subject_id: int):
    """A real fault, not a patched function: the database refuses the scores of one person, so
    the chunk holding that person fails and its transaction rolls back."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "CREATE FUNCTION _refuse_score() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected fault: disk full'; END $$"
            )
            cur.execute(
                "CREATE TRIGGER _refuse_score BEFORE INSERT ON scoring_score FOR EACH ROW "
                f"WHEN (NEW.subject_kind = 'person' AND NEW.subject_id = {subject_id}) "
                "EXECUTE FUNCTION _refuse_score()"
            )
        else:
            cur.execute(
                "CREATE TRIGGER _refuse_score BEFORE INSERT ON scoring_score "
                f"WHEN NEW.subject_kind = 'person' AND NEW.subject_id = {subject_id} "
                "BEGIN SELECT RAISE(ABORT, 'injected fault: disk full'); END"
            )


def _drop_failing_trigger():
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER _refuse_score ON scoring_score")
            cur.execute("DROP FUNCTION _refuse_score()")
        else:
            cur.execute("DROP TRIGGER _refuse_score")


def test_a_failed_chunk_fails_the_run_and_the_resume_scores_only_what_is_missing(population):
    # given: the database refuses one person's score, in the third person chunk
    from loans.models import Person

    victim = Person.objects.order_by("id").values_list("id", flat=True)[250]
    _install_failing_trigger(victim)
    # when
    with pytest.raises(CommandError, match="injected fault"):
        call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    # then: failed with its reason, the failed chunk wrote nothing, earlier chunks are kept
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.FAILED
    assert "persons chunk" in run.error and "injected fault" in run.error
    bad = run.chunks.get(phase=Phase.PERSONS, id_from__lte=victim, id_to__gt=victim)
    assert bad.status == ChunkStatus.FAILED
    assert not Score.objects.filter(
        as_of=RUN_AS_OF, subject_kind="person", subject_id__gte=bad.id_from, subject_id__lt=bad.id_to
    ).exists()
    done_before = set(run.chunks.filter(status=ChunkStatus.DONE).values_list("id", flat=True))
    assert len(done_before) == 2
    assert not Score.objects.filter(as_of=RUN_AS_OF, subject_kind="company").exists()

    # when: the fault is repaired and the run resumed
    _drop_failing_trigger()
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    # then: one score per subject; the chunks done before were not scored again
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2 and run.error == ""
    assert_one_score_each(population)
    assert set(run.chunks.filter(id__in=done_before).values_list("attempts", flat=True)) == {1}
    bad.refresh_from_db()
    assert bad.status == ChunkStatus.DONE and bad.attempts == 2


def test_a_date_in_the_future_fails_with_its_reason(population):
    future = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(CommandError, match="in the future"):
        call_command("rescore", as_of=future, sync=True)
    run = ScoringRun.objects.get(as_of=future)
    assert run.status == RunStatus.FAILED and "in the future" in run.error
    assert not Score.objects.filter(as_of=future).exists()


def test_a_date_before_the_first_credit_data_fails_with_its_reason(population):
    early = SEED_AS_OF - datetime.timedelta(days=365)
    with pytest.raises(CommandError, match="before the first person credit data"):
        call_command("rescore", as_of=early, sync=True)
    assert ScoringRun.objects.get(as_of=early).status == RunStatus.FAILED


def test_no_champion_fails_with_its_reason(population):
    ScoreModel.objects.filter(subject_kind="company").update(status=ModelStatus.RETIRED)
    with pytest.raises(CommandError, match="no champion scorecard for company"):
        call_command("rescore", as_of=RUN_AS_OF, sync=True)
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.FAILED and "no champion" in run.error
    assert not Score.objects.filter(as_of=RUN_AS_OF).exists()


def test_a_running_date_is_refused_unless_taken_over(population):
    # given: a run that another process owns (fresh heartbeat)
    ScoringRun.objects.create(as_of=RUN_AS_OF, status=RunStatus.RUNNING, heartbeat_at=timezone.now())
    # when / then
    with pytest.raises(CommandError, match="already running"):
        call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    assert not Score.objects.filter(as_of=RUN_AS_OF).exists()
    # the operator may take it over at once
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100, takeover=True)
    assert ScoringRun.objects.get(as_of=RUN_AS_OF).status == RunStatus.SUCCEEDED
    assert_one_score_each(population)


def test_a_run_that_missed_two_heartbeats_is_taken_over_by_a_plain_rerun(population, settings):
    # given: a run killed mid-way, its last heartbeat three intervals ago (two beats missed)
    interval = getattr(settings, "NIGHTLY_HEARTBEAT_SECONDS", 30)
    ScoringRun.objects.create(
        as_of=RUN_AS_OF, status=RunStatus.RUNNING, attempts=1,
        heartbeat_at=timezone.now() - datetime.timedelta(seconds=3 * interval + 1),
    )
    # when: the rerun, no --takeover
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    # then
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2
    assert_one_score_each(population)


def test_a_run_within_its_lease_is_refused_and_says_when_it_lapses(settings):
    settings.NIGHTLY_HEARTBEAT_SECONDS = 30
    ScoringRun.objects.create(
        as_of=RUN_AS_OF, status=RunStatus.RUNNING, heartbeat_at=timezone.now() - datetime.timedelta(seconds=80)
    )
    with pytest.raises(services.RunAlreadyRunning, match=r"missed 2 heartbeats \(90 s without one\)"):
        services.scoring_run_start(as_of=RUN_AS_OF, chunk_size=100)
    assert ScoringRun.objects.get(as_of=RUN_AS_OF).attempts == 0


@pytest.mark.django_db(transaction=True)
def test_a_locked_run_row_is_reported_as_already_running(on_postgres):
    """Two starts for one date cannot overlap: while one holds the run row, the other is told
    at once (NOWAIT), before it checks or writes anything."""
    import threading

    from django.db import connections, transaction

    run = ScoringRun.objects.create(as_of=RUN_AS_OF)
    errors = []

    def other_process():
        try:
            services.scoring_run_start(as_of=RUN_AS_OF, chunk_size=100)
        except services.RunRefused as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    # given: this connection holds the run row (as a run being advanced does)
    with transaction.atomic():
        ScoringRun.objects.select_for_update().filter(pk=run.pk).first()
        # when: another connection tries to start the same date
        t = threading.Thread(target=other_process)
        t.start()
        t.join(10)
    # then
    assert len(errors) == 1 and isinstance(errors[0], services.RunAlreadyRunning), errors
    run.refresh_from_db()
    assert run.status == RunStatus.PENDING and run.attempts == 0


def test_score_drop_rule_raises_one_warning_per_subject_and_date(population):
    # given: three persons whose previous score (SEED_AS_OF) was well above today's
    prev = list(Score.objects.filter(as_of=SEED_AS_OF, subject_kind="person", score__lt=800).order_by("id")[:3])
    for score, up in zip(prev, (60, 120, 49)):  # 49: below the threshold
        # (scores are never updated in the product; the test raises the old score and its pointer alike)
        Score.objects.filter(pk=score.pk).update(score=score.score + up)
        assert LatestScore.objects.filter(score_id=score.pk).update(score=score.score + up) == 1
    # when
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    # then
    hits = {w.subject_id: w for w in Alert.objects.filter(last_seen_on=RUN_AS_OF, rule="score_drop")}
    assert set(hits) == {prev[0].subject_id, prev[1].subject_id}
    # persons have no exposure of their own: their drops feed the watch list
    assert {w.severity for w in hits.values()} == {"info"}
    assert hits[prev[1].subject_id].old_score - hits[prev[1].subject_id].new_score == 120
    assert hits[prev[1].subject_id].evidence["drop"] == 120
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.counts["alerts"] == 2 and run.counts["alerts_by_rule"]["score_drop"] == 2
    assert set(run.counts["rule_seconds"]) == set(run.counts["alerts_by_rule"])
    # re-evaluating the date opens nothing new and keeps one alert per subject
    from monitoring.rules import rules_evaluate

    assert rules_evaluate(as_of=RUN_AS_OF, only=["score_drop"]) == {"score_drop": 0}
    assert Alert.objects.filter(rule="score_drop").count() == 2


def test_servicing_is_a_step_of_the_night_for_its_date(population, monkeypatch):
    from loans.services import servicing

    seen = []
    real = servicing.loans_service_daily
    monkeypatch.setattr(servicing, "loans_service_daily", lambda *, as_of: seen.append(as_of) or real(as_of=as_of))
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=1000)
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert seen == [RUN_AS_OF]
    assert "loans_serviced" in run.counts


def test_a_failing_step_fails_the_run_and_resumes_from_that_step(population, monkeypatch):
    from loans.services import servicing

    def broken(*, as_of):
        raise RuntimeError("ledger offline")

    real = servicing.loans_service_daily
    monkeypatch.setattr(servicing, "loans_service_daily", broken)
    with pytest.raises(CommandError, match="ledger offline"):
        call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=1000)
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.FAILED and run.phase == Phase.SERVICING
    scores = Score.objects.count()
    monkeypatch.setattr(servicing, "loans_service_daily", real)
    call_command("rescore", as_of=RUN_AS_OF, sync=True)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and Score.objects.count() == scores


def test_broker_down_at_dispatch_fails_the_run_with_its_reason(population, settings):
    from config.celery_app import app

    saved = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url="redis://127.0.0.1:1/0", result_backend="redis://127.0.0.1:1/0",
                    task_always_eager=False)
    try:
        with pytest.raises(CommandError, match="broker unreachable"):
            call_command("rescore", as_of=RUN_AS_OF, chunk_size=100)
    finally:
        app.conf.update(saved)
    run = ScoringRun.objects.get(as_of=RUN_AS_OF)
    assert run.status == RunStatus.FAILED and "broker unreachable" in run.error
    assert not Score.objects.filter(as_of=RUN_AS_OF).exists()


def test_the_nightly_task_runs_in_process_without_a_broker(population):
    from monitoring.tasks import nightly_run

    result = nightly_run.delay(as_of=RUN_AS_OF.isoformat(), chunk_size=200).get()
    assert "succeeded" in result
    assert ScoringRun.objects.get(as_of=RUN_AS_OF).status == RunStatus.SUCCEEDED


def test_the_default_nightly_schedule_exists_after_migrate():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.select_related("crontab").get(name="nightly rescoring")
    assert task.task == "monitoring.tasks.nightly_run" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "2", "Asia/Shanghai")


def test_the_admin_lists_runs(population, admin_client):
    call_command("rescore", as_of=RUN_AS_OF, sync=True, chunk_size=100)
    response = admin_client.get("/admin/monitoring/scoringrun/")
    assert response.status_code == 200
    assert b"succeeded" in response.content.lower()
    assert admin_client.get("/admin/monitoring/scoringchunk/").status_code == 200
    assert admin_client.get("/admin/monitoring/alert/").status_code == 200


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's /proc/self/status")
def test_peak_memory_of_a_process_is_its_own_not_its_parents():
    # given: a parent holding 300 MB when it starts a child (as bench_rescore starts workers)
    ballast = b"x" * (300 * 1024 * 1024)
    code = (
        "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.test'); "
        "django.setup(); from monitoring.services import peak_rss_mb; print(peak_rss_mb())"
    )
    # when
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    # then: the child's own peak (Django loaded: well under 300 MB), not the parent's
    assert 10 < float(out.stdout.strip()) < 250
    assert len(ballast) == 300 * 1024 * 1024


def test_rescore_refuses_fewer_than_one_thread():
    with pytest.raises(CommandError, match="--threads must be at least 1"):
        call_command("rescore", as_of=RUN_AS_OF, sync=True, threads=0)
    assert not ScoringRun.objects.filter(as_of=RUN_AS_OF).exists()
