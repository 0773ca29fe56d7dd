"""Reads of the scoring app."""

from __future__ import annotations

import datetime
import threading

from django.db import connection
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from . import scorer
from .errors import ScoringUnavailable
from .features import feature_names
from .models import CompanyCreditSnapshot, ModelStatus, PersonCreditSnapshot, Score, ScoreModel

_compiled_cache: dict[int, scorer.CompiledScorecard] = {}
_cache_lock = threading.Lock()


def compiled_scorecard(model_id: int, scorecard: dict | None = None) -> scorer.CompiledScorecard:
    """Compiled scorecards are cached by model id: a saved scorecard never changes."""
    compiled = _compiled_cache.get(model_id)
    if compiled is None:
        if scorecard is None:
            scorecard = ScoreModel.objects.values_list("scorecard", flat=True).get(id=model_id)
        compiled = scorer.compile_scorecard(scorecard)
        with _cache_lock:
            _compiled_cache[model_id] = compiled
    return compiled


def champion_ids(kinds=("person", "company")) -> dict[str, tuple[int, int]]:
    """{subject_kind: (model id, version)} of the current champions, one query."""
    rows = ScoreModel.objects.filter(status=ModelStatus.CHAMPION, subject_kind__in=kinds).values_list(
        "subject_kind", "id", "version"
    )
    return {kind: (mid, ver) for kind, mid, ver in rows}


def champion(subject_kind: str) -> tuple[int, int, scorer.CompiledScorecard]:
    ids = champion_ids((subject_kind,))
    if subject_kind not in ids:
        raise ScoringUnavailable(f"no champion {subject_kind} scorecard: train one and promote it (train_scorecard --subject {subject_kind} --promote)")
    mid, ver = ids[subject_kind]
    return mid, ver, compiled_scorecard(mid)


def _latest_per_subject(qs, subject_field: str, order_fields: list[str]):
    """The latest row per subject of ``qs``: DISTINCT ON on PostgreSQL, ROW_NUMBER elsewhere."""
    if connection.vendor == "postgresql":
        return qs.order_by(subject_field, *order_fields).distinct(subject_field)
    return qs.annotate(
        _rn=Window(RowNumber(), partition_by=[F(subject_field)], order_by=[
            F(f[1:]).desc() if f.startswith("-") else F(f).asc() for f in order_fields
        ])
    ).filter(_rn=1)


def latest_snapshots(subject_kind: str, *, as_of: datetime.date, id_from=None, id_to=None, ids=None):
    """Rows (subject_id, in_default, feature values...) of the latest snapshot on or before
    ``as_of`` of each subject in [id_from, id_to) or in ``ids``; one query."""
    if subject_kind == "person":
        model, fk = PersonCreditSnapshot, "person_id"
    else:
        model, fk = CompanyCreditSnapshot, "company_id"
    qs = model.objects.filter(as_of__lte=as_of)
    if ids is not None:
        qs = qs.filter(**{f"{fk}__in": list(ids)})
    else:
        qs = qs.filter(**{f"{fk}__gte": id_from, f"{fk}__lt": id_to})
    qs = _latest_per_subject(qs, fk, ["-as_of"])
    cols = [fk] + (["in_default"] if subject_kind == "person" else []) + feature_names(subject_kind)
    return cols, list(qs.values_list(*cols))


def latest_scores_on_or_before(subject_kind: str, *, as_of: datetime.date, subject_ids_qs):
    """{subject_id: (score, in_default)} of each subject's latest score on or before ``as_of``;
    ``subject_ids_qs`` may be a list or a values() queryset used as a subquery."""
    qs = Score.objects.filter(subject_kind=subject_kind, subject_id__in=subject_ids_qs, as_of__lte=as_of)
    qs = _latest_per_subject(qs, "subject_id", ["-as_of", "-id"])
    return {sid: (score, dflt) for sid, score, dflt in qs.values_list("subject_id", "score", "in_default")}


def score_history(*, subject_kind: str, subject_id: int, limit: int = 50):
    return list(
        Score.objects.filter(subject_kind=subject_kind, subject_id=subject_id)
        .select_related("model")
        .order_by("-as_of", "-id")[:limit]
    )
