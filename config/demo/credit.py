"""Synthetic credit data for the demo, drawn from a known truth.

``seed_scoring_demo`` reads ``SyntheticTruth`` (a standard-normal latent risk per demo company
and person, higher = riskier) and writes, for every such subject:

* three monthly credit data snapshots (as_of - 2 months, as_of - 1 month, as_of) whose
  features are noisy functions of the latent risk (each feature sees its own noise, so no
  single feature reveals the truth, and some values are missing);
* one realised outcome observed at the first snapshot: defaulted within 12 months, drawn from
  the TRUE probability of default ``true_pd = 1 / (1 + exp(-(a + b * latent_risk)))``, stored
  with the outcome so training prints the oracle AUC beside the model's.  (The demo compresses
  time: the 12 months are not waited for.)

It then trains and promotes the person and company scorecards and scores everyone for as_of,
people first, then companies (the composite reads its people's scores).

Writes go through COPY on PostgreSQL and executemany on SQLite; nothing row-by-row in the ORM.
"""

from __future__ import annotations

import datetime
import sys
import time

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from scoring.features import COMPANY_FEATURES, PERSON_FEATURES

PERSON_TRUTH = (-3.6, 1.4)  # (a, b): true PD = sigmoid(a + b * latent risk)
COMPANY_TRUTH = (-3.4, 1.3)
FEATURE_NOISE = 0.9  # each feature sees latent risk + N(0, FEATURE_NOISE)
COMPANY_FEATURE_NOISE = 0.7  # companies have fewer characteristics, each a little sharper
TRAIN_MAX_ROWS = 50_000
TRAIN_FOLDS = 3
CHUNK = 20_000


def true_pd(latent: np.ndarray, kind: str) -> np.ndarray:
    a, b = PERSON_TRUTH if kind == "person" else COMPANY_TRUTH
    return 1.0 / (1.0 + np.exp(-(a + b * latent)))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _months_back(d: datetime.date, months: int) -> datetime.date:
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    m += 1
    for day in (d.day, 30, 29, 28):
        try:
            return datetime.date(y, m, day)
        except ValueError:
            continue
    raise AssertionError


def _with_missing(rng, values: np.ndarray, share: float) -> np.ndarray:
    values = values.astype(float)
    values[rng.random(values.size) < share] = np.nan
    return values


def person_features(rng: np.random.Generator, z: np.ndarray) -> tuple[dict, np.ndarray]:
    n = z.size

    def r():
        return z + rng.normal(0, FEATURE_NOISE, n)

    def noise(s):
        return rng.normal(0, s, n)

    f = {}
    f["credit_history_months"] = _with_missing(rng, np.clip(np.rint(np.exp(4.0 - 0.35 * r() + noise(0.3))), 0, 900), 0.05)
    f["ontime_ratio_24m"] = _with_missing(rng, np.round(np.clip(_sigmoid(3.2 - 1.3 * r()), 0, 1), 4), 0.05)
    f["worst_dpd_24m"] = np.clip(np.rint(np.maximum(0, 40 * (r() - 0.6))), 0, 3650)
    f["defaults_60m"] = np.clip(rng.poisson(np.exp(-3.0 + 1.1 * r())), 0, 100).astype(float)
    f["online_payment_volume_12m"] = _with_missing(rng, np.round(np.exp(10.5 - 0.45 * r() + noise(0.3)), 2), 0.08)
    f["payment_regularity"] = np.round(_sigmoid(1.5 - 0.9 * r()), 4)
    f["spending_stability"] = np.round(_sigmoid(1.0 - 0.8 * r()), 4)
    f["debt_to_income"] = _with_missing(rng, np.round(np.clip(np.exp(-1.0 + 0.4 * r()), 0, 50), 4), 0.10)
    f["monthly_income"] = _with_missing(rng, np.round(np.exp(9.2 - 0.3 * r() + noise(0.3)), 2), 0.15)
    f["verification_level"] = np.clip(np.rint(2.0 - 0.7 * r()), 0, 3)
    f["education_level"] = _with_missing(rng, np.clip(np.rint(3.0 - 0.6 * r()), 1, 5), 0.10)
    f["address_tenure_months"] = np.clip(np.rint(np.exp(3.5 - 0.35 * r() + noise(0.3))), 0, 1200)
    f["phone_tenure_months"] = np.clip(np.rint(np.exp(3.8 - 0.4 * r() + noise(0.3))), 0, 600)
    f["connections_with_defaults"] = np.clip(rng.poisson(np.exp(-1.0 + 0.8 * r())), 0, 10000).astype(float)
    f["connections_avg_score"] = _with_missing(rng, np.round(np.clip(640 - 40 * r(), 0, 950), 1), 0.10)
    pd_ = true_pd(z, "person")
    in_default = rng.random(n) < 0.25 * pd_
    # someone in default has a serious delinquency and a default on file
    f["worst_dpd_24m"] = np.where(in_default, np.maximum(f["worst_dpd_24m"], 91 + rng.integers(0, 200, n)), f["worst_dpd_24m"])
    f["defaults_60m"] = np.where(in_default, np.maximum(f["defaults_60m"], 1), f["defaults_60m"])
    return f, in_default


