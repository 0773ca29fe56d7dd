"""The runtime scorer: pure NumPy, from a batch of feature rows to points, score, PD, tier and
reason codes.  One subject for an application and millions in the nightly run use this code.

It never imports optbinning (or the database): a scorecard is plain data (see
``scoring.training`` for how it is built) and is compiled once into lookup arrays.

Scorecard data::

    {
      "characteristics": [
        {"name", "dimension", "kind": "numeric", "edges": [e0, e1, ...],        # bin i: e(i-1) <= x < e(i)
         "points": [p0, ..., pn], "points_missing": pm, "labels": [...]},
        {"name", "dimension", "kind": "categorical", "categories": [["a", "b"], ["c"]],
         "points": [p0, p1], "points_missing": pm, "points_unseen": pu},
      ],
      "scaling": {"base_points", "base_odds", "pdo", "factor", "offset", "min_score", "max_score"},
      "tiers": [["A", 750], ["B", 700], ["C", 650], ["D", 600], ["E", 0]],
    }

Maths: each characteristic's points already include its share of the offset and intercept,
so ``total = sum(points)`` and ``score = clip(round(total), 0, 950)``.  The probability of
default follows from the scaling: ``total = offset + factor * ln(good:bad odds)``, hence
``pd = 1 / (1 + exp((total - offset) / factor))`` (computed from the unclipped total).
Reason codes: the four characteristics with the most points lost against that
characteristic's best bin (ties: scorecard order), codes only where points were lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .reasons import code_for
from .scale import DEFAULT_TIERS, MAX_SCORE, MIN_SCORE, tier_for  # noqa: F401  (re-exported: scorer.MAX_SCORE, scorer.tier_for)

N_REASONS = 4


@dataclass(frozen=True)
class CompiledScorecard:
    names: tuple[str, ...]
    dimensions: tuple[str, ...]  # distinct dimensions in order of first appearance
    dim_matrix: np.ndarray  # k x d one-hot: characteristic -> dimension
    kinds: tuple[str, ...]
    edges: tuple[np.ndarray | None, ...]  # numeric: sorted edges + an inf sentinel
    cat_maps: tuple[dict | None, ...]  # categorical: category string -> bin index
    tables: tuple[np.ndarray, ...]  # numeric: [bins..., missing]; categorical: [bins..., missing, unseen]
    best: np.ndarray  # (k,) best points of each characteristic
    codes: np.ndarray  # (k,) reason code of each characteristic (object array)
    offset: float
    factor: float
    min_score: int
    max_score: int
    tier_labels: np.ndarray  # ordered high -> low
    tier_floors: np.ndarray
    extra: dict = field(default_factory=dict)


@dataclass
class ScoreBatch:
    points: np.ndarray  # (n, k)
    total: np.ndarray  # (n,) unclipped total points
    score: np.ndarray  # (n,) int16 in [0, 950]
    pd: np.ndarray  # (n,)
    tier: np.ndarray  # (n,) tier labels
    reason_idx: np.ndarray  # (n, 4) characteristic index, -1 = none
    points_lost: np.ndarray  # (n, 4)
    compiled: CompiledScorecard

    @property
    def reason_codes(self) -> np.ndarray:
        codes = np.append(self.compiled.codes, "")  # index -1 -> ""
        return codes[self.reason_idx]

    def dimension_points(self) -> np.ndarray:
        """(n, d) points per dimension, in ``compiled.dimensions`` order."""
        return self.points @ self.compiled.dim_matrix


def _missing_text(values: np.ndarray) -> np.ndarray:
    """Object/str array -> str array with '' for missing (None, NaN, empty)."""
    if values.dtype == object:
        values = np.where(np.equal(values, None), "", values)
        as_str = values.astype(str)
        as_str[as_str == "nan"] = ""
        return as_str
    if values.dtype.kind == "f":
        as_str = values.astype(str)
        as_str[np.isnan(values)] = ""
        return as_str
    return values.astype(str)


def category_key(value) -> str:
    """The string key a category value is matched by (training and scoring agree on it)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def compile_scorecard(scorecard: dict) -> CompiledScorecard:
    chars = scorecard["characteristics"]
    if not chars:
        raise ValueError("a scorecard needs at least one characteristic")
    names, dims, kinds, edges, cat_maps, tables = [], [], [], [], [], []
    for ch in chars:
        names.append(ch["name"])
        dims.append(ch.get("dimension") or "other")
        kinds.append(ch["kind"])
        points = [float(p) for p in ch["points"]]
        if ch["kind"] == "numeric":
            e = np.asarray(ch["edges"], dtype=float)
            if e.size and np.any(np.diff(e) <= 0):
                raise ValueError(f"{ch['name']}: edges must be strictly increasing")
            if len(points) != e.size + 1:
                raise ValueError(f"{ch['name']}: {e.size} edges need {e.size + 1} points, got {len(points)}")
            edges.append(np.append(e, np.inf))
            cat_maps.append(None)
            tables.append(np.array(points + [float(ch["points_missing"])]))
        elif ch["kind"] == "categorical":
            cats = ch["categories"]
            if len(points) != len(cats):
                raise ValueError(f"{ch['name']}: {len(cats)} category bins need as many points")
            mapping = {category_key(c): i for i, group in enumerate(cats) for c in group}
            edges.append(None)
            cat_maps.append(mapping)
            tables.append(
                np.array(points + [float(ch["points_missing"]), float(ch.get("points_unseen", 0.0))])
            )
        else:
            raise ValueError(f"{ch['name']}: unknown kind {ch['kind']!r}")
    dim_order = list(dict.fromkeys(dims))
    dim_matrix = np.zeros((len(names), len(dim_order)))
    for i, d in enumerate(dims):
        dim_matrix[i, dim_order.index(d)] = 1.0
    scaling = scorecard["scaling"]
    tiers = scorecard.get("tiers") or DEFAULT_TIERS
    tiers = sorted(((str(t), int(f)) for t, f in tiers), key=lambda t: -t[1])
    return CompiledScorecard(
        names=tuple(names),
        dimensions=tuple(dim_order),
        dim_matrix=dim_matrix,
        kinds=tuple(kinds),
        edges=tuple(edges),
        cat_maps=tuple(cat_maps),
        tables=tuple(tables),
        best=np.array([t.max() for t in tables]),
        codes=np.array([code_for(n) for n in names], dtype=object),
        offset=float(scaling["offset"]),
        factor=float(scaling["factor"]),
        min_score=int(scaling.get("min_score", MIN_SCORE)),
        max_score=int(scaling.get("max_score", MAX_SCORE)),
        tier_labels=np.array([t for t, _ in tiers]),
        tier_floors=np.array([f for _, f in tiers], dtype=float),
    )


