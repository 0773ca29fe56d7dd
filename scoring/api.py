"""The one small interface through which other apps ask for scores.

``company_scores`` returns the latest scores of a company and its current related parties;
any that is missing, older than ``max_age_days`` or made by a model that is no longer the
champion is scored on demand for ``as_of`` first, through the same batch code as the nightly
run (a batch of one).  When everything is fresh it costs two indexed queries (the champions;
the parties with their latest scores and the company's); on PostgreSQL the hot path runs
precompiled statements (no ORM query compilation) and the writing statements return the rows
they wrote, so nothing is read back.
"""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db import connection

from . import batch, selectors
from .errors import ScoringUnavailable
from .features import PERSON_FEATURES
from .models import LatestScore, PersonCreditSnapshot, Score
from .reasons import texts_for

__all__ = [
    "CompanyScoreBundle", "PartyScore", "ReasonCode", "ScoringUnavailable", "SubjectScore",
    "company_scores", "credit_data_inherit_trusted", "latest_score", "rescore_subjects",
]


@dataclass(frozen=True)
class ReasonCode:
    code: str
    text_en: str
    text_zh: str
    points_lost: float


@dataclass(frozen=True)
class SubjectScore:
    subject_kind: str
    subject_id: int
    as_of: datetime.date
    model_version: int
    score: int
    pd: float
    tier: str
    reasons: tuple[ReasonCode, ...]
    in_default: bool
    revision: int = 1
    data_as_of: datetime.date | None = None  # the date of the credit data it was computed from


@dataclass(frozen=True)
class PartyScore:
    person_id: int
    role: str
    ownership_pct: Decimal | None
    score: SubjectScore | None


@dataclass(frozen=True)
class CompanyScoreBundle:
    company: SubjectScore
    parties: tuple[PartyScore, ...]
    components: dict


class _Row(NamedTuple):
    """A score as the hot path reads it (``batch.WRITTEN_COLUMNS``), types normalised."""

    id: int
    subject_kind: str
    subject_id: int
    as_of: datetime.date
    model_id: int
    model_version: int
    score: int
    pd: float
    tier: str
    in_default: bool
    reason_codes: list
    components: dict | None
    revision: int
    data_as_of: datetime.date


def _row(values) -> _Row:
    """A ``_Row`` from the raw values of ``batch.WRITTEN_COLUMNS`` (JSON comes back as text;
    SQLite also returns dates as text and booleans as integers)."""
    sid, kind, subject_id, as_of, model_id, version, score, pd, tier, dflt, reasons, comps, rev, data_as_of = values
    if isinstance(as_of, str):
        as_of = datetime.date.fromisoformat(as_of)
    if isinstance(data_as_of, str):
        data_as_of = datetime.date.fromisoformat(data_as_of)
    if isinstance(reasons, str):
        reasons = json.loads(reasons)
    if isinstance(comps, str):
        comps = json.loads(comps)
    return _Row(sid, kind, subject_id, as_of, model_id, version, score, pd, tier, bool(dflt), reasons, comps, rev,
                data_as_of)


def _subject_score(row) -> SubjectScore:
    reasons = []
    for r in row.reason_codes or ():
        en, zh = texts_for(r["code"])
        reasons.append(ReasonCode(code=r["code"], text_en=en, text_zh=zh, points_lost=float(r["points_lost"])))
    return SubjectScore(
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        as_of=row.as_of,
        model_version=row.model_version,
        score=row.score,
        pd=row.pd,
        tier=row.tier,
        reasons=tuple(reasons),
        in_default=row.in_default,
        revision=row.revision,
        data_as_of=row.data_as_of,
    )


def credit_data_inherit_trusted(*, subject_kind: str, subject_id: int) -> int:
    """A new company or person record starts with what trusted sources (bureau, the lender's
    own book) said about the real subject; see ``scoring.services``."""
    from .services import credit_data_inherit_trusted as inherit

    return inherit(subject_kind=subject_kind, subject_id=subject_id)


def rescore_subjects(*, person_ids=(), company_ids=(), as_of: datetime.date | None = None, inline: int | None = None):
    """Score these persons and companies again from their latest data (new credit data
    arrived), and every company whose composite depends on a rescored person: in the caller's
    process up to ``inline`` companies (default ``settings.SCORING_INLINE_RESCORE_COMPANIES``),
    on a worker beyond.  Returns a ``scoring.rescoring.RescoreResult``.  Writing company scores
    sends ``scoring.signals.company_scores_written``."""
    from .rescoring import rescore

    return rescore(person_ids=person_ids, company_ids=company_ids, as_of=as_of, inline=inline)


