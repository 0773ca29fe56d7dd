"""Hand-built scorecards and snapshots for fast tests (no training)."""

import datetime
import math

from scoring import services
from scoring.models import ModelStatus, ScoreModel

_FACTOR = 40.0 / math.log(2)
SCALING = {"base_points": 600.0, "base_odds": 19.0, "pdo": 40.0, "factor": _FACTOR,
           "offset": 600.0 - _FACTOR * math.log(19.0), "min_score": 0, "max_score": 950}


def person_scorecard() -> dict:
    return {
        "characteristics": [
            {"name": "ontime_ratio_24m", "dimension": "credit_history", "kind": "numeric",
             "edges": [0.8, 0.95], "points": [20.0, 60.0, 110.0], "points_missing": 40.0},
            {"name": "debt_to_income", "dimension": "ability", "kind": "numeric",
             "edges": [0.3, 0.6], "points": [150.0, 110.0, 40.0], "points_missing": 90.0},
            {"name": "verification_level", "dimension": "identity", "kind": "numeric",
             "edges": [1, 2, 3], "points": [100.0, 140.0, 180.0, 200.0], "points_missing": 100.0},
            {"name": "connections_with_defaults", "dimension": "social", "kind": "numeric",
             "edges": [1, 3], "points": [260.0, 200.0, 120.0], "points_missing": 200.0},
        ],
        "scaling": SCALING,
        "tiers": [["A", 750], ["B", 700], ["C", 650], ["D", 600], ["E", 0]],
    }


def company_scorecard() -> dict:
    return {
        "characteristics": [
            {"name": "revenue_12m", "dimension": "scale", "kind": "numeric",
             "edges": [1e6, 1e7], "points": [150.0, 250.0, 330.0], "points_missing": 180.0},
            {"name": "lawsuits_24m", "dimension": "compliance", "kind": "numeric",
             "edges": [1, 3], "points": [380.0, 300.0, 200.0], "points_missing": 300.0},
        ],
        "scaling": SCALING,
        "tiers": [["A", 750], ["B", 700], ["C", 650], ["D", 600], ["E", 0]],
    }


def champion(kind: str, scorecard: dict | None = None) -> ScoreModel:
    sc = scorecard or (person_scorecard() if kind == "person" else company_scorecard())
    model = services.score_model_create(subject_kind=kind, scorecard=sc, metrics={}, reference_distribution={}, trained_on={})
    return services.score_model_promote(model=model)


GOOD_PERSON = {"ontime_ratio_24m": 0.99, "debt_to_income": 0.1, "verification_level": 3, "connections_with_defaults": 0}
BAD_PERSON = {"ontime_ratio_24m": 0.5, "debt_to_income": 0.9, "verification_level": 0, "connections_with_defaults": 5}
GOOD_COMPANY = {"revenue_12m": 5e7, "lawsuits_24m": 0}
AS_OF = datetime.date(2025, 6, 30)


def snapshot(kind: str, subject_id: int, features: dict, *, as_of=AS_OF, in_default=False):
    return services.credit_snapshot_record(
        subject_kind=kind, subject_id=subject_id, as_of=as_of, features=features, in_default=in_default
    )


__all__ = ["ModelStatus"]