def bin_index(compiled: CompiledScorecard, j: int, values) -> np.ndarray:
    """Index into characteristic ``j``'s points table for each value (vectorised)."""
    table_size = compiled.tables[j].size
    if compiled.kinds[j] == "numeric":
        # The edges end with a +inf sentinel, so NaN (which sorts after everything) lands on
        # the last slot of the table: the points for missing.
        return np.searchsorted(compiled.edges[j], np.asarray(values, dtype=float), side="right")
    keys = _missing_text(np.asarray(values))
    uniq, inverse = np.unique(keys, return_inverse=True)
    missing_i, unseen_i = table_size - 2, table_size - 1
    mapping = compiled.cat_maps[j]
    # A loop over distinct categories only, never over rows.
    lut = np.array([missing_i if u == "" else mapping.get(u, unseen_i) for u in uniq], dtype=np.int64)
    return lut[inverse.reshape(-1)]


def _columns(compiled: CompiledScorecard, features) -> list:
    if isinstance(features, dict):
        missing = [n for n in compiled.names if n not in features]
        if missing:
            raise KeyError(f"features missing for characteristic(s): {', '.join(missing)}")
        return [features[n] for n in compiled.names]
    arr = np.asarray(features)
    if arr.ndim != 2 or arr.shape[1] != len(compiled.names):
        raise ValueError(f"expected an (n, {len(compiled.names)}) array, got shape {arr.shape}")
    return [arr[:, j] for j in range(arr.shape[1])]


