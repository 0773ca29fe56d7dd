"""Reads of the scoring app."""

from __future__ import annotations

import datetime
import functools
import threading
from typing import NamedTuple

from django.db import connection

from . import scorer
from .errors import ScoringUnavailable
from .features import feature_names
from .models import (
    CompanyCreditSnapshot,
    LatestScore,
    ModelStatus,
    PersonCreditSnapshot,
    Score,
    ScoreModel,
)


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


_CHAMPIONS_SQL = (
    f"SELECT subject_kind, id, version, created_at FROM {ScoreModel._meta.db_table} "
    "WHERE status = %s AND subject_kind IN (%s, %s)"
)
CHAMPIONS_SQL = _CHAMPIONS_SQL  # event-driven rescoring reads its dependents in the same statement
CHAMPIONS_PARAMS = (ModelStatus.CHAMPION.value, "person", "company")


def champions(kinds=("person", "company")) -> dict[str, Champion]:
    """{subject_kind: Champion} of the current champions, one query."""
    if connection.vendor == "postgresql" and tuple(kinds) == ("person", "company"):
        # the on-demand hot path: a precompiled statement (timestamps come back aware, as from the ORM)
        with connection.cursor() as cursor:
            cursor.execute(_CHAMPIONS_SQL, [ModelStatus.CHAMPION.value, "person", "company"])
            rows = cursor.fetchall()
        return {kind: Champion(mid, ver, created) for kind, mid, ver, created in rows}
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


# --- precompiled SQL of the hot path (on-demand scoring and the chunks) --------------------
# The ORM compiles a query on every call (~0.5 ms each); these statements are built once per
# shape (kind, number of ids) and run through a plain cursor.  Portable: DISTINCT ON on
# PostgreSQL, ROW_NUMBER elsewhere; IN lists of placeholders on both.


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


@functools.lru_cache(maxsize=256)
def _snapshots_sql(subject_kind: str, vendor: str, n_ids: int | None, with_model: bool) -> tuple[tuple, str]:
    model = PersonCreditSnapshot if subject_kind == "person" else CompanyCreditSnapshot
    fk = "person_id" if subject_kind == "person" else "company_id"
    cols = tuple([fk] + (["in_default"] if subject_kind == "person" else []) + feature_names(subject_kind))
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    col_sql = ", ".join(qn(c) for c in cols)
    subject_sql = f"{qn(fk)} IN ({_placeholders(n_ids)})" if n_ids is not None else f"{qn(fk)} >= %s AND {qn(fk)} < %s"
    where = f"as_of <= %s AND {subject_sql}"
    # the snapshot's date rides along (the score records it: ``Score.data_as_of``)
    if vendor == "postgresql":
        inner = f"SELECT DISTINCT ON ({qn(fk)}) {col_sql}, as_of FROM {table} WHERE {where} ORDER BY {qn(fk)}, as_of DESC"
    else:
        inner = (
            f"SELECT {col_sql}, as_of FROM (SELECT {col_sql}, as_of, ROW_NUMBER() OVER (PARTITION BY {qn(fk)} "
            f"ORDER BY as_of DESC) AS _rn FROM {table} WHERE {where}) r WHERE _rn = 1"
        )
    if not with_model:
        return cols, f"SELECT {col_sql} FROM ({inner}) l"
    # Which subjects the model already scored for the date, in the same round trip and at a
    # cost that follows the chunk, not the score history.  The subject's latest-score pointer,
    # read in one index range beside the snapshots, settles it when it is dated before the date
    # (pointers never move backwards, so there is no score for the date): every subject of a
    # nightly run.  Only a pointer dated on or after the date (a re-run, a back-dated run) costs
    # one probe of the unique index (kind, subject, date, model).  (Joining the scores directly
    # read either every score of the chunk's subjects, all dates, or every score of the date:
    # both grow with each night's history.)  A score the pointer misses (a pointer deleted with
    # a later score) only costs the writer its retry (``batch._pg_copy``).
    p_bounds = (
        f"p.subject_id IN ({_placeholders(n_ids)})" if n_ids is not None else "p.subject_id >= %s AND p.subject_id < %s"
    )
    outer_cols = ", ".join(f"l.{qn(c)}" for c in cols)
    # The same pointer, when dated before the date, is also the subject's previous score (what
    # the new score records), so the writer need not look it up again.
    # The snapshot's date as days since 1970-01-01 (the chunk is read into a float array), and
    # of the day's latest revision by the model: revision * 2 + 1 when it was computed from this
    # very snapshot (nothing new to score), revision * 2 when from other data (the next revision
    # is due).  The pointer's ``scored_through`` (the latest date any score of the subject
    # bears) tells when no score of the date can exist, so the probe is only for re-runs and
    # back-dated runs.
    if vendor == "postgresql":
        data_day = "(l.as_of - DATE '1970-01-01')"
    else:
        data_day = "CAST(julianday(l.as_of) - 2440587.5 AS INTEGER)"
    sql = (
        f"SELECT {outer_cols}, {data_day}, CASE WHEN p.scored_through >= %s THEN (SELECT s.revision * 2 + "
        f"CASE WHEN s.data_as_of = l.as_of THEN 1 ELSE 0 END FROM {qn(Score._meta.db_table)} s "
        f"WHERE s.subject_kind = %s AND s.subject_id = l.{qn(fk)} AND s.as_of = %s AND s.model_id = %s "
        "ORDER BY s.revision DESC LIMIT 1) END, "
        "CASE WHEN p.scored_through < %s THEN p.score END "
        f"FROM ({inner}) l LEFT JOIN {qn(LatestScore._meta.db_table)} p "
        f"ON p.subject_kind = %s AND p.subject_id = l.{qn(fk)} AND {p_bounds}"
    )
    return cols, sql


