"""Training scorecards: optbinning for the bins, logistic regression on WoE, points scaling.

Nothing here is tuned to one data set.  The recipe is the textbook one:

1. Each characteristic is binned with ``optbinning.OptimalBinning`` (monotonic trend from the
   feature dictionary where business sense demands one, ``auto_asc_desc`` otherwise for
   numbers; categories are grouped by event rate).
2. Weight of evidence per bin, as the log-odds of *bad* in the bin against the whole sample,
   shrunk towards zero by a prior of ``PRIOR_ROWS`` rows at the sample bad rate (so a tiny
   missing bin cannot carry an extreme weight).  Missing values keep their own bin; unseen
   categories get WoE 0 (the average).
3. Characteristics with information value below ``MIN_IV`` are dropped; a logistic
   regression is fitted on the WoE columns and any characteristic whose coefficient comes out
   non-positive (collinearity turned its sign) is dropped and the model refitted.
4. Points: ``factor = PDO / ln 2``, ``offset = base_points - factor * ln(base_odds)``;
   characteristic j in bin i gets ``offset/k - factor * (b0/k + b_j * woe_ij)``, so the sum
   is ``offset + factor * ln(good:bad odds)``.  Scores are bounded 0–950 by the scorer.

The WoE matrix is computed through the runtime scorer itself (a scorecard whose points are the
WoE), so training and scoring cannot disagree on which bin a value falls into.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import scorer
from .features import FEATURES_BY_KIND

MIN_IV = 0.02
PRIOR_ROWS = 20.0
MAX_BINS = 10
DEFAULT_SCALING = {"base_points": 600.0, "base_odds": 19.0, "pdo": 40.0}  # 600 = 5 % PD; 40 points double the odds


class TrainingError(ValueError):
    """Bad training input; the message says what is wrong.  Nothing is saved."""


@dataclass(frozen=True)
class CharacteristicSpec:
    name: str
    dimension: str
    kind: str  # numeric | categorical
    trend: str | None = None


@dataclass
class FitResult:
    scorecard: dict
    selected: list[str]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def compiled(self) -> scorer.CompiledScorecard:
        return scorer.compile_scorecard(self.scorecard)


# --- input checks ------------------------------------------------------------------------


def binary_target(values: pd.Series, *, bad_value: str | None = None) -> np.ndarray:
    """1 = bad (default, event), 0 = good.  Accepts 0/1, good/bad, or any two labels with
    ``bad_value`` naming the bad one."""
    present = values.dropna()
    if len(present) < len(values):
        raise TrainingError(f"target column {values.name!r} has {len(values) - len(present)} empty value(s)")
    labels = present.astype(str).str.strip()
    distinct = sorted(labels.unique())
    if len(distinct) < 2:
        raise TrainingError(
            f"target column {values.name!r} has one class only ({distinct[0] if distinct else 'no rows'}); "
            "a scorecard needs good and bad outcomes"
        )
    if len(distinct) > 2:
        raise TrainingError(
            f"target column {values.name!r} has {len(distinct)} distinct values; it must be binary"
        )
    if bad_value is not None:
        bad = str(bad_value).strip()
        if bad not in distinct:
            # accept "1" for "1.0" and the like
            try:
                matches = [d for d in distinct if float(d) == float(bad)]
            except ValueError:
                matches = []
            if not matches:
                raise TrainingError(f"--bad-value {bad_value!r} is not a value of {values.name!r} ({', '.join(distinct)})")
            bad = matches[0]
        return (labels == bad).to_numpy().astype(np.int8)
    lowered = {d.lower() for d in distinct}
    try:
        as_num = {float(d) for d in distinct}
    except ValueError:
        as_num = None
    if as_num == {0.0, 1.0}:
        return (labels.astype(float) == 1.0).to_numpy().astype(np.int8)
    for bad_word in ("bad", "default", "defaulted", "yes", "true"):
        if bad_word in lowered:
            return (labels.str.lower() == bad_word).to_numpy().astype(np.int8)
    raise TrainingError(
        f"cannot tell which value of {values.name!r} is bad ({', '.join(distinct)}); pass --bad-value"
    )


def infer_specs(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[CharacteristicSpec]]:
    """Numeric and text columns of an arbitrary table; constant or all-empty columns are errors."""
    specs, columns = [], {}
    for name in frame.columns:
        col = frame[name]
        present = col.dropna()
        if isinstance(col.dtype, pd.StringDtype) or col.dtype == object:
            present = present[present.astype(str).str.strip() != ""]
        if present.empty:
            raise TrainingError(f"column {name!r} is empty in every row; drop it (--exclude {name})")
        if present.nunique() < 2:
            raise TrainingError(
                f"column {name!r} is constant ({present.iloc[0]!r}); drop it (--exclude {name})"
            )
        numeric = pd.to_numeric(col, errors="coerce")
        if numeric.notna().sum() == len(present) and not (col.dtype == bool):
            columns[name] = numeric.astype(float).to_numpy()
            specs.append(CharacteristicSpec(name, "data", "numeric", "auto_asc_desc"))
        else:
            text = col.astype(object).where(col.notna(), None)
            columns[name] = np.array([None if v is None else scorer.category_key(v) for v in text], dtype=object)
            specs.append(CharacteristicSpec(name, "data", "categorical", None))
    return pd.DataFrame(columns), specs


def dictionary_specs(subject_kind: str) -> list[CharacteristicSpec]:
    return [
        CharacteristicSpec(f.name, f.dimension, "numeric", f.trend) for f in FEATURES_BY_KIND[subject_kind]
    ]


# --- fitting -----------------------------------------------------------------------------


def _bin_characteristic(spec: CharacteristicSpec, x: np.ndarray, y: np.ndarray) -> dict | None:
    from optbinning import OptimalBinning

    kwargs = {"name": spec.name, "max_n_bins": MAX_BINS}
    if spec.kind == "numeric":
        kwargs.update(dtype="numerical", monotonic_trend=spec.trend or "auto_asc_desc")
    else:
        kwargs.update(dtype="categorical")
    ob = OptimalBinning(**kwargs)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting an item of incompatible dtype")
        ob.fit(x, y)
        if ob.status not in ("OPTIMAL", "FEASIBLE"):
            return None
        table = ob.binning_table.build()
    n_bins = len(ob.splits) + 1 if spec.kind == "numeric" else len(ob.splits)
    events = table["Event"].to_numpy()[: n_bins + 2].astype(float)  # bins, special, missing
    nonevents = table["Non-event"].to_numpy()[: n_bins + 2].astype(float)
    bin_ev, bin_nev = events[:n_bins], nonevents[:n_bins]
    miss_ev, miss_nev = events[n_bins + 1], nonevents[n_bins + 1]
    total_ev, total_nev = float(y.sum()), float(len(y) - y.sum())
    p = total_ev / (total_ev + total_nev)
    base = math.log(p / (1 - p))

    def woe(ev, nev):
        return np.log((ev + PRIOR_ROWS * p) / (nev + PRIOR_ROWS * (1 - p))) - base

    bin_woe = woe(bin_ev, bin_nev)
    miss_woe = float(woe(miss_ev, miss_nev))
    dist_ev = np.append(bin_ev, miss_ev) / max(total_ev, 1)
    dist_nev = np.append(bin_nev, miss_nev) / max(total_nev, 1)
    iv = float(np.sum((dist_ev - dist_nev) * np.append(bin_woe, miss_woe)))
    counts = (bin_ev + bin_nev).astype(int).tolist()
    ch = {
        "name": spec.name,
        "dimension": spec.dimension,
        "kind": spec.kind,
        "woe": [float(w) for w in bin_woe],
        "woe_missing": miss_woe,
        "counts": counts,
        "count_missing": int(miss_ev + miss_nev),
        "bad_rates": [float(e / c) if c else None for e, c in zip(bin_ev, counts)],
        "iv": iv,
    }
    if spec.kind == "numeric":
        edges = [float(s) for s in ob.splits]
        ch["edges"] = edges
        bounds = [-math.inf] + edges + [math.inf]
        ch["labels"] = [f"[{_fmt(bounds[i])}, {_fmt(bounds[i + 1])})" for i in range(n_bins)]
    else:
        ch["categories"] = [[scorer.category_key(c) for c in group] for group in ob.splits]
        ch["labels"] = [", ".join(group) for group in ch["categories"]]
        ch["woe_unseen"] = 0.0
    return ch


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return f"{v:.6g}"


def _woe_scorecard(chars: list[dict]) -> dict:
    return {
        "characteristics": [
            {**ch, "points": ch["woe"], "points_missing": ch["woe_missing"], "points_unseen": ch.get("woe_unseen", 0.0)}
            for ch in chars
        ],
        "scaling": {"offset": 0.0, "factor": 1.0, "min_score": -10**9, "max_score": 10**9},
    }


def woe_matrix(chars: list[dict], frame: pd.DataFrame) -> np.ndarray:
    compiled = scorer.compile_scorecard(_woe_scorecard(chars))
    return scorer.score_batch(compiled, {ch["name"]: frame[ch["name"]].to_numpy() for ch in chars}).points


def fit_scorecard(
    frame: pd.DataFrame,
    y: np.ndarray,
    specs: list[CharacteristicSpec],
    *,
    scaling: dict | None = None,
    tiers=scorer.DEFAULT_TIERS,
) -> FitResult:
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y, dtype=int)
    if len(np.unique(y)) < 2:
        raise TrainingError("the training sample has one class only")
    dropped: dict[str, str] = {}
    chars = []
    for spec in specs:
        x = frame[spec.name].to_numpy()
        ch = _bin_characteristic(spec, x, y)
        if ch is None:
            dropped[spec.name] = "binning failed"
        elif ch["iv"] < MIN_IV:
            dropped[spec.name] = f"IV {ch['iv']:.3f} < {MIN_IV}"
        else:
            chars.append(ch)
    while True:
        if not chars:
            raise TrainingError(
                "no characteristic has predictive power (every information value is below "
                f"{MIN_IV}); check the target and the columns"
            )
        X = woe_matrix(chars, frame)
        lr = LogisticRegression(C=1.0, max_iter=1000)
        lr.fit(X, y)
        coef = lr.coef_[0]
        wrong = [i for i, b in enumerate(coef) if b <= 0]
        if not wrong:
            break
        worst = min(wrong, key=lambda i: coef[i])
        dropped[chars[worst]["name"]] = f"coefficient {coef[worst]:.3f} has the wrong sign"
        chars.pop(worst)

    sc = {**DEFAULT_SCALING, **(scaling or {})}
    factor = sc["pdo"] / math.log(2)
    offset = sc["base_points"] - factor * math.log(sc["base_odds"])
    k = len(chars)
    b0 = float(lr.intercept_[0])
    out_chars = []
    for ch, b in zip(chars, coef):
        def pts(w, b=b):
            return round(offset / k - factor * (b0 / k + float(b) * w), 2)

        entry = {
            key: ch[key]
            for key in ("name", "dimension", "kind", "labels", "counts", "count_missing", "bad_rates", "iv")
        }
        entry["coefficient"] = float(b)
        if ch["kind"] == "numeric":
            entry["edges"] = ch["edges"]
        else:
            entry["categories"] = ch["categories"]
            entry["points_unseen"] = pts(ch["woe_unseen"])
        entry["woe"] = ch["woe"]
        entry["woe_missing"] = ch["woe_missing"]
        entry["points"] = [pts(w) for w in ch["woe"]]
        entry["points_missing"] = pts(ch["woe_missing"])
        out_chars.append(entry)
    scorecard = {
        "characteristics": out_chars,
        "scaling": {
            "base_points": sc["base_points"], "base_odds": sc["base_odds"], "pdo": sc["pdo"],
            "factor": factor, "offset": offset, "intercept": b0,
            "min_score": scorer.MIN_SCORE, "max_score": scorer.MAX_SCORE,
        },
        "tiers": [list(t) for t in tiers],
    }
    return FitResult(scorecard=scorecard, selected=[c["name"] for c in chars], dropped=dropped)


# --- evaluation --------------------------------------------------------------------------


def discrimination(y: np.ndarray, risk: np.ndarray) -> dict:
    """AUC, KS and Gini of a risk measure (higher = riskier) against outcomes (1 = bad)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    auc = float(roc_auc_score(y, risk))
    fpr, tpr, _ = roc_curve(y, risk)
    return {"auc": auc, "ks": float(np.max(tpr - fpr)), "gini": 2 * auc - 1}