def _argmax_down(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index and value of the first maximum of each column of a (k, n) array.  A loop over
    the k rows: NumPy's argmax(axis=0) would copy the array into row-major order first."""
    best_v = a[0].copy()
    best_j = np.zeros(a.shape[1], dtype=np.int64)
    for j in range(1, a.shape[0]):
        better = a[j] > best_v  # strictly greater: ties keep the earlier characteristic
        np.copyto(best_v, a[j], where=better)
        best_j[better] = j
    return best_j, best_v


def score_batch(compiled: CompiledScorecard, features) -> ScoreBatch:
    """Score a batch: ``features`` is a dict name -> column or an (n, k) array in
    ``compiled.names`` order.  NaN/None are missing."""
    cols = _columns(compiled, features)
    n = len(cols[0]) if cols else 0
    k = len(cols)
    # Characteristic-major (k, n) layout: every step below walks contiguous memory.
    points_t = np.empty((k, n), dtype=float)
    for j, col in enumerate(cols):  # a loop over characteristics, never rows
        np.take(compiled.tables[j], bin_index(compiled, j, col), out=points_t[j])
    total = points_t.sum(axis=0)
    score = np.clip(np.rint(total), compiled.min_score, compiled.max_score).astype(np.int16)
    with np.errstate(over="ignore"):
        pd = 1.0 / (1.0 + np.exp((total - compiled.offset) / compiled.factor))
    tier = tiers_for_scores(compiled, score)

    # Reason codes: four passes of argmax down the characteristics (the first maximum wins,
    # so ties go in scorecard order) instead of sorting every row.
    lost = compiled.best[:, None] - points_t
    m = min(N_REASONS, k)
    cols_idx = np.arange(n)
    flat = lost.reshape(-1)
    reason_idx = np.full((n, N_REASONS), -1, dtype=np.int64)
    top_lost = np.zeros((n, N_REASONS))
    for r in range(m):
        j, v = _argmax_down(lost)
        hit = v > 1e-9
        reason_idx[:, r] = np.where(hit, j, -1)
        top_lost[:, r] = np.where(hit, v, 0.0)
        flat[j * n + cols_idx] = -np.inf
    points = points_t.T
    return ScoreBatch(
        points=points, total=total, score=score, pd=pd, tier=tier,
        reason_idx=reason_idx, points_lost=top_lost, compiled=compiled,
    )


def tiers_for_scores(compiled: CompiledScorecard, scores) -> np.ndarray:
    """Tier of each score: the first band (high -> low) whose floor the score reaches."""
    floors_asc = compiled.tier_floors[::-1]
    tier_pos = np.searchsorted(floors_asc, scores, side="right") - 1
    return compiled.tier_labels[::-1][np.clip(tier_pos, 0, None)]


def pd_for_score(score: float, *, offset: float, factor: float) -> float:
    return float(1.0 / (1.0 + np.exp((score - offset) / factor)))


def bin_counts(compiled: CompiledScorecard, features) -> dict[str, list[int]]:
    """How many rows fall in each slot of each characteristic's points table (bins, then
    missing, then unseen for categorical ones): the distribution a characteristic's PSI
    compares.  ``features`` as for :func:`score_batch`."""
    cols = _columns(compiled, features)
    return {
        name: np.bincount(bin_index(compiled, j, col), minlength=compiled.tables[j].size).astype(int).tolist()
        for j, (name, col) in enumerate(zip(compiled.names, cols))
    }
