"""Model monitoring: each champion's (and challenger's) stability and power, per night.

* Stability: the PSI of the model's scores against its reference distribution (stored at
  training: ``ScoreModel.reference_distribution``) and of each characteristic's bins, both over
  a sample of the date's population (the scorecard applied to the sample's credit data; the
  stored scores of the date when there is no credit data to sample).  Warn at 0.10,
  alert at 0.25 (a system alert ``model_drift`` per model, like the ledger check's).
* Power: a back-test per observation month: the model's scorecard applied to the credit data
  each subject had on its observation date, against the outcome realised within 12 months
  (``scoring.CreditOutcome``): AUC, KS, Gini, and per tier the bad rate against the PD the
  tier promised (calibration).  A month whose outcomes did not change since the model's last
  monitoring row is reused, not recomputed.

One ``ModelMonitoring`` row per (date, model), replaced by a rerun.  Nothing is raised for
what is missing (no reference, no scores, no outcomes): the row's ``messages`` say it.
"""

from __future__ import annotations

import datetime
import logging

import numpy as np
from django.db import transaction
from django.db.models import Count, F, IntegerField, Max, Min, Q
from django.db.models.functions import Cast

from ..models import DriftStatus, ModelMonitoring
from . import stats
from .alerts import model_alert_raise

log = logging.getLogger(__name__)

DRIFT_RULE = "model_drift"
CHARACTERISTIC_SAMPLE = 20_000  # subjects whose features are binned for characteristic PSI
BACKTEST_READ_CHUNK = 50_000  # subject ids per read of observation-date credit data
KINDS = ("person", "company")


def models_monitored():
    from scoring.models import ModelStatus, ScoreModel

    return list(
        ScoreModel.objects.filter(subject_kind__in=KINDS, status__in=[ModelStatus.CHAMPION, ModelStatus.CHALLENGER])
        .order_by("subject_kind", "-status", "version")
    )


# --- stability ---------------------------------------------------------------------------------


def score_histogram(*, model, as_of: datetime.date, width: int, n_bins: int) -> list[int]:
    """The model's scores on the date in ``n_bins`` bins of ``width`` points (the last bin is
    open-ended), by one GROUP BY."""
    from scoring.models import Score

    rows = (
        Score.objects.filter(as_of=as_of, subject_kind=model.subject_kind, model_id=model.pk)
        .annotate(b=Cast(F("score") / width, IntegerField())).values("b").annotate(n=Count("id")).order_by()
    )
    counts = [0] * n_bins
    for row in rows:
        counts[min(max(int(row["b"]), 0), n_bins - 1)] += row["n"]
    return counts


def _sample_features(model, as_of: datetime.date) -> dict | None:
    """The features of up to ``CHARACTERISTIC_SAMPLE`` subjects on the date (a run of
    consecutive ids from the middle of the population: ids say nothing of risk), as columns
    named for the model's characteristics."""
    from scoring import selectors
    from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot

    snapshots = PersonCreditSnapshot if model.subject_kind == "person" else CompanyCreditSnapshot
    fk = "person_id" if model.subject_kind == "person" else "company_id"
    bounds = snapshots.objects.filter(as_of__lte=as_of).aggregate(lo=Min(fk), hi=Max(fk))
    if bounds["lo"] is None:
        return None
    mid = (bounds["lo"] + bounds["hi"]) // 2
    lo = max(bounds["lo"], mid - CHARACTERISTIC_SAMPLE // 2)
    cols, rows = selectors.latest_snapshots(model.subject_kind, as_of=as_of, id_from=lo, id_to=lo + CHARACTERISTIC_SAMPLE)
    if not rows:
        return None
    return _numeric_columns(cols, rows)


def _float_column(values: np.ndarray) -> np.ndarray:
    """One feature column (an object array) as floats, None as NaN (NumPy converts None to
    NaN in C); a value that is no number (never expected: every credit-data feature is an
    integer or float column) becomes NaN too, one value at a time."""
    try:
        return values.astype(float)
    except (TypeError, ValueError):
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values.tolist()):
            try:
                out[i] = np.nan if v is None else float(v)
            except (TypeError, ValueError):
                pass
        return out


def _numeric_columns(cols, rows) -> dict[str, np.ndarray]:
    """Feature columns as float arrays, None as NaN: the rows as one object array, each column
    converted by NumPy (no pandas: the worker runs on the runtime requirements, which leave the
    training stack out, and importing it cost seconds each night)."""
    if not rows:
        return {name: np.array([], dtype=float) for name in cols[1:] if name != "in_default"}
    table = np.array(rows, dtype=object).reshape(len(rows), -1)
    return {name: _float_column(table[:, j]) for j, name in enumerate(cols) if j > 0 and name != "in_default"}


