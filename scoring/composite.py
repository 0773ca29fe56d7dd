"""The company composite score: the company's own scorecard combined with its people's scores.

Formula (pure; the inputs are scores already computed)::

    composite = Σ w_i · s_i / Σ w_i        over the company itself and its scored related parties

    own company scorecard            w = 0.60
    legal representative(s)          w = 0.15, split equally between them
    actual controller(s)             w = 0.15, split equally between them
    shareholders                     w = 0.07 × ownership % / 100 each
    directors                        w = 0.03, split equally between them
    guarantors                       w = 0     (they secure a loan; they do not run the company)

A related party without a score (no credit data) drops out of both sums: the weights are
renormalised over the parties present, and the party is listed as missing.  One person holding
two roles contributes once per role.

Hard cap: if any current related party (whatever their role, guarantors included) is in
default, the composite is capped at 599, i.e. tier E, below the default eligibility minimum.

The result is rounded and bounded to 0–950; every contribution (weight after renormalisation
× score) is returned so the score record can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

OWN_WEIGHT = 0.60
ROLE_WEIGHTS = {
    "legal_representative": 0.15,
    "actual_controller": 0.15,
    "shareholder": 0.07,  # times ownership share
    "director": 0.03,
    "guarantor": 0.0,
}
SPLIT_EQUALLY = ("legal_representative", "actual_controller", "director")
DEFAULT_CAP = 599
# A composite at least this many points below the company's own score earns reason code R02.
PARTIES_LOW_POINTS = 10


@dataclass(frozen=True)
class PartyInput:
    person_id: int
    role: str
    ownership_pct: Decimal | float | None
    score: int | None  # None: the person has no score
    in_default: bool = False


@dataclass(frozen=True)
class CompositeResult:
    score: int
    uncapped: float
    capped: bool
    components: dict


def composite_score(*, own_score: int, parties: list[PartyInput] | tuple[PartyInput, ...]) -> CompositeResult:
    counts: dict[str, int] = {}
    for p in parties:
        if p.score is not None:
            counts[p.role] = counts.get(p.role, 0) + 1
    raw = [("company", None, None, None, OWN_WEIGHT, float(own_score), False)]
    missing = []
    for p in parties:
        if p.score is None:
            missing.append({"person_id": p.person_id, "role": p.role})
            continue
        base = ROLE_WEIGHTS.get(p.role, 0.0)
        if p.role == "shareholder":
            pct = float(p.ownership_pct or 0)
            w = base * pct / 100.0
        elif p.role in SPLIT_EQUALLY:
            w = base / counts[p.role]
        else:
            w = base
        raw.append(("person", p.person_id, p.role, p.ownership_pct, w, float(p.score), bool(p.in_default)))
    total_w = sum(r[4] for r in raw)
    uncapped = sum(r[4] * r[5] for r in raw) / total_w
    in_default = [p.person_id for p in parties if p.in_default]
    value = uncapped
    capped = False
    if in_default and value > DEFAULT_CAP:
        value = float(DEFAULT_CAP)
        capped = True
    final = int(min(950, max(0, round(value))))
    if in_default:
        final = min(final, DEFAULT_CAP)
    components = {
        "formula": "weighted mean of own and related-party scores, renormalised; cap 599 if a party is in default",
        "own": {"score": int(own_score), "weight": round(OWN_WEIGHT / total_w, 4),
                "contribution": round(OWN_WEIGHT / total_w * own_score, 2)},
        "parties": [
            {
                "person_id": pid, "role": role,
                "ownership_pct": None if pct is None else float(pct),
                "score": int(s), "in_default": dflt,
                "weight": round(w / total_w, 4), "contribution": round(w / total_w * s, 2),
            }
            for kind, pid, role, pct, w, s, dflt in raw[1:]
        ],
        "missing_parties": missing,
        "uncapped": round(uncapped, 2),
        "cap": DEFAULT_CAP if in_default else None,
        "capped": capped,
        "parties_in_default": in_default,
    }
    return CompositeResult(score=final, uncapped=uncapped, capped=capped, components=components)
