"""The one small interface through which other apps ask for scores.

``company_scores`` returns the latest scores of a company and its current related parties;
any that is missing, older than ``max_age_days`` or made by a model that is no longer the
champion is scored on demand for ``as_of`` first, through the same batch code as the nightly
run (a batch of one).  When everything is fresh it costs three indexed queries.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from . import batch, selectors
from .errors import ScoringUnavailable
from .models import LatestScore
from .reasons import texts_for

__all__ = [
    "CompanyScoreBundle", "PartyScore", "ReasonCode", "ScoringUnavailable", "SubjectScore",
    "company_scores", "latest_score",
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
    )


def latest_score(*, subject_kind: str, subject_id: int) -> SubjectScore | None:
    """The latest score of a subject (one indexed lookup), or None if it was never scored."""
    pointer = (
        LatestScore.objects.select_related("score_record")
        .filter(subject_kind=subject_kind, subject_id=subject_id)
        .first()
    )
    return None if pointer is None else _subject_score(pointer.score_record)


def _latest_rows(company_id: int, person_ids: list[int]) -> dict:
    cond = Q(subject_kind="company", subject_id=company_id)
    if person_ids:
        cond |= Q(subject_kind="person", subject_id__in=person_ids)
    return {
        (p.subject_kind, p.subject_id): p.score_record
        for p in LatestScore.objects.select_related("score_record").filter(cond)
    }


def company_scores(*, company_id: int, as_of: datetime.date, max_age_days: int) -> CompanyScoreBundle:
    from loans.models import RelatedParty

    champions = selectors.champions()
    for kind in ("person", "company"):
        if kind not in champions:
            raise ScoringUnavailable(
                f"no champion {kind} scorecard: train one and promote it (train_scorecard --subject {kind} --promote)"
            )
    parties = list(
        RelatedParty.objects.filter(company_id=company_id, valid_from__lte=as_of)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=as_of))
        .order_by("role", "person_id", "id")
        .values_list("person_id", "role", "ownership_pct")
    )
    person_ids = sorted({p[0] for p in parties})
    oldest = as_of - datetime.timedelta(days=max_age_days)
    latest = _latest_rows(company_id, person_ids)

    def stale(kind, sid):
        row = latest.get((kind, sid))
        return row is None or row.as_of < oldest or row.model_id != champions[kind][0]

    stale_persons = [pid for pid in person_ids if stale("person", pid)]
    rescore_company = stale("company", company_id)
    # A person without credit data stays unscored (and costs one snapshot lookup per call).
    # The batch code itself, a batch of one; the champions read above are passed through.
    persons_written = (
        batch._score_chunk("person", as_of=as_of, ids=stale_persons, champion=champions["person"])
        if stale_persons else 0
    )
    if persons_written:
        rescore_company = True
    if rescore_company:
        batch._score_chunk("company", as_of=as_of, ids=[company_id], champion=champions["company"])
    if persons_written or rescore_company:
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