def company_features(rng: np.random.Generator, z: np.ndarray, years: np.ndarray) -> dict:
    n = z.size

    def r():
        return z + rng.normal(0, COMPANY_FEATURE_NOISE, n)

    def noise(s):
        return rng.normal(0, s, n)

    f = {}
    revenue = np.exp(15.5 - 0.5 * r() + noise(0.4))
    f["revenue_12m"] = _with_missing(rng, np.round(np.clip(revenue, 0, 1e12), 2), 0.05)
    f["tax_paid_12m"] = _with_missing(rng, np.round(np.clip(revenue * _sigmoid(-3.2 - 0.5 * r()), 0, 1e11), 2), 0.08)
    f["invoice_count_12m"] = _with_missing(rng, np.clip(np.rint(np.exp(6.0 - 0.5 * r() + noise(0.3))), 0, 1e8), 0.08)
    f["revenue_trend"] = np.round(np.clip(0.08 - 0.15 * r(), -1, 10), 4)
    f["cashflow_volatility"] = np.round(np.clip(np.exp(-0.7 + 0.4 * r()), 0, 20), 4)
    f["customer_concentration"] = np.round(_sigmoid(-0.8 + 0.7 * r()), 4)
    f["overdue_payables_ratio"] = _with_missing(rng, np.round(np.clip(np.maximum(0, 0.4 * (r() - 0.3)), 0, 10), 4), 0.10)
    f["lawsuits_24m"] = np.clip(rng.poisson(np.exp(-1.5 + 0.9 * r())), 0, 10000).astype(float)
    f["admin_penalties_24m"] = np.clip(rng.poisson(np.exp(-2.0 + 0.8 * r())), 0, 10000).astype(float)
    f["years_in_business"] = np.round(np.clip(years, 0, 200), 2)
    return f


# --- writing -----------------------------------------------------------------------------


COPY_ROWS = 50_000  # rows per COPY write: bounded memory for the text block


def _text_column(values: np.ndarray, integer: bool) -> list[str]:
    """COPY text of a column, vectorised: NaN -> \\N, booleans t/f, floats as their shortest
    round-trip repr (NumPy's float to str), integers without a decimal point."""
    if values.dtype == bool:
        return np.where(values, "t", "f").tolist()
    if values.dtype.kind == "f":
        missing = np.isnan(values)
        with np.errstate(invalid="ignore"):
            text = (np.where(missing, 0, values).astype(np.int64) if integer else values).astype(str)
        return np.where(missing, "\\N", text).tolist()
    return values.astype(str).tolist()


def _python_column(values: np.ndarray, integer: bool) -> list:
    if values.dtype == bool:
        return values.tolist()
    if values.dtype.kind == "f":
        return [None if np.isnan(x) else (int(x) if integer else float(x)) for x in values.tolist()]
    return values.tolist()


