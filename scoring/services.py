"""Writes of the scoring app: snapshots, score models and their status."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from . import features as feature_dictionary
from .models import CompanyCreditSnapshot, ModelStatus, PersonCreditSnapshot, ScoreModel, SubjectKind


class SnapshotExists(ValueError):
    pass


class InvalidStatusTransition(ValueError):
    pass


def credit_snapshot_record(
    *,
    subject_kind: str,
    subject_id: int,
    as_of: datetime.date,
    features: dict,
    in_default: bool = False,
    source: str = "bureau",
):
    """Append a credit data snapshot.  Values are checked against the feature dictionary
    (``FeatureRangeError`` names the feature); a second snapshot for the same date is an error.
    Snapshots are never updated."""
    values = feature_dictionary.validate_features(subject_kind, features)
    if subject_kind == SubjectKind.PERSON:
        snapshot = PersonCreditSnapshot(person_id=subject_id, as_of=as_of, in_default=in_default, source=source, **values)
        exists = PersonCreditSnapshot.objects.filter(person_id=subject_id, as_of=as_of).exists()
    elif subject_kind == SubjectKind.COMPANY:
        if in_default:
            raise ValueError("in_default is recorded on a person's snapshot only")
        snapshot = CompanyCreditSnapshot(company_id=subject_id, as_of=as_of, source=source, **values)
        exists = CompanyCreditSnapshot.objects.filter(company_id=subject_id, as_of=as_of).exists()
    else:
        raise ValueError(f"unknown subject kind {subject_kind!r}")
    if exists:
        raise SnapshotExists(f"{subject_kind} #{subject_id} already has a credit data snapshot for {as_of}; snapshots are append-only")
    try:
        with transaction.atomic():
            snapshot.save(force_insert=True)
    except IntegrityError as exc:
        raise SnapshotExists(f"{subject_kind} #{subject_id} already has a credit data snapshot for {as_of}") from exc
    return snapshot


def score_model_create(
    *,
    subject_kind: str,
    scorecard: dict,
    metrics: dict,
    reference_distribution: dict,
    trained_on: dict,
) -> ScoreModel:
    """Save a trained scorecard as the next draft version of its subject kind."""
    from .scorer import compile_scorecard

    compile_scorecard(scorecard)  # refuse anything the runtime scorer could not run
    for attempt in range(3):
        try:
            with transaction.atomic():
                last = ScoreModel.objects.filter(subject_kind=subject_kind).aggregate(v=Max("version"))["v"] or 0
                return ScoreModel.objects.create(
                    subject_kind=subject_kind,
                    version=last + 1,
                    status=ModelStatus.DRAFT,
                    scorecard=scorecard,
                    metrics=metrics,
                    reference_distribution=reference_distribution,
                    trained_on=trained_on,
                )
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


ALLOWED_TRANSITIONS = {
    ModelStatus.DRAFT: {ModelStatus.CHALLENGER, ModelStatus.CHAMPION, ModelStatus.RETIRED},
    ModelStatus.CHALLENGER: {ModelStatus.CHAMPION, ModelStatus.RETIRED},
    ModelStatus.CHAMPION: {ModelStatus.RETIRED},
    ModelStatus.RETIRED: set(),
}


def score_model_set_status(*, model: ScoreModel, status: str) -> ScoreModel:
    """Move a model along draft → challenger → champion → retired.  Promoting a champion
    retires the previous one in the same transaction (rows locked in primary-key order)."""
    with transaction.atomic():
        locked = list(
            ScoreModel.objects.select_for_update()
            .filter(Q(id=model.id) | Q(subject_kind=model.subject_kind, status=ModelStatus.CHAMPION))
            .order_by("id")
        )
        current = next(m for m in locked if m.id == model.id)
        if status not in ALLOWED_TRANSITIONS[ModelStatus(current.status)]:
            raise InvalidStatusTransition(f"a {current.status} model cannot become {status}")
        if status == ModelStatus.CHAMPION:
            for m in locked:
                if m.id != current.id and m.status == ModelStatus.CHAMPION:
                    m.status = ModelStatus.RETIRED
                    m.save(update_fields=["status"])
            current.promoted_at = timezone.now()
        current.status = status
        current.save(update_fields=["status", "promoted_at"])
    model.status, model.promoted_at = current.status, current.promoted_at
    return model


def score_model_promote(*, model: ScoreModel) -> ScoreModel:
    return score_model_set_status(model=model, status=ModelStatus.CHAMPION)