def latest_snapshots(subject_kind: str, *, as_of: datetime.date, id_from=None, id_to=None, ids=None,
                     scored_by_model: int | None = None):
    """Rows (subject_id, in_default, feature values...) of the latest snapshot on or before
    ``as_of`` of each subject in [id_from, id_to) or in ``ids``; one query.  With
    ``scored_by_model``, each row ends with three more values: the snapshot's date in days since
    1970-01-01; the subject's latest revision for (``as_of``, that model) packed as
    ``revision * 2 + (1 if computed from this snapshot else 0)``, None if there is none (a chunk
    learns what to skip and which revision to write in the same round trip); and the score of
    its latest-score pointer when that is dated before ``as_of`` (its previous score), else
    None."""
    if ids is not None:
        ids = list(ids)
        if not ids:
            cols, _ = _snapshots_sql(subject_kind, connection.vendor, 1, False)
            return list(cols), []
    cols, sql, params = latest_snapshots_statement(subject_kind, as_of=as_of, id_from=id_from, id_to=id_to, ids=ids,
                                                   scored_by_model=scored_by_model)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cols, cursor.fetchall()


def latest_snapshots_statement(subject_kind: str, *, as_of: datetime.date, id_from=None, id_to=None, ids=None,
                               scored_by_model: int | None = None) -> tuple[list[str], str, list]:
    """(columns, SQL, parameters) of :func:`latest_snapshots` (``ids`` not empty), for a caller
    that sends it with other statements in one round trip (``batch``'s event pipeline)."""
    bounds = list(ids) if ids is not None else [id_from, id_to]
    cols, sql = _snapshots_sql(
        subject_kind, connection.vendor, None if ids is None else len(bounds), scored_by_model is not None
    )
    day = connection.ops.adapt_datefield_value(as_of)
    params = [day, *bounds]
    if scored_by_model is not None:
        params = [day, subject_kind, day, scored_by_model, day, *params, subject_kind, *bounds]
    return list(cols), sql, params


@functools.lru_cache(maxsize=256)
def _parties_sql(n_ids: int | None) -> str:
    from loans.parties.models import RelatedParty, role_current_on_sql

    qn = connection.ops.quote_name
    company_sql = f"rp.company_id IN ({_placeholders(n_ids)})" if n_ids is not None else "rp.company_id >= %s AND rp.company_id < %s"
    # The party's latest-score pointer answers when it is dated on or before ``as_of`` (pointers
    # only move forward, so it is then the latest score on or before ``as_of``); otherwise (a
    # back-dated run, a person never scored) one backward probe of the person's history does.
    # Scalar subqueries, so both are per-party index probes whatever the size of the tables.
    # (LIMIT 1 on the unique pointer lookup: without it PostgreSQL plans each probe as a bitmap
    # scan, ~20% dearer over a chunk's 100,000 parties than a plain index scan.)
    score_table, latest_table = qn(Score._meta.db_table), qn(LatestScore._meta.db_table)
    return (
        "SELECT rp.company_id, rp.person_id, rp.role, rp.ownership_pct, COALESCE("
        f"(SELECT l.score * 2 + CAST(l.in_default AS integer) FROM {latest_table} l "
        "  WHERE l.subject_kind = %s AND l.subject_id = rp.person_id AND l.as_of <= %s LIMIT 1), "
        f"(SELECT s.score * 2 + CAST(s.in_default AS integer) FROM {score_table} s "
        "  WHERE s.subject_kind = %s AND s.subject_id = rp.person_id AND s.as_of <= %s "
        "  ORDER BY s.as_of DESC, s.id DESC LIMIT 1)) "
        f"FROM {qn(RelatedParty._meta.db_table)} rp "
        f"WHERE {company_sql} AND {role_current_on_sql('rp')} "
        "ORDER BY rp.company_id, rp.role, rp.id"
    )


def parties_of_companies_with_latest_scores(*, as_of: datetime.date, id_from=None, id_to=None, ids=None):
    """(company_id, person_id, role, ownership_pct, score, in_default) of every related party
    current at ``as_of`` of the companies in [id_from, id_to) or in ``ids``, with the party's
    latest person score on or before ``as_of`` (None when never scored), ordered by company,
    role, id; one precompiled statement (the chunk's hot path).  The score is packed as
    score * 2 + in_default so that one probe brings both."""
    if ids is not None:
        ids = list(ids)
        if not ids:
            return []
    sql, params = parties_statement(as_of=as_of, id_from=id_from, id_to=id_to, ids=ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return parties_rows(cursor.fetchall())


def parties_statement(*, as_of: datetime.date, id_from=None, id_to=None, ids=None) -> tuple[str, list]:
    """(SQL, parameters) of :func:`parties_of_companies_with_latest_scores` (``ids`` not
    empty); its rows are read with :func:`parties_rows`."""
    bounds = list(ids) if ids is not None else [id_from, id_to]
    day = connection.ops.adapt_datefield_value(as_of)
    return _parties_sql(None if ids is None else len(bounds)), ["person", day, "person", day, *bounds, day, day]


def parties_rows(rows) -> list[tuple]:
    """Unpack the packed score of :func:`parties_statement`'s rows."""
    return [
        (cid, pid, role, pct, None if packed is None else packed // 2, None if packed is None else bool(packed % 2))
        for cid, pid, role, pct, packed in rows
    ]