def score_distribution(scores: np.ndarray, y: np.ndarray | None = None, width: int = 20) -> dict:
    edges = list(range(0, scorer.MAX_SCORE + width, width))
    counts, _ = np.histogram(scores, bins=edges + [edges[-1] + width])
    counts = counts[: len(edges)]
    dist = {
        "bin_width": width,
        "edges": edges,
        "counts": counts.astype(int).tolist(),
        "n": int(len(scores)),
        "mean": float(np.mean(scores)) if len(scores) else None,
        "deciles": [float(q) for q in np.quantile(scores, np.linspace(0.1, 0.9, 9))] if len(scores) else [],
    }
    return dist


@dataclass
class TrainingReport:
    fit: FitResult
    holdout: dict
    cv: dict
    oracle_holdout: dict | None
    reference_distribution: dict
    holdout_scores: np.ndarray
    holdout_y: np.ndarray
    n_rows: int
    bad_rate: float


def train_and_evaluate(
    frame: pd.DataFrame,
    y: np.ndarray,
    specs: list[CharacteristicSpec],
    *,
    folds: int = 5,
    seed: int = 0,
    holdout_share: float = 0.3,
    true_pd: np.ndarray | None = None,
) -> TrainingReport:
    """Holdout split and k-fold cross-validation; the returned model is fitted on the
    training part of the holdout split (its holdout metrics are the ones reported)."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    y = np.asarray(y, dtype=int)
    n_bad = int(y.sum())
    if n_bad == 0 or n_bad == len(y):
        raise TrainingError("the target has one class only; a scorecard needs good and bad outcomes")
    if min(n_bad, len(y) - n_bad) < max(folds, 2) * 2:
        raise TrainingError(f"too few rows of the minority class ({min(n_bad, len(y) - n_bad)}) to validate")
    idx = np.arange(len(y))
    train_idx, test_idx = train_test_split(idx, test_size=holdout_share, stratify=y, random_state=seed)
    fit = fit_scorecard(frame.iloc[train_idx].reset_index(drop=True), y[train_idx], specs)
    compiled = fit.compiled
    cols = {n: frame[n].to_numpy() for n in fit.selected}
    all_batch = scorer.score_batch(compiled, cols)
    holdout = discrimination(y[test_idx], -all_batch.total[test_idx])
    oracle = discrimination(y[test_idx], true_pd[test_idx]) if true_pd is not None else None

    fold_metrics = []
    if folds and folds >= 2:
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for tr, te in skf.split(idx, y):
            f = fit_scorecard(frame.iloc[tr].reset_index(drop=True), y[tr], specs)
            b = scorer.score_batch(f.compiled, {n: frame[n].to_numpy()[te] for n in f.selected})
            fold_metrics.append(discrimination(y[te], -b.total))
    cv = {}
    if fold_metrics:
        for key in ("auc", "ks", "gini"):
            vals = np.array([m[key] for m in fold_metrics])
            cv[key] = float(vals.mean())
            cv[f"{key}_sd"] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        cv["folds"] = len(fold_metrics)
    return TrainingReport(
        fit=fit,
        holdout=holdout,
        cv=cv,
        oracle_holdout=oracle,
        reference_distribution={
            **score_distribution(all_batch.score.astype(float)),
            # each characteristic's bins over the training population: what monitoring's PSI
            # of a characteristic compares each night's population with
            "characteristics": scorer.bin_counts(compiled, cols),
        },
        holdout_scores=all_batch.score[test_idx].astype(float),
        holdout_y=y[test_idx],
        n_rows=len(y),
        bad_rate=float(y.mean()),
    )


def format_report(report: TrainingReport) -> list[str]:
    lines = [f"rows: {report.n_rows}  bad_rate: {report.bad_rate:.4f}"]
    lines.append(f"characteristics: {', '.join(report.fit.selected)}")
    for name, why in report.fit.dropped.items():
        lines.append(f"  dropped {name}: {why}")
    h = report.holdout
    lines.append(f"holdout (n={len(report.holdout_y)}):")
    if report.oracle_holdout:
        o = report.oracle_holdout
        lines.append(f"auc: {h['auc']:.3f}  oracle_auc: {o['auc']:.3f}  gap: {o['auc'] - h['auc']:+.3f}")
        lines.append(f"ks: {h['ks']:.3f}  oracle_ks: {o['ks']:.3f}")
        lines.append(f"gini: {h['gini']:.3f}  oracle_gini: {o['gini']:.3f}")
    else:
        lines.append(f"auc: {h['auc']:.3f}")
        lines.append(f"ks: {h['ks']:.3f}")
        lines.append(f"gini: {h['gini']:.3f}")
    if report.cv:
        c = report.cv
        lines.append(f"cross-validation ({c['folds']} folds, mean ± sd):")
        lines.append(f"auc: {c['auc']:.3f} ± {c['auc_sd']:.3f}")
        lines.append(f"ks: {c['ks']:.3f} ± {c['ks_sd']:.3f}")
        lines.append(f"gini: {c['gini']:.3f} ± {c['gini_sd']:.3f}")
    lines.append("score distribution (holdout):")
    lines.append(f"  {'band':>9} {'count':>7} {'share':>6} {'bad rate':>8}")
    s, y = report.holdout_scores, report.holdout_y
    bands = [(0, 500)] + [(lo, lo + 50) for lo in range(500, 850, 50)] + [(850, 951)]
    for lo, hi in bands:
        mask = (s >= lo) & (s < hi)
        n = int(mask.sum())
        rate = f"{y[mask].mean():.4f}" if n else "-"
        lines.append(f"  {lo:>4}-{hi - 1:<4} {n:>7} {n / max(len(s), 1):>6.1%} {rate:>8}")
    lines.append("tiers (holdout):")
    tiers = scorer.DEFAULT_TIERS
    for label, floor in tiers:
        hi = min([f for _, f in tiers if f > floor], default=951)
        mask = (s >= floor) & (s < hi)
        n = int(mask.sum())
        rate = f"{y[mask].mean():.4f}" if n else "-"
        lines.append(f"  {label} (>= {floor:>3}) {n:>7} {n / max(len(s), 1):>6.1%} {rate:>8}")
    return lines


def metrics_json(report: TrainingReport) -> dict:
    m = {
        "holdout": report.holdout,
        "cv": report.cv,
        "rows": report.n_rows,
        "bad_rate": report.bad_rate,
        "selected": report.fit.selected,
        "dropped": report.fit.dropped,
    }
    if report.oracle_holdout:
        m["oracle_holdout"] = report.oracle_holdout
    return m
