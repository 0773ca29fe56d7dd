"""Writes of the scoring app: snapshots, score models and their status."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from . import features as feature_dictionary
from .models import CompanyCreditSnapshot, ModelStatus, PersonCreditSnapshot, ScoreModel, SubjectKind


class SnapshotExists(ValueError):
    pass


class InvalidStatusTransition(ValueError):
    pass


# Who sent a credit observation.  Data from a partner is about that partner's own record of
# the company or person and counts there only; a trusted source speaks about the real
# company or person, so its observation is written to every record sharing the natural key
# (USCC, resident-ID hash) — one record per partner that serves them, and the lender's own.
# The nightly scorer then reads one snapshot per record, as it always has.  Who the sender
# is comes from the path the data took (the partner API always records PARTNER), never from
# a field of the request.
PARTNER = "partner"
BUREAU = "bureau"
LENDER = "lender"  # the lender's own book
TRUSTED_SOURCES = frozenset({BUREAU, LENDER})

EARLIEST_AS_OF = datetime.date(1900, 1, 1)


def credit_data_as_of_check(as_of, *, not_before: datetime.date | None = None, field: str = "as_of") -> None:
    """A credit observation describes a day that has come (give or take
    ``VALUE_DATE_TOLERANCE_DAYS``, as for money) and on which its subject existed."""
    if not isinstance(as_of, datetime.date) or isinstance(as_of, datetime.datetime):
        raise ValidationError({field: "Must be a date."})
    latest = timezone.localdate() + datetime.timedelta(days=int(getattr(settings, "VALUE_DATE_TOLERANCE_DAYS", 1)))
    if as_of > latest:
        raise ValidationError({field: f"The credit data date {as_of} is in the future; the latest accepted today is {latest}."})
    floor = max(not_before or EARLIEST_AS_OF, EARLIEST_AS_OF)
    if as_of < floor:
        raise ValidationError({field: f"The credit data date {as_of} is before {floor}, when its subject did not exist yet."})


def _subject(subject_kind: str, subject_id: int) -> tuple[str, datetime.date]:
    """(natural key, earliest sensible date) of a company or person record."""
    from loans.parties.models import Company, Person

    if subject_kind == SubjectKind.PERSON:
        found = Person.objects.filter(pk=subject_id).values_list("resident_id_hash", "birth_year").first()
        if found is None:
            raise ValueError(f"person #{subject_id} does not exist")
        return found[0], datetime.date(max(found[1], EARLIEST_AS_OF.year), 1, 1)
    found = Company.objects.filter(pk=subject_id).values_list("uscc", "founded_on").first()
    if found is None:
        raise ValueError(f"company #{subject_id} does not exist")
    return found


def _siblings(subject_kind: str, natural_key: str, subject_id: int) -> list[int]:
    """The other records of the same real company or person (other partners', the lender's)."""
    from loans.parties.models import Company, Person

    if subject_kind == SubjectKind.PERSON:
        qs = Person.objects.filter(resident_id_hash=natural_key)
    else:
        qs = Company.objects.filter(uscc=natural_key)
    return list(qs.exclude(pk=subject_id).order_by("pk").values_list("pk", flat=True))


def _snapshot_model(subject_kind: str):
    return PersonCreditSnapshot if subject_kind == SubjectKind.PERSON else CompanyCreditSnapshot


def _subject_field(subject_kind: str) -> str:
    return "person_id" if subject_kind == SubjectKind.PERSON else "company_id"


def credit_snapshot_record(
    *,
    subject_kind: str,
    subject_id: int,
    as_of: datetime.date,
    features: dict,
    in_default: bool = False,
    source: str = BUREAU,
    rescore: bool = True,
):
    """Append a credit data snapshot of one company or person record and return it.

    Values are checked against the feature dictionary (``FeatureRangeError`` names the
    feature), the date against :func:`credit_data_as_of_check` (``ValidationError`` naming
    ``as_of``); a second snapshot of the record for the same date is an error.  A trusted
    ``source`` (:data:`TRUSTED_SOURCES`) is about the real subject: the same observation is
    appended to every other record sharing its natural key, except a record that already has
    one for that date (snapshots are append-only; that one stands).  Snapshots are never
    updated.  Once the transaction commits, the records written and every company depending
    on a person among them are rescored (``scoring.rescoring``; ``rescore=False``: a bulk
    writer that scores by itself afterwards)."""
    if subject_kind not in (SubjectKind.PERSON, SubjectKind.COMPANY):
        raise ValueError(f"unknown subject kind {subject_kind!r}")
    if subject_kind == SubjectKind.COMPANY and in_default:
        raise ValueError("in_default is recorded on a person's snapshot only")
    values = feature_dictionary.validate_features(subject_kind, features)
    natural_key, existed_from = _subject(subject_kind, subject_id)
    credit_data_as_of_check(as_of, not_before=existed_from)
    model, fk = _snapshot_model(subject_kind), _subject_field(subject_kind)
    extra = {"in_default": bool(in_default)} if subject_kind == SubjectKind.PERSON else {}
    snapshot = model(**{fk: subject_id}, as_of=as_of, source=source, **extra, **values)
    if model.objects.filter(**{fk: subject_id}, as_of=as_of).exists():
        raise SnapshotExists(f"{subject_kind} #{subject_id} already has a credit data snapshot for {as_of}; snapshots are append-only")
    others: list[int] = []
    try:
        with transaction.atomic():
            snapshot.save(force_insert=True)
            if source in TRUSTED_SOURCES:
                others = _siblings(subject_kind, natural_key, subject_id)
                if others:
                    model.objects.bulk_create(
                        [model(**{fk: other}, as_of=as_of, source=source, **extra, **values) for other in others],
                        ignore_conflicts=True,
                    )
            if rescore:
                # scores follow the data: the subject (and the records the observation was
                # copied to), and for a person every company depending on them, once committed
                from .rescoring import rescore_on_commit

                rescore_on_commit(subject_kind=subject_kind, subject_ids=[subject_id, *others])
    except IntegrityError as exc:
        raise SnapshotExists(f"{subject_kind} #{subject_id} already has a credit data snapshot for {as_of}") from exc
    return snapshot


def credit_data_inherit_trusted(*, subject_kind: str, subject_id: int) -> int:
    """Give a new record of a company or person what trusted sources already said about the
    real subject (the snapshots its natural-key siblings carry from :data:`TRUSTED_SOURCES`),
    so that a new file — another partner's, or the lender's — starts from the bureau's view
    and is no way around it.  Returns the number of snapshots written."""
    natural_key, _ = _subject(subject_kind, subject_id)
    model, fk = _snapshot_model(subject_kind), _subject_field(subject_kind)
    subject_attr = fk[:-3]
    key_lookup = f"{subject_attr}__resident_id_hash" if subject_kind == SubjectKind.PERSON else f"{subject_attr}__uscc"
    trusted = (
        model.objects.filter(**{key_lookup: natural_key}, source__in=TRUSTED_SOURCES)
        .exclude(**{fk: subject_id})
        .order_by("as_of", "id")
    )
    copies, seen = [], set()
    for snap in trusted:
        if snap.as_of in seen:  # one per date: every sibling carries the same observation
            continue
        seen.add(snap.as_of)
        snap.pk, snap.id, snap.created_at = None, None, None
        setattr(snap, fk, subject_id)
        copies.append(snap)
    if copies:
        model.objects.bulk_create(copies, ignore_conflicts=True)
    return len(copies)


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
