"""The feature dictionary: every characteristic a credit data snapshot may carry.

One entry per feature: its name (also the snapshot column), the dimension it belongs to,
its unit, the valid range, what it means, and the monotonic trend that business sense
demands of the default rate as the value grows (``ascending``: higher value, riskier;
``descending``: higher value, safer; ``auto_asc_desc``: the data decides, but monotone).

Missing values are normal: every feature is nullable and a scorecard gives missing its own
points.  Pure Python, no database.
"""

from __future__ import annotations

import decimal
import math
import numbers
from dataclasses import dataclass

# Marks the meanings for the catalogue; the pages translate them (monitoring.wording).
from django.utils.translation import gettext_noop as N_


@dataclass(frozen=True)
class Feature:
    name: str
    dimension: str
    unit: str
    min_value: float
    max_value: float
    meaning: str
    trend: str  # optbinning monotonic_trend of the default rate against the value
    integer: bool = False


class FeatureRangeError(ValueError):
    """A feature value outside its valid range (or of the wrong kind)."""

    def __init__(self, feature: str, value, message: str):
        self.feature = feature
        self.value = value
        super().__init__(message)


PERSON_DIMENSIONS = ("credit_history", "behaviour", "ability", "identity", "social")
COMPANY_DIMENSIONS = ("scale", "stability", "obligations", "compliance", "maturity")

PERSON_FEATURES: tuple[Feature, ...] = (
    # Credit history 信用历史
    Feature("credit_history_months", "credit_history", "months", 0, 900,
            N_("Months since the first credit account was opened"), "descending", integer=True),
    Feature("ontime_ratio_24m", "credit_history", "ratio", 0, 1,
            N_("Share of instalments paid on time over the last 24 months"), "descending"),
    Feature("worst_dpd_24m", "credit_history", "days", 0, 3650,
            N_("Worst days past due on any account over the last 24 months"), "ascending", integer=True),
    Feature("defaults_60m", "credit_history", "count", 0, 100,
            N_("Defaults (90+ DPD or written off) over the last 60 months"), "ascending", integer=True),
    # Behaviour and preferences 行为偏好
    Feature("online_payment_volume_12m", "behaviour", "CNY", 0, 1e9,
            N_("Online payment volume over the last 12 months"), "descending"),
    Feature("payment_regularity", "behaviour", "ratio", 0, 1,
            N_("Regularity of recurring payments (1 = perfectly regular)"), "descending"),
    Feature("spending_stability", "behaviour", "ratio", 0, 1,
            N_("Stability of monthly spending (1 = perfectly stable)"), "descending"),
    # Ability to fulfil commitments 履约能力
    Feature("debt_to_income", "ability", "ratio", 0, 50,
            N_("Monthly debt service divided by monthly income"), "ascending"),
    Feature("monthly_income", "ability", "CNY", 0, 1e8,
            N_("Verified monthly income"), "descending"),
    # Identity traits 身份特质
    Feature("verification_level", "identity", "level", 0, 3,
            N_("Identity verification level: 0 none, 1 ID, 2 ID + face, 3 ID + face + bank card"),
            "descending", integer=True),
    Feature("education_level", "identity", "level", 1, 5,
            N_("Education: 1 primary, 2 secondary, 3 college, 4 bachelor, 5 postgraduate"),
            "descending", integer=True),
    Feature("address_tenure_months", "identity", "months", 0, 1200,
            N_("Months at the current address"), "descending", integer=True),
    Feature("phone_tenure_months", "identity", "months", 0, 600,
            N_("Months the mobile number has been in use"), "descending", integer=True),
    # Social connections 人脉关系
    Feature("connections_with_defaults", "social", "count", 0, 10000,
            N_("Close connections who are in default"), "ascending", integer=True),
    Feature("connections_avg_score", "social", "score", 0, 950,
            N_("Average credit score of close connections"), "descending"),
)

