"""The score history by month (scoring.partitions, migration scoring 0008): on PostgreSQL each
score lands in its month's partition, a month nobody created yet in the default partition; the
latest-score pointer, the history and the triggers work across partitions; a job creates months
ahead, idempotently; retention summarises a month per subject and model before its partition
goes.  SQLite keeps a plain table: retention deletes the rows there, after the same summary."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from monitoring import pages
from scoring import api, batch, partitions
from scoring.models import LatestScore, MonthlyScoreSummary, Score
from scoring.tasks import score_history_retention, score_partitions_ahead
from tests.factories import PersonFactory
from tests.scoring.helpers import BAD_PERSON, GOOD_PERSON, champion, snapshot

pytestmark = pytest.mark.django_db

D = datetime.date
MAY, JUNE, JULY = D(2025, 5, 1), D(2025, 6, 1), D(2025, 7, 1)


def _where(score_id: int) -> str:
    """The partition a score row lives in."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM scoring_score WHERE id = %s", [score_id])
        return cursor.fetchone()[0]


def _score(subject_id: int, as_of: datetime.date, score: int, *, model, revision: int = 1, tier: str = "C") -> Score:
    return Score.objects.create(
        subject_kind="person", subject_id=subject_id, as_of=as_of, model=model, model_version=model.version,
        revision=revision, score=score, pd=0.05, tier=tier, dimension_points={}, reason_codes=[],
    )


@pytest.fixture
def person_model():
    return champion("person")


@pytest.fixture
def months(on_postgres):
    """Partitions for May to July 2025 (created in the test's transaction, rolled back after)."""
    created = partitions.ensure_partitions(today=MAY, ahead=2)
    assert created == ["scoring_score_2025_05", "scoring_score_2025_06", "scoring_score_2025_07"]
    return created


# --- the layout ----------------------------------------------------------------------------


def test_the_score_table_is_partitioned_by_month_with_a_default_and_months_ahead(on_postgres, settings):
    assert partitions.is_partitioned()
    found = partitions.partitions()
    assert found[-1].name == partitions.DEFAULT_PARTITION and found[-1].is_default
    this_month = partitions.month_start(datetime.date.today())
    names = {p.name for p in found}
    for i in range(settings.SCORE_PARTITIONS_AHEAD + 1):
        assert partitions.partition_name(partitions.add_months(this_month, i)) in names
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'scoring_score'::regclass "
            "AND contype IN ('p', 'u') ORDER BY conname"
        )
        keys = dict(cursor.fetchall())
    assert keys == {
        "score_unique_subject_date_model_revision": "UNIQUE (subject_kind, subject_id, as_of, model_id, revision)",
        "scoring_score_pkey": "PRIMARY KEY (id, as_of)",
    }


def test_sqlite_keeps_a_plain_table():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite side of the migration")
    assert not partitions.is_partitioned()
    assert partitions.partitions() == [] and partitions.ensure_partitions() == []


# --- rows land in their month --------------------------------------------------------------


def test_the_nightly_writer_puts_each_score_in_its_months_partition(months, person_model):
    people = PersonFactory.create_batch(3)
    for p in people:
        snapshot("person", p.id, GOOD_PERSON, as_of=D(2025, 5, 20))
    ids = [p.id for p in people]
    assert batch.score_persons(person_ids=ids, as_of=D(2025, 5, 31)) == 3
    assert batch.score_persons(person_ids=ids, as_of=D(2025, 6, 1)) == 3
    # the COPY path of the nightly run too (500 rows or more go through COPY)
    assert batch.COPY_THRESHOLD <= 500
    many = PersonFactory.create_batch(batch.COPY_THRESHOLD)
    for p in many:
        snapshot("person", p.id, GOOD_PERSON, as_of=D(2025, 6, 1))
    assert batch.score_person_range(id_from=many[0].id, id_to=many[-1].id + 1, as_of=D(2025, 7, 2)) == len(many)
    where = {}
    for score in Score.objects.filter(subject_id__in=ids + [p.id for p in many]):
        where.setdefault(score.as_of, set()).add(_where(score.id))
    assert where == {
        D(2025, 5, 31): {"scoring_score_2025_05"},
        D(2025, 6, 1): {"scoring_score_2025_06"},
        D(2025, 7, 2): {"scoring_score_2025_07"},
    }