def _write(table: str, constants: dict, columns: dict, integer=frozenset()) -> None:
    """Append rows given column-wise (NumPy arrays, NaN = NULL) plus constant columns: COPY of
    a preformatted text block on PostgreSQL, executemany elsewhere; no per-row ORM."""
    names = [*constants, *columns]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            prefix = "".join(f"{v.isoformat() if hasattr(v, 'isoformat') else v}\t" for v in constants.values())
            text = [_text_column(np.asarray(v), name in integer) for name, v in columns.items()]
            with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                n = len(text[0])
                for start in range(0, n, COPY_ROWS):
                    part = [c[start:start + COPY_ROWS] for c in text]
                    copy.write("".join([prefix + "\t".join(row) + "\n" for row in zip(*part)]))
        else:
            head = tuple(constants.values())
            values = [_python_column(np.asarray(v), name in integer) for name, v in columns.items()]
            placeholders = ", ".join(["%s"] * len(names))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({placeholders})",
                               [head + row for row in zip(*values)])


def seed_scoring_demo(*, seed: int, as_of: datetime.date, stdout=None) -> None:
    """Snapshots, outcomes, trained champions and scores for every demo company and person."""
    from loans.models import Company
    from scoring.batch import score_company_range, score_person_range
    from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot
    from scoring.training_runs import run_subject_training

    from .models import SyntheticTruth

    out = stdout or sys.stdout
    t0 = time.perf_counter()
    if PersonCreditSnapshot.objects.filter(as_of=as_of).exists() or CompanyCreditSnapshot.objects.filter(as_of=as_of).exists():
        out.write(f"scoring demo: credit data for {as_of} already present; skipping\n")
        return
    rng = np.random.default_rng(seed)
    truth = {
        kind: np.array(
            list(SyntheticTruth.objects.filter(subject_kind=kind).order_by("subject_id").values_list("subject_id", "latent_risk")),
            dtype=float,
        ).reshape(-1, 2)
        for kind in ("person", "company")
    }
    dates = [_months_back(as_of, 2), _months_back(as_of, 1), as_of]
    now = timezone.now()
    p_names = [f.name for f in PERSON_FEATURES]
    c_names = [f.name for f in COMPANY_FEATURES]
    p_int = {f.name for f in PERSON_FEATURES if f.integer}
    c_int = {f.name for f in COMPANY_FEATURES if f.integer}

    founded = dict(Company.objects.values_list("id", "founded_on"))

    with transaction.atomic():
        p_ids = truth["person"][:, 0].astype(np.int64)
        p_z = truth["person"][:, 1]
        c_ids = truth["company"][:, 0].astype(np.int64)
        c_z = truth["company"][:, 1]
        for d in dates:
            feats, in_default = person_features(rng, p_z)
            _write("scoring_personcreditsnapshot", {"as_of": d, "source": "demo", "created_at": now},
                   {"person_id": p_ids, "in_default": in_default, **{n: feats[n] for n in p_names}}, p_int)
            years = np.array([((d - founded[i]).days / 365.25) if i in founded else np.nan for i in c_ids.tolist()])
            feats = company_features(rng, c_z, years)
            _write("scoring_companycreditsnapshot", {"as_of": d, "source": "demo", "created_at": now},
                   {"company_id": c_ids, **{n: feats[n] for n in c_names}}, c_int)
        for kind, ids, z in (("person", p_ids, p_z), ("company", c_ids, c_z)):
            pd_ = true_pd(z, kind)
            bad = rng.random(z.size) < pd_
            _write("scoring_creditoutcome", {"subject_kind": kind, "observed_at": dates[0], "created_at": now},
                   {"subject_id": ids, "defaulted_12m": bad, "true_pd": pd_})
    if connection.vendor == "postgresql":
        # fresh planner statistics after a bulk load: the chunks' reads plan on them
        with connection.cursor() as cursor:
            for table in ("scoring_personcreditsnapshot", "scoring_companycreditsnapshot", "scoring_creditoutcome"):
                cursor.execute(f"ANALYZE {table}")
    out.write(
        f"scoring demo: {3 * (len(p_ids) + len(c_ids))} snapshots and {len(p_ids) + len(c_ids)} outcomes "
        f"in {time.perf_counter() - t0:.1f}s\n"
    )
    for kind in ("person", "company"):
        if kind == "person" and not len(p_ids) or kind == "company" and not len(c_ids):
            continue
        run_subject_training(kind, folds=TRAIN_FOLDS, seed=seed, max_rows=TRAIN_MAX_ROWS, promote=True, stdout=out)
    t1 = time.perf_counter()
    written = 0
    pg = connection.vendor == "postgresql" and not connection.in_atomic_block
    if pg:
        # Demo seeding only: a commit per chunk need not wait for its WAL flush (a crash loses
        # the last chunks whole, never half of one; seeding again re-scores them).
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
    try:
        for _kind, ids, fn in (("person", p_ids, score_person_range), ("company", c_ids, score_company_range)):
            if not len(ids):
                continue
            lo, hi = int(ids.min()), int(ids.max()) + 1
            for start in range(lo, hi, CHUNK):
                written += fn(id_from=start, id_to=min(start + CHUNK, hi), as_of=as_of)
    finally:
        if pg:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
    out.write(f"scoring demo: {written} scores for {as_of} in {time.perf_counter() - t1:.1f}s "
              f"(total {time.perf_counter() - t0:.1f}s)\n")


