"""Hand-built scoring bundles (scoring.api's own dataclasses) for the decision engine's tests."""

from __future__ import annotations

import datetime

from scoring.api import CompanyScoreBundle, PartyScore, ReasonCode, SubjectScore

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
