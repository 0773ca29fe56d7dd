"""Hand-built scoring bundles for the decision engine's tests.

Uses the scoring app's real dataclasses when ``scoring.api`` exists, else local twins with
the agreed shape (the decision engine only reads attributes)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

try:  # pragma: no cover - depends on the scoring app's progress
    from scoring.api import CompanyScoreBundle, PartyScore, ReasonCode, SubjectScore
except ImportError:  # pragma: no cover

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
        reasons: tuple
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
        parties: tuple
        components: dict


AS_OF = datetime.date(2026, 3, 2)
REASONS = (
    ReasonCode("R_UTIL", "High credit utilisation", "授信使用率高", 31.5),
    ReasonCode("R_LATE", "Recent late payments", "近期逾期", 22.0),
)


def subject(kind="company", sid=1, score=700, *, as_of=AS_OF, in_default=False, model_version=3, reasons=REASONS):
    return SubjectScore(
        subject_kind=kind, subject_id=sid, as_of=as_of, model_version=model_version, score=score,
        pd=0.05, tier="", reasons=tuple(reasons), in_default=in_default,
    )


def party(person_id=10, role="legal_representative", score=700, *, in_default=False, ownership_pct=None, unscored=False):
    return PartyScore(
        person_id=person_id, role=role, ownership_pct=ownership_pct,
        score=None if unscored else subject("person", person_id, score, in_default=in_default, model_version=2),
    )


def bundle(score=700, *, company_id=1, parties=None, as_of=AS_OF, in_default=False):
    return CompanyScoreBundle(
        company=subject("company", company_id, score, as_of=as_of, in_default=in_default),
        parties=tuple(parties if parties is not None else [party()]),
        components={},
    )