# --- one more day of credit data (simulate_day) --------------------------------------------

SIMULATED_SOURCE = "simulated"
# Behaviour cohorts of the demo companies, stable across days for a seed (shares of companies)
SHARP, GRADUAL, THROUGH_PARTY, IMPROVING = "sharp", "gradual", "through_party", "improving"
COHORT_SHARES = ((SHARP, 0.03), (GRADUAL, 0.07), (THROUGH_PARTY, 0.04), (IMPROVING, 0.06))  # the rest: steady
_READ_CHUNK = 5_000


def stable_unit(ids: np.ndarray, seed: int, salt: int = 0) -> np.ndarray:
    """A number in [0, 1) per id, the same every day for a seed (a multiplicative hash)."""
    x = (np.asarray(ids, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(seed * 40503 + salt * 7919 + 1))
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0x5BD1E995)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(15)
    return (x & np.uint64(0xFFFFFFFF)).astype(np.float64) / 2.0**32


def company_cohorts(company_ids: np.ndarray, seed: int) -> np.ndarray:
    """The behaviour of each company ("" = steady)."""
    u = stable_unit(company_ids, seed)
    out = np.full(len(company_ids), "", dtype=object)
    low = 0.0
    for name, share in COHORT_SHARES:
        out[(u >= low) & (u < low + share)] = name
        low += share
    return out


def _latest_features(kind: str, ids: list[int], as_of: datetime.date):
    from scoring.selectors import latest_snapshots

    cols, rows = None, []
    for start in range(0, len(ids), _READ_CHUNK):
        cols, part = latest_snapshots(kind, as_of=as_of, ids=ids[start:start + _READ_CHUNK])
        rows.extend(part)
    return cols, rows


def _drift(kind: str, cols, rows, steps: dict, rng) -> dict:
    """Columns of the new snapshots: the latest values moved by ``steps`` ({feature: (add,
    multiply)} arrays per row), clipped to each feature's range; missing values stay missing."""
    from scoring.features import FEATURES_BY_KIND

    data = np.array([[np.nan if v is None else float(v) for v in r] for r in rows], dtype=float).reshape(len(rows), len(cols))
    out = {}
    for f in FEATURES_BY_KIND[kind]:
        v = data[:, cols.index(f.name)]
        add, mul = steps.get(f.name, (0.0, 1.0))
        moved = v * mul + add
        moved = np.clip(moved, f.min_value, f.max_value)
        if f.integer:
            moved = np.rint(moved)
        out[f.name] = np.where(np.isnan(v), np.nan, moved)
    return data, out


