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

import json
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .scale import LENDING_MIN_SCORE

OWN_WEIGHT = 0.60
ROLE_WEIGHTS = {
    "legal_representative": 0.15,
    "actual_controller": 0.15,
    "shareholder": 0.07,  # times ownership share
    "director": 0.03,
    "guarantor": 0.0,
}
SPLIT_EQUALLY = ("legal_representative", "actual_controller", "director")
# A subject in default scores at most just below the lowest score the lender lends at.
DEFAULT_CAP = LENDING_MIN_SCORE - 1
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


# --- the same formula over a whole chunk ------------------------------------------------------


def _rounded_text(values: list[float], places: int) -> list[str]:
    """``repr(round(v, places))`` of each value, at half the cost: "%.nf" rounds the exact
    binary value to ``places`` decimals as round() does, and without its trailing zeros it is
    the shortest text of that rounded number, i.e. its repr (for these magnitudes: weights,
    points and scores, never small or large enough for an exponent)."""
    fmt = f"%.{places}f"
    out = []
    append = out.append
    for v in values:
        text = (fmt % v).rstrip("0")
        append(text + "0" if text[-1] == "." else text)
    return out


_FORMULA = "weighted mean of own and related-party scores, renormalised; cap 599 if a party is in default"


@dataclass
class CompositeBatch:
    """``composite_score`` for n companies at once; ``components_json[i]`` is
    ``json.dumps(composite_score(...).components)`` of company i (with the own PD added)."""

    score: np.ndarray  # (n,) int
    uncapped: np.ndarray  # (n,)
    capped: np.ndarray  # (n,) bool
    any_in_default: np.ndarray  # (n,) bool
    components_json: list[str]


def composite_batch(*, own_scores, own_pds, company_index, person_ids, roles, ownership_pcts, party_scores,
                    party_in_default) -> CompositeBatch:
    """The composite of n companies from their own scores and m party rows.

    ``company_index[j]`` is the position (0..n-1) of party row j's company; party rows of a
    company keep their order (it is the order of ``components["parties"]``).  A party score of
    NaN means unscored.  Sums run in the same order as ``composite_score`` (own weight first),
    so the results are the same floats: one formula, computed once for one company or a chunk.
    """
    own = np.asarray(own_scores, dtype=np.int64)
    n = own.size
    ci = np.asarray(company_index, dtype=np.int64)
    m = ci.size
    roles = list(roles)
    s = np.asarray(party_scores, dtype=float)
    scored = ~np.isnan(s)
    dflt = np.asarray(party_in_default, dtype=bool) & scored
    pct_list = [None if p is None else float(p) for p in ownership_pcts]
    pct = np.array([0.0 if p is None else p for p in pct_list], dtype=float)

    # weights: split roles share their weight among the scored parties of that role
    role_names = sorted(set(roles))
    role_idx = np.array([role_names.index(r) for r in roles], dtype=np.int64) if m else np.zeros(0, dtype=np.int64)
    base = np.array([ROLE_WEIGHTS.get(r, 0.0) for r in role_names])[role_idx] if m else np.zeros(0)
    counts = np.zeros((n, max(len(role_names), 1)))
    np.add.at(counts, (ci[scored], role_idx[scored]), 1)
    split = np.array([r in SPLIT_EQUALLY for r in role_names], dtype=bool)[role_idx] if m else np.zeros(0, bool)
    is_holder = np.array([r == "shareholder" for r in roles], dtype=bool)
    w = np.where(is_holder, base * pct / 100.0, base)
    if m:
        w = np.where(split, base / np.maximum(counts[ci, role_idx], 1), w)
    w_scored = w[scored]
    s_scored = s[scored]
    ci_scored = ci[scored]
    # own entries first, then parties in order: bincount adds in input order, like sum()
    bins = np.concatenate([np.arange(n), ci_scored])
    total_w = np.bincount(bins, weights=np.concatenate([np.full(n, OWN_WEIGHT), w_scored]), minlength=n)
    weighted = np.bincount(bins, weights=np.concatenate([OWN_WEIGHT * own.astype(float), w_scored * s_scored]),
                           minlength=n)
    uncapped = weighted / total_w
    any_default = np.bincount(ci[dflt], minlength=n) > 0
    capped = any_default & (uncapped > DEFAULT_CAP)
    value = np.where(capped, float(DEFAULT_CAP), uncapped)
    final = np.clip(np.rint(value), 0, 950).astype(np.int64)  # rint: half to even, like round()
    final = np.where(any_default, np.minimum(final, DEFAULT_CAP), final)

    # components, as JSON text: one format string per party row and per company
    own_w = OWN_WEIGHT / total_w
    own_weight = _rounded_text(own_w.tolist(), 4)
    own_contrib = _rounded_text((own_w * own).tolist(), 2)
    own_pd = [repr(round(v, 6)) for v in np.asarray(own_pds, dtype=float).tolist()]  # may need an exponent
    uncapped_r = _rounded_text(uncapped.tolist(), 2)
    rel = w / total_w[ci] if m else np.zeros(0)
    weight_r = _rounded_text(rel.tolist(), 4)
    contrib_r = _rounded_text((rel * np.nan_to_num(s)).tolist(), 2)
    role_json = {r: json.dumps(r) for r in role_names}
    pids = [int(p) for p in person_ids]
    scored_l = scored.tolist()
    dflt_l = dflt.tolist()
    s_int = [int(v) if ok else 0 for v, ok in zip(s.tolist(), scored_l)]
    party_parts: list[list[str]] = [[] for _ in range(n)]
    missing_parts: list[list[str]] = [[] for _ in range(n)]
    default_parts: list[list[str]] = [[] for _ in range(n)]
    for j, c in enumerate(ci.tolist()):
        rj = role_json[roles[j]]
        if not scored_l[j]:
            missing_parts[c].append(f'{{"person_id": {pids[j]}, "role": {rj}}}')
            continue
        p = pct_list[j]
        party_parts[c].append(
            f'{{"person_id": {pids[j]}, "role": {rj}, "ownership_pct": {"null" if p is None else repr(p)}, '
            f'"score": {s_int[j]}, "in_default": {"true" if dflt_l[j] else "false"}, '
            f'"weight": {weight_r[j]}, "contribution": {contrib_r[j]}}}'
        )
        if dflt_l[j]:
            default_parts[c].append(str(pids[j]))
    formula = json.dumps(_FORMULA)
    own_l = own.tolist()
    any_l = any_default.tolist()
    capped_l = capped.tolist()
    components = [
        f'{{"formula": {formula}, "own": {{"score": {own_l[i]}, "weight": {own_weight[i]}, '
        f'"contribution": {own_contrib[i]}, "pd": {own_pd[i]}}}, '
        f'"parties": [{", ".join(party_parts[i])}], "missing_parties": [{", ".join(missing_parts[i])}], '
        f'"uncapped": {uncapped_r[i]}, "cap": {DEFAULT_CAP if any_l[i] else "null"}, '
        f'"capped": {"true" if capped_l[i] else "false"}, "parties_in_default": [{", ".join(default_parts[i])}]}}'
        for i in range(n)
    ]
    return CompositeBatch(score=final, uncapped=uncapped, capped=capped, any_in_default=any_default,
                          components_json=components)