_SCORE_COLS = ", ".join(f"s.{c}" for c in batch.WRITTEN_COLUMNS)
_N_SCORE_COLS = len(batch.WRITTEN_COLUMNS)


def _latest_score_sql() -> str:
    return (
        f"SELECT {_SCORE_COLS} FROM {LatestScore._meta.db_table} l JOIN {Score._meta.db_table} s ON s.id = l.score_id AND s.as_of = l.as_of "
        "WHERE l.subject_kind = %s AND l.subject_id = %s"
    )


def latest_score(*, subject_kind: str, subject_id: int) -> SubjectScore | None:
    """The latest score of a subject (one indexed lookup), or None if it was never scored."""
    with connection.cursor() as cursor:
        cursor.execute(_latest_score_sql(), [subject_kind, subject_id])
        found = cursor.fetchone()
    return None if found is None else _subject_score(_row(found))


@functools.cache
def _parties_and_latest_sql() -> str:
    """The company's current parties with each party's latest score, and the company's latest
    score (the row with a NULL person), in one statement; parties in (role, person, id) order."""
    from loans.parties.models import RelatedParty, role_current_on_sql

    return (
        f"SELECT 0, rp.person_id, rp.role, rp.ownership_pct, rp.id, {_SCORE_COLS} "
        f"FROM {RelatedParty._meta.db_table} rp "
        f"LEFT JOIN {LatestScore._meta.db_table} l ON l.subject_kind = %s AND l.subject_id = rp.person_id "
        f"LEFT JOIN {Score._meta.db_table} s ON s.id = l.score_id AND s.as_of = l.as_of "
        f"WHERE rp.company_id = %s AND {role_current_on_sql('rp')} "
        f"UNION ALL SELECT 1, NULL, NULL, NULL, NULL, {_SCORE_COLS} "
        f"FROM {LatestScore._meta.db_table} l JOIN {Score._meta.db_table} s ON s.id = l.score_id AND s.as_of = l.as_of "
        "WHERE l.subject_kind = %s AND l.subject_id = %s "
        "ORDER BY 1, 3, 2, 5"
    )


@functools.cache
def _ownership_pct_converter():
    """SQLite returns a DecimalField as a number: the ORM's converter makes it a Decimal."""
    from loans.parties.models import RelatedParty

    field = RelatedParty._meta.get_field("ownership_pct")
    return connection.ops.get_decimalfield_converter(field)


def _parties_and_latest(company_id: int, as_of: datetime.date):
    """([(person_id, role, ownership_pct)], {(kind, id): _Row}): one query."""
    day = connection.ops.adapt_datefield_value(as_of)
    with connection.cursor() as cursor:
        cursor.execute(_parties_and_latest_sql(), ["person", company_id, day, day, "company", company_id])
        rows = cursor.fetchall()
    convert = None if connection.vendor == "postgresql" else _ownership_pct_converter()
    parties, latest = [], {}
    for values in rows:
        is_company, pid, role, pct = values[:4]
        score = values[5:]
        if not is_company:
            if convert is not None and pct is not None:
                pct = convert(pct, None, connection)
            parties.append((pid, role, pct))
        if score[0] is not None:
            latest[("company", company_id) if is_company else ("person", pid)] = _row(score)
    return parties, latest


def _latest_rows(company_id: int, person_ids: list[int]) -> dict:
    """{(kind, id): _Row} of the latest scores of the company and the persons: one query."""
    sql = (
        f"SELECT {_SCORE_COLS} FROM {LatestScore._meta.db_table} l JOIN {Score._meta.db_table} s ON s.id = l.score_id AND s.as_of = l.as_of "
        "WHERE (l.subject_kind = %s AND l.subject_id = %s)"
    )
    params = ["company", company_id]
    if person_ids:
        sql += " OR (l.subject_kind = %s AND l.subject_id IN (" + ", ".join(["%s"] * len(person_ids)) + "))"
        params += ["person", *person_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(r.subject_kind, r.subject_id): r for r in map(_row, cursor.fetchall())}