COMPANY_FEATURES: tuple[Feature, ...] = (
    Feature("revenue_12m", "scale", "CNY", 0, 1e12,
            N_("Revenue over the last 12 months (tax filings)"), "descending"),
    Feature("tax_paid_12m", "scale", "CNY", 0, 1e11,
            N_("Tax paid over the last 12 months"), "descending"),
    Feature("invoice_count_12m", "scale", "count", 0, 1e8,
            N_("VAT invoices issued over the last 12 months"), "descending", integer=True),
    Feature("revenue_trend", "stability", "ratio", -1, 10,
            N_("Revenue growth, last 12 months against the 12 before (0.1 = +10 %)"), "descending"),
    Feature("cashflow_volatility", "stability", "ratio", 0, 20,
            N_("Coefficient of variation of monthly net cash flow"), "ascending"),
    Feature("customer_concentration", "stability", "ratio", 0, 1,
            N_("Share of revenue from the largest customer"), "ascending"),
    Feature("overdue_payables_ratio", "obligations", "ratio", 0, 10,
            N_("Overdue payables divided by monthly revenue"), "ascending"),
    Feature("lawsuits_24m", "compliance", "count", 0, 10000,
            N_("Lawsuits as defendant over the last 24 months"), "ascending", integer=True),
    Feature("admin_penalties_24m", "compliance", "count", 0, 10000,
            N_("Administrative penalties over the last 24 months"), "ascending", integer=True),
    Feature("years_in_business", "maturity", "years", 0, 200,
            N_("Years since incorporation"), "descending"),
)

FEATURES_BY_KIND: dict[str, tuple[Feature, ...]] = {
    "person": PERSON_FEATURES,
    "company": COMPANY_FEATURES,
}
DIMENSIONS_BY_KIND: dict[str, tuple[str, ...]] = {
    "person": PERSON_DIMENSIONS,
    "company": COMPANY_DIMENSIONS,
}
_BY_NAME = {kind: {f.name: f for f in feats} for kind, feats in FEATURES_BY_KIND.items()}


def feature_names(subject_kind: str) -> list[str]:
    return [f.name for f in FEATURES_BY_KIND[subject_kind]]


def validate_value(feature: Feature, value):
    """Return the value as a float (or None when missing); raise FeatureRangeError if invalid.

    Missing is ``None`` only.  A value must be a real number: not a boolean (JSON ``true`` is
    an int to Python), not a string, not NaN or an infinity."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        shown = f"a boolean ({str(value).lower()})" if isinstance(value, bool) else f"{value!r} (a {type(value).__name__})"
        raise FeatureRangeError(feature.name, value, f"{feature.name}: {shown} is not a number")
    value = float(value)
    if not math.isfinite(value):
        raise FeatureRangeError(feature.name, value, f"{feature.name}: {value!r} is not a finite number")
    if not (feature.min_value <= value <= feature.max_value):
        raise FeatureRangeError(
            feature.name,
            value,
            f"{feature.name}: {value:g} is outside its valid range "
            f"[{feature.min_value:g}, {feature.max_value:g}] ({feature.unit})",
        )
    if feature.integer and value != int(value):
        raise FeatureRangeError(feature.name, value, f"{feature.name}: {value:g} must be a whole number")
    return value


def validate_features(subject_kind: str, features: dict) -> dict:
    """Validate a mapping of feature name to value; unknown names are an error."""
    known = _BY_NAME[subject_kind]
    unknown = sorted(set(features) - set(known))
    if unknown:
        raise FeatureRangeError(unknown[0], None, f"unknown {subject_kind} feature(s): {', '.join(unknown)}")
    return {name: validate_value(known[name], value) for name, value in features.items()}


def validate_columns(subject_kind: str, columns: dict) -> None:
    """Vectorised range check of whole columns (NumPy float arrays, NaN = missing)."""
    import numpy as np

    known = _BY_NAME[subject_kind]
    for name, col in columns.items():
        if name not in known:
            raise FeatureRangeError(name, None, f"unknown {subject_kind} feature {name!r}")
        feat = known[name]
        arr = np.asarray(col, dtype=float)
        present = ~np.isnan(arr)
        bad = present & ((arr < feat.min_value) | (arr > feat.max_value))
        if bad.any():
            value = arr[bad][0]
            raise FeatureRangeError(
                name,
                value,
                f"{name}: {value:g} is outside its valid range "
                f"[{feat.min_value:g}, {feat.max_value:g}] ({feat.unit}); "
                f"{int(bad.sum())} row(s) out of range",
            )
