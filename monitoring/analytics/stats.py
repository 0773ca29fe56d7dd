"""Pure calculation for portfolio analytics and model monitoring: no database, no Django."""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence

import numpy as np

PSI_WARN = 0.10
PSI_ALERT = 0.25
PSI_FLOOR = 1e-4  # a bin empty on one side counts as this share, so the log stays finite


def psi(expected: Sequence[float], actual: Sequence[float], *, floor: float = PSI_FLOOR) -> float:
    """Population stability index of ``actual`` against ``expected`` (counts or shares per bin,
    same bins): sum over bins of (a - e) * ln(a / e), shares floored at ``floor``."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape:
        raise ValueError(f"expected and actual need the same bins ({e.size} against {a.size})")
    if e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("a distribution with no observations has no PSI")
    e = np.maximum(e / e.sum(), floor)
    a = np.maximum(a / a.sum(), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_status(value: float | None) -> str:
    if value is None:
        return "no_reference"
    if value >= PSI_ALERT:
        return "alert"
    if value >= PSI_WARN:
        return "warn"
    return "ok"


def discrimination(bad: Sequence[int], risk: Sequence[float]) -> dict:
    """AUC, KS and Gini of a risk measure (higher = riskier) against outcomes (1 = bad).
    AUC by the rank-sum (Mann-Whitney) formula with average ranks for ties, which is what
    scikit-learn's ``roc_auc_score`` computes; KS the largest gap between the cumulative
    shares of bads and goods over the thresholds.  None where one class is missing."""
    y = np.asarray(bad, dtype=int)
    r = np.asarray(risk, dtype=float)
    n_bad = int(y.sum())
    n_good = int(len(y) - n_bad)
    if n_bad == 0 or n_good == 0:
        return {"n": int(len(y)), "bads": n_bad, "auc": None, "ks": None, "gini": None}
    order = np.argsort(r, kind="mergesort")
    sorted_r = r[order]
    ranks = np.empty(len(r), dtype=float)
    # average ranks over ties
    _, first, counts = np.unique(sorted_r, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0  # 1-based average rank of each distinct value
    ranks[order] = np.repeat(avg, counts)
    auc = (ranks[y == 1].sum() - n_bad * (n_bad + 1) / 2.0) / (n_bad * n_good)
    # KS: walk the distinct thresholds from the riskiest down
    bad_at = np.add.reduceat(y[order], first)
    good_at = counts - bad_at
    tpr = np.cumsum(bad_at[::-1]) / n_bad
    fpr = np.cumsum(good_at[::-1]) / n_good
    ks = float(np.max(np.abs(tpr - fpr)))
    return {"n": int(len(y)), "bads": n_bad, "auc": float(auc), "ks": ks, "gini": float(2 * auc - 1)}


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later (or earlier), clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (datetime.date(year + (month == 12), month % 12 + 1, 1) - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def months_between(start: datetime.date, end: datetime.date) -> int:
    """Whole months from ``start`` to ``end`` (months on book): 0 in the booking month's first
    month, 1 once a month has passed, ..."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def hhi(amounts: Sequence[float]) -> float:
    """Herfindahl-Hirschman index of shares (0..1): the sum of squared shares."""
    total = float(sum(amounts))
    if total <= 0:
        return 0.0
    return float(sum((float(a) / total) ** 2 for a in amounts))


def safe_ratio(num, den) -> float:
    den = float(den)
    return 0.0 if den == 0 or math.isnan(den) else float(num) / den
