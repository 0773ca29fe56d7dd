import datetime

import pytest
from django.db import IntegrityError, transaction

from scoring import services
from scoring.models import ModelStatus, Score, ScoreModel
from tests.scoring.helpers import AS_OF, champion, person_scorecard

pytestmark = pytest.mark.django_db


def _draft(kind="person"):
    return services.score_model_create(subject_kind=kind, scorecard=person_scorecard(), metrics={},
                                       reference_distribution={}, trained_on={})


def test_the_database_refuses_a_second_champion_of_a_kind():
    # given
    first = champion("person")
    second = _draft()
    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        ScoreModel.objects.filter(pk=second.pk).update(status=ModelStatus.CHAMPION)
    assert first.status == "champion"


def test_one_champion_per_kind_not_overall():
    champion("person")
    champion("company")
    assert ScoreModel.objects.filter(status="champion").count() == 2


def test_promoting_retires_the_previous_champion_and_versions_count_up():
    # given
    old = champion("person")
    new = _draft()
    # when
    services.score_model_promote(model=new)
    # then
    old.refresh_from_db()
    assert (old.version, old.status) == (1, "retired")
    assert (new.version, new.status) == (2, "champion")
    assert new.promoted_at is not None


def test_a_retired_model_cannot_come_back():
    m = _draft()
    services.score_model_set_status(model=m, status="retired")
    with pytest.raises(services.InvalidStatusTransition):
        services.score_model_set_status(model=m, status="champion")


@pytest.mark.parametrize("value", [-1, 951])
def test_score_is_bounded_by_the_database(value):
    model = champion("person")
    with pytest.raises(IntegrityError), transaction.atomic():
        Score.objects.create(subject_kind="person", subject_id=1, as_of=AS_OF, model=model, model_version=1,
                             score=value, pd=0.1, tier="E")


def test_one_score_per_subject_date_model_and_revision():
    model = champion("person")
    Score.objects.create(subject_kind="person", subject_id=1, as_of=AS_OF, model=model, model_version=1, score=600, pd=0.05, tier="D")
    with pytest.raises(IntegrityError), transaction.atomic():
        Score.objects.create(subject_kind="person", subject_id=1, as_of=AS_OF, model=model, model_version=1, score=610, pd=0.05, tier="D")
    # a rescore the same day is the next revision: both are kept
    Score.objects.create(subject_kind="person", subject_id=1, as_of=AS_OF, model=model, model_version=1, revision=2,
                         score=610, pd=0.05, tier="D")
    assert Score.objects.filter(subject_id=1, as_of=AS_OF).count() == 2


@pytest.mark.parametrize("fields", [dict(revision=0), dict(data_as_of=AS_OF + datetime.timedelta(days=1))])
def test_a_score_names_a_positive_revision_and_data_not_after_its_date(fields):
    model = champion("person")
    with pytest.raises(IntegrityError), transaction.atomic():
        Score.objects.create(subject_kind="person", subject_id=1, as_of=AS_OF, model=model, model_version=1, score=600,
                             pd=0.05, tier="D", **fields)


def test_a_score_naming_a_missing_model_is_refused_by_the_database(on_postgres):
    # given: a real model, and an id that names none
    model = champion("person")
    missing = ScoreModel.objects.order_by("-id").first().id + 100
    rows = [(1, model.id), (2, missing)]
    # when / then: the statement fails as a whole (a per-statement check, a foreign-key error)
    with pytest.raises(IntegrityError, match=f"score model {missing} does not exist"), transaction.atomic():
        Score.objects.bulk_create([
            Score(subject_kind="person", subject_id=sid, as_of=AS_OF, model_id=mid, model_version=1, score=600,
                  pd=0.05, tier="D", data_as_of=AS_OF)
            for sid, mid in rows
        ])
    assert not Score.objects.exists()


def test_a_model_with_scores_cannot_be_deleted_even_bypassing_the_orm(on_postgres):
    from django.db import connection

    model = champion("person")
    Score.objects.create(subject_kind="person", subject_id=1, as_of=AS_OF, model=model, model_version=1, score=600, pd=0.05, tier="D")
    unused = _draft()
    with pytest.raises(IntegrityError, match=f"score model {model.id} still has scores"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM scoring_scoremodel WHERE id IN (%s, %s)", [model.id, unused.id])
    # a model without scores can go
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scoring_scoremodel WHERE id = %s", [unused.id])
    assert ScoreModel.objects.filter(pk=model.pk).exists() and not ScoreModel.objects.filter(pk=unused.pk).exists()
