"""Hand-built scorecards and snapshots for fast tests (no training)."""

import datetime

from config.demo import starter
from scoring import services
from scoring.models import ModelStatus, ScoreModel

# The starter cards live in the product (benchmarks use them too).
SCALING = starter.SCALING
person_scorecard = starter.person_scorecard
company_scorecard = starter.company_scorecard


def champion(kind: str, scorecard: dict | None = None) -> ScoreModel:
    sc = scorecard or (person_scorecard() if kind == "person" else company_scorecard())
    model = services.score_model_create(subject_kind=kind, scorecard=sc, metrics={}, reference_distribution={}, trained_on={})
    return services.score_model_promote(model=model)


GOOD_PERSON = starter.GOOD_PERSON
BAD_PERSON = {"ontime_ratio_24m": 0.5, "debt_to_income": 0.9, "verification_level": 0, "connections_with_defaults": 5}
GOOD_COMPANY = starter.GOOD_COMPANY
AS_OF = datetime.date(2025, 6, 30)


def snapshot(kind: str, subject_id: int, features: dict, *, as_of=AS_OF, in_default=False):
    return services.credit_snapshot_record(
        subject_kind=kind, subject_id=subject_id, as_of=as_of, features=features, in_default=in_default
    )


__all__ = ["ModelStatus"]