def _score_stale(kind: str, ids: list[int], as_of, champion, latest: dict) -> tuple[int, bool]:
    """Score ``ids`` on demand (the batch code, a batch of one); returns (the number written,
    whether ``latest`` is now up to date for them).  When the writing statement returned the
    rows it wrote, a subject whose pointer moved takes the row written and the others keep the
    row read before; a subject left without a row had no credit data.  It is not up to date
    (re-read the pointers) when the rows could not be returned, when a row was not inserted (a
    concurrent writer), or when a pointer did not move and there was no row before."""
    sink: dict = {}
    count = batch._score_chunk(kind, as_of=as_of, ids=ids, champion=champion, written=sink)
    rows = sink.get("rows")
    if rows is None:
        return count, False
    up_to_date = len(rows) == sink["attempted"]
    for values in rows:
        key = (kind, values[2])
        if values[_N_SCORE_COLS]:  # the pointer moved to this row
            latest[key] = _row(values[:_N_SCORE_COLS])
        elif key not in latest:
            up_to_date = False
    return count, up_to_date


def company_scores(*, company_id: int, as_of: datetime.date, max_age_days: int) -> CompanyScoreBundle:
    champions = selectors.champions()
    for kind in ("person", "company"):
        if kind not in champions:
            raise ScoringUnavailable(
                f"no champion {kind} scorecard: train one and promote it (train_scorecard --subject {kind} --promote)"
            )
    parties, latest = _parties_and_latest(company_id, as_of)
    person_ids = sorted({p[0] for p in parties})
    oldest = as_of - datetime.timedelta(days=max_age_days)

    def stale(kind, sid):
        row = latest.get((kind, sid))
        return row is None or row.as_of < oldest or row.model_id != champions[kind][0]

    stale_persons = [pid for pid in person_ids if stale("person", pid)]
    rescore_company = stale("company", company_id)
    # A person without credit data stays unscored (and costs one snapshot lookup per call).
    # The batch code itself, a batch of one; the champions read above are passed through.
    persons_written, up_to_date = 0, True
    if stale_persons:
        persons_written, up_to_date = _score_stale("person", stale_persons, as_of, champions["person"], latest)
    if persons_written:
        rescore_company = True
    if rescore_company:
        _, company_up_to_date = _score_stale("company", [company_id], as_of, champions["company"], latest)
        up_to_date = up_to_date and company_up_to_date and ("company", company_id) in latest
    if not up_to_date:
        latest = _latest_rows(company_id, person_ids)
    company_row = latest.get(("company", company_id))
    if company_row is None:
        raise ScoringUnavailable(f"no credit data for company #{company_id} on or before {as_of}")
    person_scores = {pid: latest.get(("person", pid)) for pid in person_ids}
    return CompanyScoreBundle(
        company=_subject_score(company_row),
        parties=tuple(
            PartyScore(
                person_id=pid,
                role=role,
                ownership_pct=pct,
                score=None if person_scores[pid] is None else _subject_score(person_scores[pid]),
            )
            for pid, role, pct in parties
        ),
        components=company_row.components or {},
    )


# --- personal data (loans.services.privacy) -------------------------------------------------


def person_data_export(*, person_id: int) -> dict:
    """What scoring holds about one person: credit data snapshots and scores (JSON-ready)."""
    snapshots = [
        {
            "as_of": s.as_of.isoformat(), "source": s.source, "in_default": s.in_default,
            "features": {f.name: getattr(s, f.name) for f in PERSON_FEATURES},
        }
        for s in PersonCreditSnapshot.objects.filter(person_id=person_id).order_by("as_of")
    ]
    scores = [
        {"as_of": s.as_of.isoformat(), "score": s.score, "tier": s.tier, "model_version": s.model_version,
         "reason_codes": s.reason_codes}
        for s in Score.objects.filter(subject_kind="person", subject_id=person_id).order_by("as_of", "id")
    ]
    return {"credit_data": snapshots, "scores": scores}


def person_data_erase(*, person_id: int) -> dict:
    """Delete one person's credit data snapshots and scores (their latest-score pointer goes
    with them); the numbers deleted by kind."""
    snapshots, _ = PersonCreditSnapshot.objects.filter(person_id=person_id).delete()
    LatestScore.objects.filter(subject_kind="person", subject_id=person_id).delete()
    scores, _ = Score.objects.filter(subject_kind="person", subject_id=person_id).delete()
    return {"credit_data": snapshots, "scores": scores}


def score_statistics_refresh(*, as_of: datetime.date) -> str | None:
    """Refresh the planner's statistics of the score partition holding ``as_of`` when they are
    stale (a month's first nights); the partition's name when it did (``scoring.partitions``).
    The nightly run calls it between the scores and the rules that read them."""
    from .partitions import analyze_if_stale

    return analyze_if_stale(as_of)

