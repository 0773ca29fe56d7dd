"""Small hand-built scorecards, for benchmarks and tests that need champions without training.

They follow the real scorecard format (scoring/scorer.py) and the product's scaling — 600
points at odds of 19:1, 40 points to double the odds — but their bins are set by hand, not
learnt: never promote them in a real book.  Trained champions come from train_scorecard.
"""

from __future__ import annotations

import math

from scoring.scale import DEFAULT_TIERS, MAX_SCORE, MIN_SCORE

PDO = 40.0
BASE_POINTS = 600.0
BASE_ODDS = 19.0
FACTOR = PDO / math.log(2)
SCALING = {
    "base_points": BASE_POINTS, "base_odds": BASE_ODDS, "pdo": PDO, "factor": FACTOR,
    "offset": BASE_POINTS - FACTOR * math.log(BASE_ODDS), "min_score": MIN_SCORE, "max_score": MAX_SCORE,
}

# Features of a good borrower under these cards (scores well above 600).
GOOD_PERSON = {"ontime_ratio_24m": 0.99, "debt_to_income": 0.1, "verification_level": 3, "connections_with_defaults": 0}
GOOD_COMPANY = {"revenue_12m": 5e7, "lawsuits_24m": 0}


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
        "scaling": dict(SCALING),
        "tiers": [list(t) for t in DEFAULT_TIERS],
    }


def company_scorecard() -> dict:
    return {
        "characteristics": [
            {"name": "revenue_12m", "dimension": "scale", "kind": "numeric",
             "edges": [1e6, 1e7], "points": [150.0, 250.0, 330.0], "points_missing": 180.0},
            {"name": "lawsuits_24m", "dimension": "compliance", "kind": "numeric",
             "edges": [1, 3], "points": [380.0, 300.0, 200.0], "points_missing": 300.0},
        ],
        "scaling": dict(SCALING),
        "tiers": [list(t) for t in DEFAULT_TIERS],
    }


def promote_starter_champions(*, only_missing: bool = True) -> None:
    """Promote the starter cards as champions (only for the kinds without one, by default)."""
    from scoring import selectors, services

    present = set(selectors.champion_ids()) if only_missing else set()
    for kind, card in (("person", person_scorecard()), ("company", company_scorecard())):
        if kind in present:
            continue
        model = services.score_model_create(subject_kind=kind, scorecard=card, metrics={}, reference_distribution={}, trained_on={})
        services.score_model_promote(model=model)
