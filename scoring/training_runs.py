"""Training runs: load data (the database's history or a CSV), train, print, save as draft.

Used by ``manage.py train_scorecard`` and by the demo generator.  Every check on the input
happens before anything is written: a bad input raises ``TrainingError`` and saves nothing.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection

from . import services
from .features import FeatureRangeError, feature_names, validate_columns
from .models import CompanyCreditSnapshot, CreditOutcome, PersonCreditSnapshot, ScoreModel
from .training import (
    TrainingError,
    binary_target,
    dictionary_specs,
    format_report,
    infer_specs,
    metrics_json,
    train_and_evaluate,
)

DEFAULT_MAX_ROWS = 50_000


def load_subject_history(subject_kind: str, *, max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0):
    """Outcomes joined with the subject's latest snapshot on or before the observation date."""
    if subject_kind == "person":
        table, fk = PersonCreditSnapshot._meta.db_table, "person_id"
    elif subject_kind == "company":
        table, fk = CompanyCreditSnapshot._meta.db_table, "company_id"
    else:
        raise TrainingError(f"unknown subject kind {subject_kind!r}: person or company")
    names = feature_names(subject_kind)
    cols = ", ".join(f"s.{n}" for n in names)
    sql = (
        f"SELECT o.defaulted_12m, o.true_pd, {cols} FROM {CreditOutcome._meta.db_table} o "
        f"JOIN {table} s ON s.{fk} = o.subject_id AND s.as_of = ("
        f"  SELECT MAX(s2.as_of) FROM {table} s2 WHERE s2.{fk} = o.subject_id AND s2.as_of <= o.observed_at)"
        " WHERE o.subject_kind = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [subject_kind])
        rows = cursor.fetchall()
    if not rows:
        raise TrainingError(
            f"no {subject_kind} outcomes with credit data in the database: run seed_demo, or train with --csv"
        )
    data = np.array(rows, dtype=float)
    if len(data) > max_rows:
        rng = np.random.default_rng(seed)
        data = data[np.sort(rng.choice(len(data), size=max_rows, replace=False))]
    y = data[:, 0].astype(int)
    true_pd = data[:, 1]
    true_pd = None if np.isnan(true_pd).any() else true_pd
    frame = pd.DataFrame({n: data[:, 2 + i] for i, n in enumerate(names)})
    return frame, y, true_pd, len(rows)


def load_csv(path: str, *, target: str, bad_value: str | None = None, exclude=(), subject_kind: str | None = None):
    p = Path(path)
    if not p.exists():
        raise TrainingError(f"{path}: no such file")
    try:
        raw = pd.read_csv(p, sep=None, engine="python")
    except Exception as exc:  # noqa: BLE001 - any parser error is a bad input
        raise TrainingError(f"{path}: cannot read as CSV ({exc})") from exc
    if target not in raw.columns:
        raise TrainingError(
            f"{path}: no target column {target!r}; columns are: {', '.join(map(str, raw.columns))}"
        )
    unknown = [c for c in exclude if c not in raw.columns]
    if unknown:
        raise TrainingError(f"--exclude: no column(s) {', '.join(unknown)}")
    y = binary_target(raw[target], bad_value=bad_value)
    features = raw.drop(columns=[target, *exclude])
    if features.shape[1] == 0:
        raise TrainingError(f"{path}: no feature columns besides the target")
    if subject_kind in ("person", "company"):
        # Columns must be dictionary features; their values must be in range.
        known = set(feature_names(subject_kind))
        extra = [c for c in features.columns if c not in known]
        if extra:
            raise TrainingError(f"not {subject_kind} features of the dictionary: {', '.join(extra)}")
        numeric = {}
        for c in features.columns:
            col = pd.to_numeric(features[c], errors="coerce")
            if col.notna().sum() != features[c].notna().sum():
                raise TrainingError(f"column {c!r} has non-numeric values")
            numeric[c] = col.to_numpy(dtype=float)
        try:
            validate_columns(subject_kind, numeric)
        except FeatureRangeError as exc:
            raise TrainingError(str(exc)) from exc
        frame, _ = infer_specs(features)  # constant / empty checks
        specs = [s for s in dictionary_specs(subject_kind) if s.name in features.columns]
        frame = pd.DataFrame(numeric)
        return frame, y, specs
    frame, specs = infer_specs(features)
    return frame, y, specs


def _save(subject_kind, report, *, trained_on, promote, out):
    model = services.score_model_create(
        subject_kind=subject_kind,
        scorecard=report.fit.scorecard,
        metrics=metrics_json(report),
        reference_distribution=report.reference_distribution,
        trained_on=trained_on,
    )
    if promote:
        services.score_model_promote(model=model)
    out.write(f"saved {subject_kind} scorecard v{model.version} as {model.status}\n")
    return model


def run_subject_training(
    subject_kind: str, *, folds: int = 5, seed: int = 0, max_rows: int = DEFAULT_MAX_ROWS,
    promote: bool = False, stdout=None,
) -> tuple[ScoreModel, object]:
    out = stdout or sys.stdout
    frame, y, true_pd, available = load_subject_history(subject_kind, max_rows=max_rows, seed=seed)
    out.write(f"training {subject_kind} scorecard on {len(y)} of {available} outcomes\n")
    report = train_and_evaluate(frame, y, dictionary_specs(subject_kind), folds=folds, seed=seed, true_pd=true_pd)
    for line in format_report(report):
        out.write(line + "\n")
    model = _save(
        subject_kind, report, promote=promote, out=out,
        trained_on={"source": "database", "rows": len(y), "available": available, "seed": seed,
                    "folds": folds, "at": datetime.datetime.now().isoformat(timespec="seconds")},
    )
    return model, report


def run_csv_training(
    path: str, *, target: str, bad_value: str | None = None, exclude=(), subject_kind: str | None = None,
    folds: int = 5, seed: int = 0, promote: bool = False, stdout=None,
) -> tuple[ScoreModel, object]:
    out = stdout or sys.stdout
    frame, y, specs = load_csv(path, target=target, bad_value=bad_value, exclude=exclude, subject_kind=subject_kind)
    out.write(f"training on {path}: {len(y)} rows, {len(specs)} columns, target {target!r}\n")
    report = train_and_evaluate(frame, y, specs, folds=folds, seed=seed)
    for line in format_report(report):
        out.write(line + "\n")
    model = _save(
        subject_kind or "external", report, promote=promote, out=out,
        trained_on={"source": "csv", "path": str(path), "target": target, "bad_value": bad_value,
                    "rows": len(y), "seed": seed, "folds": folds,
                    "at": datetime.datetime.now().isoformat(timespec="seconds")},
    )
    return model, report