def test_a_row_for_a_month_without_a_partition_lands_in_the_default_and_moves_when_its_month_is_created(
    on_postgres, person_model
):
    far = D(2031, 2, 10)
    row = _score(1, far, 640, model=person_model)
    LatestScore.objects.create(subject_kind="person", subject_id=1, score_id=row.id, as_of=far, data_as_of=far,
                               scored_through=far, score=640, tier="C")
    assert _where(row.id) == partitions.DEFAULT_PARTITION
    # when: the job reaches that month
    created = partitions.ensure_partitions(today=D(2031, 1, 1), ahead=1)
    # then: the row moved into its month, same id and date, and the pointer still finds it
    assert created == ["scoring_score_2031_01", "scoring_score_2031_02"]
    assert _where(row.id) == "scoring_score_2031_02"
    assert api.latest_score(subject_kind="person", subject_id=1).score == 640
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.DEFAULT_PARTITION}")
        assert cursor.fetchone()[0] == 0


def test_the_partitions_ahead_job_is_idempotent(on_postgres):
    # the migration created this month and the months ahead: the scheduled job finds them all
    assert score_partitions_ahead.delay().get() == "all partitions present"
    created = partitions.ensure_partitions(today=D(2032, 11, 15), ahead=3)
    assert created == ["scoring_score_2032_11", "scoring_score_2032_12", "scoring_score_2033_01", "scoring_score_2033_02"]
    assert partitions.ensure_partitions(today=D(2032, 11, 15), ahead=3) == []
    assert partitions.ensure_partitions(today=D(2032, 12, 1), ahead=3) == ["scoring_score_2033_03"]
    # a future-month row goes straight to its partition
    model = champion("person")
    assert _where(_score(7, D(2033, 3, 31), 700, model=model, tier="B").id) == "scoring_score_2033_03"


def test_the_jobs_are_scheduled_after_migrate():
    from django_celery_beat.models import PeriodicTask

    from config.celery_app import app

    app.loader.import_default_modules()
    for name, task in (("score partitions ahead", "scoring.tasks.score_partitions_ahead"),
                       ("score history retention", "scoring.tasks.score_history_retention")):
        periodic = PeriodicTask.objects.get(name=name)
        assert periodic.enabled and periodic.task == task and periodic.crontab.timezone.key == "Asia/Shanghai"
        assert task in app.tasks


# --- reads and triggers across partitions ----------------------------------------------------


def test_latest_score_and_history_read_across_months(months, person_model):
    person = PersonFactory()
    snapshot("person", person.id, GOOD_PERSON, as_of=D(2025, 5, 30))
    batch.score_persons(person_ids=[person.id], as_of=D(2025, 5, 31))
    snapshot("person", person.id, BAD_PERSON, as_of=D(2025, 6, 1))
    batch.score_persons(person_ids=[person.id], as_of=D(2025, 6, 1))
    may, june = Score.objects.filter(subject_id=person.id).order_by("as_of")
    assert (_where(may.id), _where(june.id)) == ("scoring_score_2025_05", "scoring_score_2025_06")
    assert june.previous_score == may.score  # read from the pointer into May's partition
    latest = api.latest_score(subject_kind="person", subject_id=person.id)
    assert (latest.as_of, latest.score) == (june.as_of, june.score)
    newest_first = Score.objects.filter(subject_kind="person", subject_id=person.id).order_by("-as_of", "-id")
    assert [s.id for s in newest_first] == [june.id, may.id]
    assert [h["as_of"] for h in pages.score_history("person", person.id)] == ["2025-05-31", "2025-06-01"]
    assert pages._latest_score("person", person.id).score == june.score
    # the pointer lookup goes to one partition: the plan prunes the others
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, COSTS OFF) SELECT s.score FROM scoring_latestscore l JOIN scoring_score s "
            "ON s.id = l.score_id AND s.as_of = l.as_of WHERE l.subject_kind = 'person' AND l.subject_id = %s",
            [person.id],
        )
        plan = "\n".join(r[0] for r in cursor.fetchall())
    scanned = [p.name for p in partitions.partitions() if p.name in plan and "never executed" not in
               plan.split(p.name, 1)[1].split("\n", 1)[0]]
    assert scanned == ["scoring_score_2025_06"], plan