def _model_columns(compiled, columns: dict) -> dict:
    out = {}
    for j, name in enumerate(compiled.names):
        col = columns.get(name)
        if col is None:
            col = np.full(len(next(iter(columns.values()))), np.nan)
        if compiled.kinds[j] == "categorical":  # matched by category key: 2, not 2.0
            col = np.array([None if v != v else (int(v) if float(v).is_integer() else v) for v in col.tolist()], dtype=object)
        out[name] = col
    return out


def shadow_compare(*, challenger, champion, columns: dict, cutoff: int) -> dict:
    """The challenger scored in shadow on the sample beside the champion's scorecard on the same
    credit data: mean scores, and the swap set at the approval cut-off (who would be approved
    or declined differently).  Decides nothing."""
    from scoring import scorer, selectors

    hc = selectors.compiled_scorecard(challenger.pk, challenger.scorecard, stamp=challenger.created_at)
    ch = scorer.score_batch(hc, _model_columns(hc, columns))
    cc = selectors.compiled_scorecard(champion.pk, champion.scorecard, stamp=champion.created_at)
    cp = scorer.score_batch(cc, _model_columns(cc, columns))
    champ_ok, chall_ok = cp.score >= cutoff, ch.score >= cutoff
    return {
        "sample": int(len(ch.score)), "cutoff": cutoff, "champion": f"v{champion.version}",
        "mean_score_champion": round(float(cp.score.mean()), 2), "mean_score_challenger": round(float(ch.score.mean()), 2),
        "both_approve": int((champ_ok & chall_ok).sum()), "both_decline": int((~champ_ok & ~chall_ok).sum()),
        "swap_in": int((~champ_ok & chall_ok).sum()), "swap_out": int((champ_ok & ~chall_ok).sum()),
        "scores": ch.score,
    }


def _sample_bins(model, columns: dict) -> dict[str, list[int]]:
    from scoring import scorer, selectors

    compiled = selectors.compiled_scorecard(model.pk, model.scorecard, stamp=model.created_at)
    return scorer.bin_counts(compiled, _model_columns(compiled, columns))


_UNREAD = object()