def simulate_credit_day(*, seed: int, as_of: datetime.date) -> dict:
    """Append the credit data of ``as_of`` for the demo companies that move and the persons
    behind them, from each one's latest data before that day: most companies are steady
    (nothing new), a share deteriorates (``SHARP`` a lot each day, ``GRADUAL`` a little,
    ``THROUGH_PARTY`` through its legal representative, who slides into default), a few
    improve.  Deterministic for (seed, date); a date already simulated writes nothing.
    Returns counts per behaviour and of snapshots written."""
    from loans.models import RelatedParty
    from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot

    from .models import SyntheticTruth

    if (CompanyCreditSnapshot.objects.filter(as_of=as_of, source=SIMULATED_SOURCE).exists()
            or PersonCreditSnapshot.objects.filter(as_of=as_of, source=SIMULATED_SOURCE).exists()):
        return {"skipped": True, "companies": 0, "persons": 0}
    rng = np.random.default_rng([seed, as_of.toordinal()])
    before = as_of - datetime.timedelta(days=1)
    company_ids = np.array(sorted(SyntheticTruth.objects.filter(subject_kind="company").values_list("subject_id", flat=True)),
                           dtype=np.int64)
    cohorts = company_cohorts(company_ids, seed)
    counts = {name: int((cohorts == name).sum()) for name, _ in COHORT_SHARES}
    counts["steady"] = int((cohorts == "").sum())
    moving = company_ids[cohorts != ""].tolist()
    now = timezone.now()
    written = {"companies": 0, "persons": 0}
    with transaction.atomic():
        cols, rows = _latest_features("company", moving, before)
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            cohort = dict(zip(company_ids.tolist(), cohorts.tolist()))
            which = np.array([cohort[i] for i in ids.tolist()], dtype=object)
            sharp, gradual, better = which == SHARP, which == GRADUAL, which == IMPROVING
            n = len(ids)
            jitter = rng.uniform(0.5, 1.5, n)

            def per_row(s, g, b):
                return np.where(sharp, s, np.where(gradual, g, np.where(better, b, 0.0))) * jitter

            steps = {
                "revenue_trend": (per_row(-0.25, -0.05, 0.03), 1.0),
                "overdue_payables_ratio": (per_row(0.4, 0.05, -0.02), 1.0),
                "cashflow_volatility": (per_row(0.3, 0.05, -0.03), 1.0),
                "lawsuits_24m": (np.where(sharp, 2.0, np.where(gradual & (rng.random(n) < 0.3), 1.0, 0.0)), 1.0),
                "admin_penalties_24m": (np.where(sharp, 1.0, 0.0), 1.0),
                "revenue_12m": (0.0, np.where(sharp, 0.85, np.where(gradual, 0.98, np.where(better, 1.02, 1.0)))),
            }
            _, feats = _drift("company", cols, rows, steps, rng)
            _write("scoring_companycreditsnapshot", {"as_of": as_of, "source": SIMULATED_SOURCE, "created_at": now},
                   {"company_id": ids, **feats}, {f.name for f in COMPANY_FEATURES if f.integer})
            written["companies"] = n
        # the legal representatives of the companies deteriorating through a related party
        through = company_ids[cohorts == THROUGH_PARTY].tolist()
        reps = sorted(set(
            RelatedParty.objects.filter(company_id__in=through, role="legal_representative", valid_from__lte=as_of)
            .exclude(valid_to__lt=as_of).values_list("person_id", flat=True)
        )) if through else []
        cols, rows = _latest_features("person", reps, before)
        if rows:
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            n = len(ids)
            jitter = rng.uniform(0.5, 1.5, n)
            steps = {
                "ontime_ratio_24m": (-0.08 * jitter, 1.0),
                "worst_dpd_24m": (35.0 * rng.uniform(0.8, 1.5, n), 1.0),  # past 90 days within four days
                "debt_to_income": (0.1 * jitter, 1.0),
                "payment_regularity": (-0.05 * jitter, 1.0),
            }
            data, feats = _drift("person", cols, rows, steps, rng)
            was_in_default = data[:, 1] > 0
            in_default = was_in_default | (np.nan_to_num(feats["worst_dpd_24m"]) >= 91)
            feats["defaults_60m"] = np.where(in_default & ~was_in_default, np.nan_to_num(feats["defaults_60m"]) + 1,
                                             feats["defaults_60m"])
            _write("scoring_personcreditsnapshot", {"as_of": as_of, "source": SIMULATED_SOURCE, "created_at": now},
                   {"person_id": ids, "in_default": in_default, **feats}, {f.name for f in PERSON_FEATURES if f.integer})
            written["persons"] = n
    return {"skipped": False, **counts, **written}
