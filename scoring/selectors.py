"""Reads of the scoring app."""

from __future__ import annotations

import datetime
import threading
from typing import NamedTuple

from django.db import connection
from django.db.models import ExpressionWrapper, F, IntegerField, OuterRef, Q, Subquery, Window
from django.db.models.functions import Cast, RowNumber

from . import scorer
from .errors import ScoringUnavailable
from .features import feature_names
from .models import CompanyCreditSnapshot, ModelStatus, PersonCreditSnapshot, Score, ScoreModel

class Champion(NamedTuple):
    model_id: int
    version: int
    created_at: datetime.datetime  # with the id, the cache key: an id may come back after a rollback


_compiled_cache: dict[tuple, scorer.CompiledScorecard] = {}
_cache_lock = threading.Lock()


def compiled_scorecard(model_id: int, scorecard: dict | None = None, *, stamp=None) -> scorer.CompiledScorecard:
    """Compiled scorecards are cached in-process by model id (and ``stamp``, the model's
    creation time when known): a saved scorecard never changes, and a new champion is a new
    model, so a version change is a cache miss, never a stale hit."""
    key = (model_id, stamp)
    compiled = _compiled_cache.get(key)
    if compiled is None:
        if scorecard is None:
            scorecard = ScoreModel.objects.values_list("scorecard", flat=True).get(id=model_id)
        compiled = scorer.compile_scorecard(scorecard)
        with _cache_lock:
            if len(_compiled_cache) > 64:  # models retire; do not keep them all forever
                _compiled_cache.clear()
            _compiled_cache[key] = compiled
    return compiled


def champions(kinds=("person", "company")) -> dict[str, Champion]:
    """{subject_kind: Champion} of the current champions, one query."""
    rows = ScoreModel.objects.filter(status=ModelStatus.CHAMPION, subject_kind__in=kinds).order_by().values_list(
        "subject_kind", "id", "version", "created_at"
    )
    return {kind: Champion(mid, ver, created) for kind, mid, ver, created in rows}


def champion_ids(kinds=("person", "company")) -> dict[str, tuple[int, int]]:
    """{subject_kind: (model id, version)} of the current champions, one query."""
    return {kind: (c.model_id, c.version) for kind, c in champions(kinds).items()}


def champion_compiled(subject_kind: str, champion: Champion) -> scorer.CompiledScorecard:
    return compiled_scorecard(champion.model_id, stamp=champion.created_at)


def champion(subject_kind: str) -> tuple[int, int, scorer.CompiledScorecard]:
    found = champions((subject_kind,))
    if subject_kind not in found:
        raise ScoringUnavailable(f"no champion {subject_kind} scorecard: train one and promote it (train_scorecard --subject {subject_kind} --promote)")
    c = found[subject_kind]
    return c.model_id, c.version, champion_compiled(subject_kind, c)


def _latest_per_subject(qs, subject_field: str, order_fields: list[str]):
    """The latest row per subject of ``qs``: DISTINCT ON on PostgreSQL, ROW_NUMBER elsewhere."""
    if connection.vendor == "postgresql":
        return qs.order_by(subject_field, *order_fields).distinct(subject_field)
    return qs.annotate(
        _rn=Window(RowNumber(), partition_by=[F(subject_field)], order_by=[
            F(f[1:]).desc() if f.startswith("-") else F(f).asc() for f in order_fields
        ])
    ).filter(_rn=1)


def latest_snapshots(subject_kind: str, *, as_of: datetime.date, id_from=None, id_to=None, ids=None,
                     scored_by_model: int | None = None):
    """Rows (subject_id, in_default, feature values...) of the latest snapshot on or before
    ``as_of`` of each subject in [id_from, id_to) or in ``ids``; one query.  With
    ``scored_by_model``, each row ends with the id of the subject's score for (``as_of``, that
    model), None if there is none: a chunk learns what to skip in the same round trip."""
    if subject_kind == "person":
        model, fk = PersonCreditSnapshot, "person_id"
    else:
        model, fk = CompanyCreditSnapshot, "company_id"
    qs = model.objects.filter(as_of__lte=as_of)
    if ids is not None:
        qs = qs.filter(**{f"{fk}__in": list(ids)})
    else:
        qs = qs.filter(**{f"{fk}__gte": id_from, f"{fk}__lt": id_to})
    cols = [fk] + (["in_default"] if subject_kind == "person" else []) + feature_names(subject_kind)
    qs = _latest_per_subject(qs, fk, ["-as_of"])
    if scored_by_model is None:
        return cols, list(qs.values_list(*cols))
    # A LEFT JOIN on the unique index (kind, subject, date, model) of scores: a nested loop
    # for a few subjects, a hash or merge join for a chunk of thousands.  (A correlated
    # subquery per snapshot row costs a probe per row; EXISTS may hash every score of the date.)
    # The subjects' bounds are repeated on the scores side so that the planner may also read
    # the chunk's scores in one index range and hash them (a re-run of a chunk).
    inner_sql, params = qs.values_list(*cols).query.sql_with_params()
    qn = connection.ops.quote_name
    if ids is not None:
        bounds_sql = "s.subject_id IN (" + ", ".join(["%s"] * len(ids)) + ")"
        bounds = list(ids)
    else:
        bounds_sql, bounds = "s.subject_id >= %s AND s.subject_id < %s", [id_from, id_to]
    sql = (
        f"SELECT l.*, s.id FROM ({inner_sql}) l LEFT JOIN {qn(Score._meta.db_table)} s "
        f"ON s.subject_kind = %s AND s.subject_id = l.{qn(fk)} AND s.as_of = %s AND s.model_id = %s AND {bounds_sql}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, subject_kind, connection.ops.adapt_datefield_value(as_of), scored_by_model, *bounds))
        return cols, cursor.fetchall()


def parties_with_latest_scores(*, as_of: datetime.date, company_filter: Q):
    """(company_id, person_id, role, ownership_pct, score, in_default) of every related party
    current at ``as_of`` of the companies matched by ``company_filter`` (on ``company_id``),
    with the party's latest person score on or before ``as_of`` (None when never scored),
    ordered by company, role, id; one query.  The score is one correlated subquery per party
    walking ``score_unique_subject_date_model`` backwards; it returns score * 2 + in_default
    so that one probe brings both."""
    from loans.models import RelatedParty

    latest = (
        Score.objects.filter(subject_kind="person", subject_id=OuterRef("person_id"), as_of__lte=as_of)
        .order_by("-as_of", "-id")
        .annotate(_packed=ExpressionWrapper(F("score") * 2 + Cast("in_default", IntegerField()), output_field=IntegerField()))
        .values("_packed")[:1]
    )
    rows = (
        RelatedParty.objects.filter(company_filter, Q(valid_to__isnull=True) | Q(valid_to__gte=as_of), valid_from__lte=as_of)
        .annotate(_packed=Subquery(latest, output_field=IntegerField()))
        .order_by("company_id", "role", "id")  # the composite lists parties in this order
        .values_list("company_id", "person_id", "role", "ownership_pct", "_packed")
    )
    return [
        (cid, pid, role, pct, None if packed is None else packed // 2, None if packed is None else bool(packed % 2))
        for cid, pid, role, pct, packed in rows
    ]


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