def stability(*, model, as_of: datetime.date, champion=None, cutoff: int = 600, columns=_UNREAD) -> dict:
    """PSI of the model's scores (stored on the date; for a challenger that stores none, its
    shadow scores over the sample) and of each characteristic's bins, against the reference."""
    ref = model.reference_distribution or {}
    messages: list[str] = []
    out = {"psi": None, "psi_status": DriftStatus.NO_REFERENCE.value, "score_distribution": {},
           "characteristic_psi": {}, "n_scored": 0, "shadow": {}}
    edges, ref_counts = ref.get("edges"), ref.get("counts")
    if columns is _UNREAD:  # the night reads each kind's sample once for all its models
        columns = _sample_features(model, as_of)
    if columns is None:
        messages.append(f"{model}: no credit data on or before {as_of}; characteristics and shadow scores not computed")
    sample_scores = None
    if columns is not None:
        if champion is not None and champion.pk != model.pk:
            shadow = shadow_compare(challenger=model, champion=champion, columns=columns, cutoff=cutoff)
            sample_scores = shadow.pop("scores")
            out["shadow"] = shadow
        else:
            from scoring import scorer, selectors

            compiled = selectors.compiled_scorecard(model.pk, model.scorecard, stamp=model.created_at)
            sample_scores = scorer.score_batch(compiled, _model_columns(compiled, columns)).score
    if not edges or not ref_counts or not sum(ref_counts):
        messages.append(f"{model}: no reference score distribution stored at training; PSI not computed")
        out["messages"] = messages
        return out
    width = int(ref.get("bin_width") or (edges[1] - edges[0]))
    if sample_scores is not None and len(sample_scores):
        # The scorecard's own scores over the sample: what the reference (the training
        # population's scorecard scores) describes, for champion and challenger alike (a
        # company's stored score is the composite), at the cost of 20,000 rows, not the night's.
        counts = np.bincount(np.minimum(sample_scores.astype(int) // width, len(ref_counts) - 1),
                             minlength=len(ref_counts)).astype(int).tolist()
        source = "sample"
    else:
        counts = score_histogram(model=model, as_of=as_of, width=width, n_bins=len(ref_counts))
        source = "scores"
    out["n_scored"] = sum(counts)
    out["score_distribution"] = {"bin_width": width, "edges": edges, "counts": counts, "reference": ref_counts, "source": source}
    if not sum(counts):
        out["psi_status"] = DriftStatus.NO_SCORES.value
        messages.append(f"{model}: no scores on {as_of}; PSI not computed")
        out["messages"] = messages
        return out
    out["psi"] = round(stats.psi(ref_counts, counts), 6)
    out["psi_status"] = stats.psi_status(out["psi"])
    char_ref = ref.get("characteristics") or {}
    if not char_ref:
        messages.append(f"{model}: no characteristic bins stored at training (trained before they were); characteristic PSI not computed")
    elif columns is not None:
        current = _sample_bins(model, columns)
        for name, expected in char_ref.items():
            actual = current.get(name)
            if actual is None or len(actual) != len(expected) or not sum(actual) or not sum(expected):
                messages.append(f"{model}: characteristic {name} cannot be compared (bins differ or empty)")
                continue
            value = round(stats.psi(expected, actual), 6)
            out["characteristic_psi"][name] = {"psi": value, "status": stats.psi_status(value), "counts": actual}
    out["messages"] = messages
    return out


# --- back-test ---------------------------------------------------------------------------------


def _observation_months(kind: str, as_of: datetime.date) -> dict[str, dict]:
    """{YYYY-MM: {n, bads, dates}} of the outcomes observed up to the date (one GROUP BY)."""
    from scoring.models import CreditOutcome

    months: dict[str, dict] = {}
    rows = (
        CreditOutcome.objects.filter(subject_kind=kind, observed_at__lte=as_of).values("observed_at")
        .annotate(n=Count("id"), bads=Count("id", filter=Q(defaulted_12m=True))).order_by("observed_at")
    )
    for row in rows:
        key = row["observed_at"].strftime("%Y-%m")
        m = months.setdefault(key, {"n": 0, "bads": 0, "dates": []})
        m["n"] += row["n"]
        m["bads"] += row["bads"]
        m["dates"].append(row["observed_at"])
    return months


def _scores_at(model, day: datetime.date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(bad, score, pd, tier) of the subjects with an outcome observed on ``day``: the model's
    scorecard applied to each subject's credit data on or before that day."""
    from scoring import scorer, selectors
    from scoring.models import CreditOutcome

    outcomes = dict(
        CreditOutcome.objects.filter(subject_kind=model.subject_kind, observed_at=day).values_list("subject_id", "defaulted_12m")
    )
    if not outcomes:
        return (np.array([], dtype=int),) * 2 + (np.array([]), np.array([], dtype=object))
    compiled = selectors.compiled_scorecard(model.pk, model.scorecard, stamp=model.created_at)
    lo, hi = min(outcomes), max(outcomes)
    bad, score, pd_, tier = [], [], [], []
    for start in range(lo, hi + 1, BACKTEST_READ_CHUNK):
        cols, rows = selectors.latest_snapshots(model.subject_kind, as_of=day, id_from=start, id_to=min(start + BACKTEST_READ_CHUNK, hi + 1))
        rows = [r for r in rows if r[0] in outcomes]
        if not rows:
            continue
        columns = _numeric_columns(cols, rows)
        batch = scorer.score_batch(compiled, _model_columns(compiled, columns))
        bad.append(np.array([outcomes[r[0]] for r in rows], dtype=int))
        score.append(batch.score.astype(int))
        pd_.append(batch.pd)
        tier.append(batch.tier.astype(object))
    if not bad:
        return (np.array([], dtype=int),) * 2 + (np.array([]), np.array([], dtype=object))
    return np.concatenate(bad), np.concatenate(score), np.concatenate(pd_), np.concatenate(tier)


def calibration_table(bad: np.ndarray, pd_: np.ndarray, tier: np.ndarray) -> list[dict]:
    rows = []
    for label in sorted(set(tier.tolist())):
        mask = tier == label
        n = int(mask.sum())
        rows.append({
            "tier": str(label), "n": n, "bads": int(bad[mask].sum()),
            "bad_rate": round(float(bad[mask].mean()), 6), "pd": round(float(pd_[mask].mean()), 6),
        })
    return rows


def backtest(*, model, as_of: datetime.date, previous: ModelMonitoring | None, months: dict | None = None) -> dict:
    """Per observation month: n, bads, AUC, KS, Gini and calibration by tier.  ``months``: the
    kind's observation months when the caller has read them already."""
    messages: list[str] = []
    if months is None:
        months = _observation_months(model.subject_kind, as_of)
    if not months:
        messages.append(f"{model}: no realised outcomes observed on or before {as_of}; back-test not computed")
        return {"backtest": [], "messages": messages}
    cached = {m["month"]: m for m in (previous.backtest if previous else []) if isinstance(m, dict)}
    result = []
    for month, info in months.items():
        hit = cached.get(month)
        if hit and hit.get("outcomes") == info["n"] and hit.get("model_version") == model.version:
            result.append(hit)
            continue
        parts = [_scores_at(model, day) for day in info["dates"]]
        bad = np.concatenate([p[0] for p in parts])
        score = np.concatenate([p[1] for p in parts])
        pd_ = np.concatenate([p[2] for p in parts])
        tier = np.concatenate([p[3] for p in parts])
        entry = {"month": month, "model_version": model.version, "outcomes": info["n"], "n": int(len(bad))}
        if len(bad) == 0:
            entry.update(auc=None, ks=None, gini=None, bads=0, calibration=[])
            messages.append(f"{model}: month {month} has outcomes but no credit data on their observation dates")
        else:
            metrics = stats.discrimination(bad, -score.astype(float))
            entry.update({k: metrics[k] for k in ("bads", "auc", "ks", "gini")})
            entry["calibration"] = calibration_table(bad, pd_, tier)
            if metrics["auc"] is None:
                messages.append(f"{model}: month {month} has outcomes of one class only; AUC, KS and Gini need both")
        result.append(entry)
    return {"backtest": result, "messages": messages}


# --- the night's monitoring ---------------------------------------------------------------------


def model_monitoring_run(*, as_of: datetime.date) -> dict:
    """Monitor every champion and challenger for the date; {model label: psi status}."""
    from loans.models import CreditPolicy
    from scoring.models import ModelStatus

    summary: dict[str, str] = {}
    monitored = models_monitored()
    champions = {m.subject_kind: m for m in monitored if m.status == ModelStatus.CHAMPION}
    cutoff = CreditPolicy.objects.filter(is_active=True).values_list("min_score", flat=True).first() or 600
    # What every model of a kind shares is read once per kind: the sample's credit data and
    # the observation months of the realised outcomes.
    samples: dict[str, dict | None] = {}
    months: dict[str, dict] = {}
    for model in monitored:
        kind = model.subject_kind
        if kind not in samples:
            samples[kind] = _sample_features(model, as_of)
            months[kind] = _observation_months(kind, as_of)
        previous = ModelMonitoring.objects.filter(model=model, as_of__lt=as_of).order_by("-as_of").first()
        stable = stability(model=model, as_of=as_of, champion=champions.get(kind), cutoff=cutoff, columns=samples[kind])
        tested = backtest(model=model, as_of=as_of, previous=previous, months=months[kind])
        latest = next((m for m in reversed(tested["backtest"]) if m.get("auc") is not None), None)
        with transaction.atomic():
            row, _ = ModelMonitoring.objects.update_or_create(
                as_of=as_of, model=model,
                defaults={
                    "role": ModelStatus.CHAMPION.value if model.status == ModelStatus.CHAMPION else ModelStatus.CHALLENGER.value,
                    "n_scored": stable["n_scored"], "psi": stable["psi"], "psi_status": stable["psi_status"],
                    "score_distribution": stable["score_distribution"], "characteristic_psi": stable["characteristic_psi"],
                    "backtest": tested["backtest"],
                    "auc": latest["auc"] if latest else None, "ks": latest["ks"] if latest else None,
                    "gini": latest["gini"] if latest else None, "n_outcomes": latest["n"] if latest else 0,
                    "calibration": latest["calibration"] if latest else [],
                    "shadow": stable["shadow"],
                    "messages": stable["messages"] + tested["messages"],
                },
            )
        drifted = {n: c["psi"] for n, c in stable["characteristic_psi"].items() if c["status"] != "ok"}
        worst = stable["psi_status"]
        if any(c["status"] == "alert" for c in stable["characteristic_psi"].values()):
            worst = "alert"
        elif worst == "ok" and drifted:
            worst = "warn"
        if worst in ("warn", "alert") and model.status == ModelStatus.CHAMPION:
            detail = (
                f"{model}: score PSI {stable['psi']} on {as_of} ({stable['psi_status']})"
                + (f"; characteristics drifting: {', '.join(f'{k} {v}' for k, v in sorted(drifted.items()))}" if drifted else "")
            )
            model_alert_raise(rule=DRIFT_RULE, subject_id=model.pk, detail=detail, as_of=as_of,
                              severity="high" if worst == "alert" else "medium")
            log.warning("model drift: %s", detail)
        summary[f"{model.subject_kind} v{model.version}"] = worst
    return summary