def test_deleting_scores_deletes_their_pointers_and_a_missing_model_is_refused(months, person_model):
    person = PersonFactory()
    snapshot("person", person.id, GOOD_PERSON, as_of=D(2025, 6, 1))
    batch.score_persons(person_ids=[person.id], as_of=D(2025, 6, 2))
    assert LatestScore.objects.filter(subject_id=person.id).exists()
    Score.objects.filter(subject_kind="person", subject_id=person.id).delete()
    assert not LatestScore.objects.filter(subject_id=person.id).exists()
    with pytest.raises(IntegrityError, match="score_model_exists"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO scoring_score (subject_kind, subject_id, as_of, model_id, model_version, score, pd, tier, "
                "in_default, dimension_points, reason_codes, created_at, revision, data_as_of) VALUES "
                "('person', 1, '2025-06-03', 987654, 1, 600, 0.1, 'C', false, '{}', '[]', now(), 1, '2025-06-03')"
            )
    # the unique identity holds on the partitioned table
    s = _score(9, D(2025, 6, 5), 600, model=person_model)
    with pytest.raises(IntegrityError), transaction.atomic():
        _score(9, s.as_of, 610, model=person_model)


# --- retention -------------------------------------------------------------------------------


@pytest.fixture
def three_months(db, person_model):
    """Person 1 scored in May (three days, a second revision on the last), June and July 2025;
    person 2 only in May, its pointer in May."""
    m = person_model
    rows = {
        "may": [_score(1, D(2025, 5, 3), 600, model=m), _score(1, D(2025, 5, 20), 640, model=m, tier="C"),
                _score(1, D(2025, 5, 31), 700, model=m, tier="B"),
                _score(1, D(2025, 5, 31), 680, model=m, revision=2, tier="C"),
                _score(2, D(2025, 5, 9), 550, model=m, tier="E")],
        "june": [_score(1, D(2025, 6, 15), 690, model=m)],
        "july": [_score(1, D(2025, 7, 1), 710, model=m, tier="B")],
    }
    for sid, score in ((1, rows["july"][0]), (2, rows["may"][4])):
        LatestScore.objects.create(subject_kind="person", subject_id=sid, score_id=score.id, as_of=score.as_of,
                                   data_as_of=score.as_of, scored_through=score.as_of, score=score.score, tier=score.tier)
    return rows


def _summaries():
    return {
        (s.subject_id, s.month): (s.scores, s.last_score, s.last_tier, s.min_score, s.max_score, round(s.mean_score, 2),
                                  s.first_as_of, s.last_as_of)
        for s in MonthlyScoreSummary.objects.all()
    }


MAY_SUMMARY = {
    (1, MAY): (4, 680, "C", 600, 700, 655.0, D(2025, 5, 3), D(2025, 5, 31)),
    (2, MAY): (1, 550, "E", 550, 550, 550.0, D(2025, 5, 9), D(2025, 5, 9)),
}


def test_retention_on_postgres_summarises_then_detaches_the_expired_months(months, three_months, clock):
    clock(D(2025, 7, 10))
    # given: detailed rows kept for one whole month before the current one (June, July)
    out = io.StringIO()
    call_command("score_retention", "--dry-run", "--months", "1", stdout=out)
    text = out.getvalue()
    assert "rows dated before 2025-06-01 are due" in text
    assert "would summarise into monthly aggregates: 2025-05" in text
    assert "would detach partition scoring_score_2025_05" in text
    assert "scoring_score_2025_06" not in text and "scoring_score_2025_07" not in text
    # the dry run changed nothing
    assert Score.objects.count() == 7 and not MonthlyScoreSummary.objects.exists()
    assert "scoring_score_2025_05" in {p.name for p in partitions.partitions()}

    call_command("score_retention", "--months", "1", stdout=io.StringIO())

    assert _summaries() == MAY_SUMMARY
    assert "scoring_score_2025_05" not in {p.name for p in partitions.partitions()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('scoring_score_2025_05')")
        assert cursor.fetchone()[0] is None  # dropped (SCORE_HISTORY_DROP_DETACHED)
    assert sorted(Score.objects.values_list("as_of", flat=True)) == [D(2025, 6, 15), D(2025, 7, 1)]
    # person 2's pointer named a May score: it went with it; person 1's (July) stays
    assert list(LatestScore.objects.values_list("subject_id", flat=True)) == [1]
    # again: nothing left to do, and the summary is not doubled
    out = io.StringIO()
    call_command("score_retention", "--dry-run", "--months", "1", stdout=out)
    assert "nothing to do" in out.getvalue()
    assert score_history_retention.delay().get().startswith("nothing before")  # 24 months: nothing
    assert _summaries() == MAY_SUMMARY


def test_retention_can_keep_a_detached_month_for_archiving(months, three_months):
    plan = partitions.retention_plan(months=1, today=D(2025, 7, 10))
    result = partitions.retention_apply(plan, drop=False)
    assert "scoring_score_2025_05" in result.detached and "scoring_score_2025_05" not in result.dropped
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM scoring_score_2025_05")
        assert cursor.fetchone()[0] == 5  # a plain table now, outside the history


def test_retention_summarises_and_deletes_rows_past_retention_in_the_default_partition(on_postgres, three_months):
    # no partitions for 2025: every row sits in the default partition
    assert {_where(s.id) for group in three_months.values() for s in group} == {partitions.DEFAULT_PARTITION}
    plan = partitions.retention_plan(months=1, today=D(2025, 7, 10))
    assert plan.summarise == [MAY] and plan.rows_to_delete == 5 and plan.pointers_to_delete == 1
    result = partitions.retention_apply(plan)
    assert (result.rows_deleted, result.pointers_deleted) == (5, 1)
    assert _summaries() == MAY_SUMMARY
    assert list(LatestScore.objects.values_list("subject_id", flat=True)) == [1]


def test_retention_on_a_plain_table_summarises_then_deletes(three_months):
    if connection.vendor != "sqlite":
        pytest.skip("the plain-table path (SQLite); PostgreSQL is partitioned")
    plan = partitions.retention_plan(months=1, today=D(2025, 7, 10))
    assert plan.summarise == [MAY] and plan.rows_to_delete == 5 and plan.pointers_to_delete == 1
    result = partitions.retention_apply(plan)
    assert (result.rows_deleted, result.pointers_deleted) == (5, 1)
    assert _summaries() == MAY_SUMMARY
    assert sorted(Score.objects.values_list("as_of", flat=True)) == [D(2025, 6, 15), D(2025, 7, 1)]
    assert list(LatestScore.objects.values_list("subject_id", flat=True)) == [1]


def test_retention_refuses_less_than_a_month():
    with pytest.raises(ValueError, match="SCORE_HISTORY_RETENTION_MONTHS must be at least 1"):
        partitions.retention_plan(months=0)


# --- statistics ------------------------------------------------------------------------------


def test_a_months_first_night_refreshes_the_statistics_the_rules_are_planned_with(months, person_model):
    # given: June's partition, analysed while empty, then a night of scores written into it
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scoring_score_2025_06")
        cursor.execute(
            "INSERT INTO scoring_score (subject_kind, subject_id, as_of, model_id, model_version, score, pd, tier, "
            "in_default, dimension_points, reason_codes, created_at, revision, data_as_of) "
            "SELECT 'person', g, DATE '2025-06-01', %s, 1, 600, 0.1, 'C', false, '{}', '[]', now(), 1, DATE '2025-06-01' "
            "FROM generate_series(1, 3000) g",
            [person_model.pk],
        )
    # when / then: the night's partition is analysed once; May (untouched) is left alone
    assert api.score_statistics_refresh(as_of=D(2025, 6, 1)) == "scoring_score_2025_06"
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'scoring_score_2025_06'::regclass")
        assert cursor.fetchone()[0] == 3000
    assert api.score_statistics_refresh(as_of=D(2025, 6, 1)) is None
    assert api.score_statistics_refresh(as_of=D(2025, 5, 31)) is None


def test_a_later_night_of_the_month_refreshes_statistics_that_do_not_know_its_date(months, person_model):
    # given: June's partition analysed with a first night of 3,000 scores, then a second night
    # of 1,000 (fewer changes than the statistics know of: the old staleness test said "fresh",
    # while the planner estimated the new date at about one row)
    def night(day, n):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO scoring_score (subject_kind, subject_id, as_of, model_id, model_version, score, pd, tier, "
                "in_default, dimension_points, reason_codes, created_at, revision, data_as_of) "
                "SELECT 'person', g, %s, %s, 1, 600, 0.1, 'C', false, '{}', '[]', now(), 1, %s FROM generate_series(1, %s) g",
                [day, person_model.pk, day, n],
            )

    night(D(2025, 6, 1), 3000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scoring_score_2025_06")
    night(D(2025, 6, 2), 1000)
    # when / then: the second night's date is unknown to the statistics: analysed once
    assert api.score_statistics_refresh(as_of=D(2025, 6, 2)) == "scoring_score_2025_06"
    assert api.score_statistics_refresh(as_of=D(2025, 6, 2)) is None
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT 1 FROM scoring_score_2025_06 WHERE as_of = DATE '2025-06-02'")
        plan = cursor.fetchone()[0]
    assert int(plan.split("rows=")[1].split()[0]) > 100  # planned for the night it holds, not for one row
