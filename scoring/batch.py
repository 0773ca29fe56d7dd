"""Set-based scoring of a chunk of subjects: the nightly run and on-demand scoring share it.

For a chunk: one query reads the latest snapshot on or before ``as_of`` per subject; the
compiled champion scores the whole chunk with NumPy; subjects that already have a score for
(as_of, model) are skipped (a re-run writes nothing new); rows are written with COPY on
PostgreSQL (``bulk_create`` on SQLite and for small batches); and the latest-score pointers of
the chunk move in one ``INSERT ... ON CONFLICT DO UPDATE`` statement, never backwards.

Subjects without a snapshot on or before ``as_of`` are skipped and counted (``last_run``).
Person chunks should run before company chunks: a company composite reads its related
parties' latest person scores on or before ``as_of``.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import selectors
from .composite import DEFAULT_CAP, PARTIES_LOW_POINTS, PartyInput, composite_score
from .models import Score
from .reasons import COMPOSITE_REASONS
from .scorer import pd_for_score, score_batch, tier_for

log = logging.getLogger(__name__)

COPY_THRESHOLD = 500  # below this many rows, a plain multi-row INSERT is faster than COPY


@dataclass
class RunStats:
    subject_kind: str = ""
    candidates: int = 0
    no_snapshot: int = 0
    already_scored: int = 0
    written: int = 0


last_run = RunStats()


def score_person_range(*, id_from: int, id_to: int, as_of: datetime.date) -> int:
    """Score persons with id in [id_from, id_to) for ``as_of``; returns the number written."""
    return _score_chunk("person", as_of=as_of, id_from=id_from, id_to=id_to)


def score_company_range(*, id_from: int, id_to: int, as_of: datetime.date) -> int:
    """Score companies with id in [id_from, id_to) for ``as_of`` (composite with their related
    parties' latest scores); returns the number written."""
    return _score_chunk("company", as_of=as_of, id_from=id_from, id_to=id_to)


def score_persons(*, person_ids: Sequence[int], as_of: datetime.date) -> int:
    return _score_chunk("person", as_of=as_of, ids=list(person_ids))


def score_companies(*, company_ids: Sequence[int], as_of: datetime.date) -> int:
    return _score_chunk("company", as_of=as_of, ids=list(company_ids))


# --- the chunk ---------------------------------------------------------------------------


def _subject_filter(field: str, id_from, id_to, ids) -> Q:
    if ids is not None:
        return Q(**{f"{field}__in": ids})
    return Q(**{f"{field}__gte": id_from, f"{field}__lt": id_to})


def _score_chunk(kind: str, *, as_of, id_from=None, id_to=None, ids=None) -> int:
    global last_run
    stats = RunStats(subject_kind=kind)
    last_run = stats
    if ids is not None and not ids:
        return 0
    model_id, version, compiled = selectors.champion(kind)

    cols, rows = selectors.latest_snapshots(kind, as_of=as_of, id_from=id_from, id_to=id_to, ids=ids)
    if ids is not None:
        stats.candidates = len(set(ids))
    else:
        from loans.models import Company, Person

        subject_model = Person if kind == "person" else Company
        stats.candidates = subject_model.objects.filter(id__gte=id_from, id__lt=id_to).count()
    stats.no_snapshot = max(stats.candidates - len(rows), 0)
    if not rows:
        return 0
    existing = set(
        Score.objects.filter(
            _subject_filter("subject_id", id_from, id_to, ids), subject_kind=kind, as_of=as_of, model_id=model_id
        ).values_list("subject_id", flat=True)
    )
    if existing:
        rows = [r for r in rows if r[0] not in existing]
        stats.already_scored = len(existing)
    if not rows:
        return 0

    data = np.array(rows, dtype=float)  # None -> NaN
    subject_ids = data[:, 0].astype(np.int64)
    first_feature = 2 if kind == "person" else 1
    in_default = data[:, 1].astype(bool) if kind == "person" else np.zeros(len(rows), dtype=bool)
    feats = {name: data[:, first_feature + i] for i, name in enumerate(cols[first_feature:])}
    batch = score_batch(compiled, feats)

    dims = compiled.dimensions
    dim_points = np.round(batch.dimension_points(), 1)
    codes = batch.reason_codes
    lost = np.round(batch.points_lost, 1)
    scores = batch.score.astype(int)
    pds = batch.pd
    tiers = batch.tier
    components: list = [None] * len(rows)

    if kind == "company":
        scores, pds, tiers, codes, lost, components = _composites(
            compiled, as_of, subject_ids, scores, pds, tiers, codes, lost, id_from, id_to, ids
        )

    now = timezone.now()
    out = []
    for i in range(len(rows)):
        reasons = [{"code": c, "points_lost": float(lv)} for c, lv in zip(codes[i], lost[i]) if c]
        out.append((
            kind, int(subject_ids[i]), as_of, model_id, version, int(scores[i]), float(pds[i]), str(tiers[i]),
            bool(in_default[i]), dict(zip(dims, dim_points[i].tolist())), reasons, components[i], now,
        ))
    with transaction.atomic():
        written = _write_scores(out)
        _move_latest(kind, as_of, model_id, id_from, id_to, ids)
    stats.written = written
    return written


def _composites(compiled, as_of, company_ids, own_scores, pds, tiers, codes, lost, id_from, id_to, ids):
    """Combine each company's own score with its current related parties' latest scores."""
    from loans.models import RelatedParty

    parties_qs = RelatedParty.objects.filter(
        _subject_filter("company_id", id_from, id_to, ids),
        Q(valid_to__isnull=True) | Q(valid_to__gte=as_of),
        valid_from__lte=as_of,
    )
    parties = list(parties_qs.values_list("company_id", "person_id", "role", "ownership_pct"))
    person_scores = selectors.latest_scores_on_or_before(
        "person", as_of=as_of, subject_ids_qs=parties_qs.values("person_id")
    )
    by_company: dict[int, list[PartyInput]] = {}
    for cid, pid, role, pct in parties:
        s = person_scores.get(pid)
        by_company.setdefault(cid, []).append(
            PartyInput(person_id=pid, role=role, ownership_pct=pct,
                       score=None if s is None else s[0], in_default=bool(s and s[1]))
        )
    n = len(company_ids)
    new_scores = np.empty(n, dtype=int)
    new_pds = np.empty(n)
    new_tiers = np.empty(n, dtype=object)
    new_codes = np.empty((n, 4), dtype=object)
    new_lost = np.zeros((n, 4))
    components = []
    tier_bands = [(str(t), int(f)) for t, f in zip(compiled.tier_labels, compiled.tier_floors)]
    for i, cid in enumerate(company_ids.tolist()):
        res = composite_score(own_score=int(own_scores[i]), parties=by_company.get(cid, ()))
        res.components["own"]["pd"] = round(float(pds[i]), 6)
        components.append(res.components)
        new_scores[i] = res.score
        new_pds[i] = pd_for_score(res.score if res.capped else res.uncapped,
                                  offset=compiled.offset, factor=compiled.factor)
        new_tiers[i] = tier_for(res.score, tier_bands)
        extra = []
        if res.components["parties_in_default"]:
            extra.append((COMPOSITE_REASONS["related_party_in_default"][0],
                          round(max(res.uncapped - DEFAULT_CAP, 0.0), 1)))
        if own_scores[i] - res.uncapped >= PARTIES_LOW_POINTS:
            extra.append((COMPOSITE_REASONS["related_parties_low"][0], round(float(own_scores[i] - res.uncapped), 1)))
        merged = extra + [(c, lv) for c, lv in zip(codes[i], lost[i]) if c]
        merged = merged[:4] + [("", 0.0)] * (4 - min(len(merged), 4))
        new_codes[i] = [c for c, _ in merged]
        new_lost[i] = [lv for _, lv in merged]
    return new_scores, new_pds, new_tiers, new_codes, new_lost, components


# --- writing -----------------------------------------------------------------------------

_COLUMNS = (
    "subject_kind", "subject_id", "as_of", "model_id", "model_version", "score", "pd", "tier",
    "in_default", "dimension_points", "reason_codes", "components", "created_at",
)


def _write_scores(rows: list[tuple]) -> int:
    if connection.vendor == "postgresql" and len(rows) >= COPY_THRESHOLD:
        return _copy_scores(rows)
    objs = [Score(**dict(zip(_COLUMNS, r))) for r in rows]
    Score.objects.bulk_create(objs, batch_size=1000, ignore_conflicts=True)
    return len(objs)


def _copy_scores(rows: list[tuple]) -> int:
    """COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING: a concurrent
    worker on the same chunk cannot make the load fail, and the count is exact."""
    table = Score._meta.db_table
    cols = ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _score_load ("
            "subject_kind varchar(8), subject_id bigint, as_of date, model_id bigint, model_version integer,"
            " score smallint, pd double precision, tier varchar(1), in_default boolean, dimension_points jsonb,"
            " reason_codes jsonb, components jsonb, created_at timestamptz) ON COMMIT DELETE ROWS"
        )
        raw = cursor.cursor
        with raw.copy(f"COPY _score_load ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r[:9] + (json.dumps(r[9]), json.dumps(r[10]),
                                        None if r[11] is None else json.dumps(r[11]), r[12]))
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _score_load "
            "ON CONFLICT (subject_kind, subject_id, as_of, model_id) DO NOTHING"
        )
        written = cursor.rowcount
        cursor.execute("TRUNCATE _score_load")
    return written


def _move_latest(kind, as_of, model_id, id_from, id_to, ids) -> None:
    """Point each subject of the chunk at its newest score, in one statement, never backwards."""
    if ids is not None:
        subject_sql = "s.subject_id IN (" + ", ".join(["%s"] * len(ids)) + ")"
        subject_params = list(ids)
    else:
        subject_sql = "s.subject_id >= %s AND s.subject_id < %s"
        subject_params = [id_from, id_to]
    sql = (
        "INSERT INTO scoring_latestscore (subject_kind, subject_id, score_id, as_of, score, tier) "
        "SELECT s.subject_kind, s.subject_id, s.id, s.as_of, s.score, s.tier FROM scoring_score s "
        f"WHERE s.subject_kind = %s AND s.as_of = %s AND s.model_id = %s AND {subject_sql} "
        "ON CONFLICT (subject_kind, subject_id) DO UPDATE SET "
        "score_id = excluded.score_id, as_of = excluded.as_of, score = excluded.score, tier = excluded.tier "
        "WHERE scoring_latestscore.as_of < excluded.as_of OR "
        "(scoring_latestscore.as_of = excluded.as_of AND scoring_latestscore.score_id < excluded.score_id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, as_of, model_id, *subject_params])
