"""A credit policy's tier bands and term spreads are edited as a table, rates in percent."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from loans.models import CreditPolicy
from loans.services.policy import POLICY_FIELDS, credit_policy_active, credit_policy_approve

pytestmark = pytest.mark.django_db


def _table_post(policy, bands, spreads, **changes):
    data = {k: v for k, v in model_to_dict(policy).items() if k in POLICY_FIELDS and k not in ("tier_bands", "term_spreads")}
    for i, (tier, min_score, rate_pct, mult) in enumerate(bands):
        data.update({f"tier_bands-{i}-tier": tier, f"tier_bands-{i}-min_score": min_score,
                     f"tier_bands-{i}-base_rate": rate_pct, f"tier_bands-{i}-multiplier": mult})
    for i in range(len(bands), 6):  # the empty rows of the table
        data.update({f"tier_bands-{i}-{k}": "" for k in ("tier", "min_score", "base_rate", "multiplier")})
    for i, (months, spread_pct) in enumerate(spreads):
        data.update({f"term_spreads-{i}-max_months": months, f"term_spreads-{i}-spread": spread_pct})
    data.update(note="via the table", **changes)
    return data


def test_the_form_shows_bands_as_a_table_in_percent_not_json(admin_client):
    policy = credit_policy_active()
    html = admin_client.get(reverse("admin:loans_creditpolicy_change", args=[policy.pk])).content.decode()
    assert 'name="tier_bands-0-tier" value="A"' in html
    assert 'name="tier_bands-0-base_rate" value="6"' in html  # 0.060000 shown as 6 (%)
    assert 'name="term_spreads-1-spread" value="0.5"' in html
    assert '[{&quot;tier' not in html and '"tier": "A"' not in html


def test_publishing_from_the_table(admin_client, django_user_model):
    v1 = credit_policy_active()
    bands = [("A", 760, "5.5", "1.6"), ("B", 700, "8", "1.2"), ("C", 640, "11.25", "1"), ("D", 600, "15", "0.7")]
    spreads = [(12, "0"), (36, "0.75"), (360, "1.5")]
    r = admin_client.post(reverse("admin:loans_creditpolicy_change", args=[v1.pk]), _table_post(v1, bands, spreads))
    assert r.status_code == 302, r.content.decode()[:3000]
    # the form proposes; another person approves (maker-checker), and only then it applies
    proposed = CreditPolicy.objects.get(status="proposed")
    assert credit_policy_active().version == v1.version
    credit_policy_approve(policy_id=proposed.pk, actor=django_user_model.objects.create_superuser("second", password="x"))
    v2 = CreditPolicy.objects.get(is_active=True)
    assert v2.version == v1.version + 1
    assert v2.tier_bands[0] == {"tier": "A", "min_score": 760, "base_rate": "0.055000", "multiplier": "1.60"}
    assert v2.tier_bands[2]["base_rate"] == "0.112500"
    assert v2.term_spreads == [{"max_months": 12, "spread": "0.000000"}, {"max_months": 36, "spread": "0.007500"},
                               {"max_months": 360, "spread": "0.015000"}]
    assert Decimal(v2.tier_bands[3]["multiplier"]) == Decimal("0.70")


def test_a_bad_cell_names_its_row_and_column_and_nothing_is_published(admin_client):
    v1 = credit_policy_active()
    bands = [("A", 750, "six", "1.5"), ("B", "", "8", "1.2")]
    r = admin_client.post(reverse("admin:loans_creditpolicy_change", args=[v1.pk]), _table_post(v1, bands, [(360, "1")]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "Row 1: Base rate is not a number: “six”." in html.replace("&ldquo;", "“").replace("&rdquo;", "”")
    assert "Row 2: Minimum score is missing." in html
    assert CreditPolicy.objects.count() == 1


def test_the_policy_rules_still_apply_to_the_table(admin_client):
    v1 = credit_policy_active()
    bands = [("A", 750, "6", "1.5"), ("A", 700, "8", "1.2")]
    r = admin_client.post(reverse("admin:loans_creditpolicy_change", args=[v1.pk]), _table_post(v1, bands, [(360, "1")]))
    assert r.status_code == 200 and "Tier names must be unique." in r.content.decode()
    assert CreditPolicy.objects.count() == 1
