"""A fresh install decides at once: publish credit policy v1 with the documented defaults."""

from decimal import Decimal

from django.db import migrations

POLICY_V1 = {
    "min_score": 600,
    "grey_band_low": 600,
    "grey_band_high": 619,
    "auto_approval_ceiling": Decimal("1000000.00"),
    "legal_rate_cap": Decimal("0.240000"),
    "max_score_age_days": 7,
    "legal_rep_min_score": 550,
    "group_exposure_cap": Decimal("5000000.00"),
    "revenue_capacity_ratio": Decimal("0.200000"),
    "penalty_daily_rate": Decimal("0.000500"),
    "substandard_dpd": 91,
    "doubtful_dpd": 181,
    "loss_dpd": 361,
    "offer_validity_days": 30,
    "tier_bands": [
        {"tier": "A", "min_score": 750, "base_rate": "0.060000", "multiplier": "1.50"},
        {"tier": "B", "min_score": 700, "base_rate": "0.080000", "multiplier": "1.20"},
        {"tier": "C", "min_score": 650, "base_rate": "0.110000", "multiplier": "1.00"},
        {"tier": "D", "min_score": 600, "base_rate": "0.150000", "multiplier": "0.70"},
    ],
    "term_spreads": [
        {"max_months": 12, "spread": "0.000000"},
        {"max_months": 24, "spread": "0.005000"},
        {"max_months": 360, "spread": "0.010000"},
    ],
}


def publish_v1(apps, schema_editor):
    CreditPolicy = apps.get_model("loans", "CreditPolicy")
    if not CreditPolicy.objects.exists():
        CreditPolicy.objects.create(version=1, is_active=True, note="Default policy (migration 0003)", **POLICY_V1)


class Migration(migrations.Migration):
    dependencies = [("loans", "0002_underwriting")]

    operations = [migrations.RunPython(publish_v1, migrations.RunPython.noop)]
