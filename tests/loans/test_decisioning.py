"""The pure decision engine: every rule and boundary, no database."""

import datetime
from decimal import Decimal

import pytest

from loans.decisioning import (
    APPROVE,
    DECLINE,
    REFER,
    CompanyFacts,
    CreditRequest,
    GroupExposure,
    ProductTerms,
    decide,
)
from loans.models import DEFAULT_POLICY
from loans.pricing import PolicySnapshot, tier_band_for

from .bundles import AS_OF, bundle, party

POLICY_VALUES = {k: v for k, v in DEFAULT_POLICY.items() if k not in ("tier_bands", "term_spreads")}
POLICY = PolicySnapshot.from_values(
    version=7, tier_bands=DEFAULT_POLICY["tier_bands"], term_spreads=DEFAULT_POLICY["term_spreads"], **POLICY_VALUES
)
PRODUCT = ProductTerms(
    code="sme-revolving", min_amount=Decimal("10000.00"), max_amount=Decimal("3000000.00"),
    min_term_months=3, max_term_months=36, min_score=600, rate_spread=Decimal("0.010000"),
)
COMPANY = CompanyFacts(company_id=1, status="active", is_blocklisted=False, annual_revenue=Decimal("8000000.00"))
NO_GROUP = GroupExposure(company_ids=(1,), open_limits=Decimal("0.00"))


def run(score=700, *, amount="500000", term=12, policy=POLICY, product=PRODUCT, company=COMPANY, group=NO_GROUP, scores=None):
    return decide(
        policy=policy, product=product, request=CreditRequest(amount=Decimal(amount), term_months=term),
        company=company, group=group, scores=scores or bundle(score), as_of=AS_OF,
    )


def codes(decision):
    return [h.code for h in decision.rule_hits]


def policy_with(**changes):
    values = {**POLICY_VALUES, **changes}
    bands = values.pop("tier_bands", DEFAULT_POLICY["tier_bands"])
    spreads = values.pop("term_spreads", DEFAULT_POLICY["term_spreads"])
    return PolicySnapshot.from_values(version=8, tier_bands=bands, term_spreads=spreads, **values)


# --- eligibility at the minimum score ------------------------------------------------------


def test_score_599_is_declined_with_the_scores_reason_codes():
    # given / when
    d = run(599)
    # then
    assert d.outcome == DECLINE
    assert "EL_SCORE_BELOW_MIN" in codes(d)
    assert d.limit is None and d.annual_rate is None
    assert [r["code"] for r in d.reasons] == ["R_UTIL", "R_LATE"]
    assert d.reasons[0]["text_zh"] == "授信使用率高"


def test_score_600_is_eligible_but_in_the_grey_band_so_referred():
    d = run(600)
    assert d.outcome == REFER
    assert codes(d) == ["REF_GREY_BAND"]
    assert d.tier == "D"
    assert d.limit == Decimal("500000.00")
    assert d.reasons == ()


@pytest.mark.parametrize(("score", "outcome"), [(619, REFER), (620, APPROVE)])
def test_grey_band_upper_edge(score, outcome):
    assert run(score).outcome == outcome


def test_product_minimum_score_above_the_policy_minimum_applies():
    product = ProductTerms(**{**PRODUCT.__dict__, "min_score": 680})
    assert run(679, product=product).outcome == DECLINE
    assert run(680, product=product).outcome == APPROVE


@pytest.mark.parametrize(
    ("score", "tier"), [(620, "D"), (649, "D"), (650, "C"), (699, "C"), (700, "B"), (749, "B"), (750, "A"), (950, "A")]
)
def test_tier_bands(score, tier):
    assert run(score).tier == tier


def test_no_tier_below_every_band():
    assert tier_band_for(599, POLICY.tier_bands) is None


# --- price -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "term", "rate"),
    [
        (760, 12, Decimal("0.070000")),  # A 6 % + product 1 % + term 0
        (760, 13, Decimal("0.075000")),  # term spread 0.5 % from 13 months
        (760, 36, Decimal("0.080000")),  # 1 % beyond 24 months
        (630, 12, Decimal("0.160000")),  # D 15 % + 1 %
    ],
)
def test_rate_is_base_plus_product_and_term_spreads(score, term, rate):
    assert run(score, term=term).annual_rate == rate


def test_rate_never_exceeds_the_legal_cap():
    # given a product whose spread would price tier D at 15 % + 10 % + 1 % = 26 %
    product = ProductTerms(**{**PRODUCT.__dict__, "rate_spread": Decimal("0.100000")})
    # when
    d = run(630, term=36, product=product)
    # then
    assert d.outcome == APPROVE
    assert d.annual_rate == Decimal("0.240000")
    assert "RATE_CAPPED" in codes(d)
    assert d.details["rate_breakdown"]["uncapped"] == "0.260000"


def test_rate_exactly_at_the_cap_is_not_flagged():
    product = ProductTerms(**{**PRODUCT.__dict__, "rate_spread": Decimal("0.080000")})
    d = run(630, term=36, product=product)  # 15 + 8 + 1 = 24 %
    assert d.annual_rate == Decimal("0.240000")
    assert "RATE_CAPPED" not in codes(d)


# --- limit -------------------------------------------------------------------------------


def test_limit_is_capped_by_revenue_capacity_times_tier_multiplier():
    # 8,000,000 × 0.2 × 0.7 (tier D) = 1,120,000
    d = run(630, amount="2000000")
    assert d.limit == Decimal("1120000.00")
    assert d.details["limit_breakdown"]["binding"] == "capacity"
    assert d.outcome == REFER and "REF_ABOVE_AUTO_CEILING" in codes(d)


def test_limit_is_capped_by_the_product_maximum():
    company = CompanyFacts(company_id=1, status="active", is_blocklisted=False, annual_revenue=Decimal("90000000"))
    d = run(760, amount="3000000", company=company, policy=policy_with(auto_approval_ceiling=Decimal("5000000")))
    assert d.limit == Decimal("3000000.00")
    assert d.details["limit_breakdown"]["binding"] == "requested"  # requested wins a tie


def test_limit_is_capped_by_the_group_headroom():
    # given the group already holds 4,800,000 of the 5,000,000 cap
    group = GroupExposure(company_ids=(1, 2, 3), open_limits=Decimal("4800000.00"))
    # when
    d = run(700, amount="500000", group=group)
    # then
    assert d.outcome == APPROVE
    assert d.limit == Decimal("200000.00")
    assert "LIMIT_GROUP_HEADROOM" in codes(d)


def test_group_at_its_cap_knocks_out():
    group = GroupExposure(company_ids=(1, 2), open_limits=Decimal("4995000.00"))
    d = run(700, group=group)
    assert d.outcome == DECLINE
    assert "KO_GROUP_EXPOSURE" in codes(d)


def test_capacity_below_product_minimum_declines():
    company = CompanyFacts(company_id=1, status="active", is_blocklisted=False, annual_revenue=Decimal("40000"))  # 40,000 × 0.2 × 1.2 = 9,600
    d = run(700, company=company)
    assert d.outcome == DECLINE
    assert "EL_LIMIT_BELOW_PRODUCT_MIN" in codes(d)


# --- referral ----------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "outcome"), [("1000000", APPROVE), ("1000000.01", REFER)])
def test_auto_approval_ceiling(amount, outcome):
    company = CompanyFacts(company_id=1, status="active", is_blocklisted=False, annual_revenue=Decimal("90000000"))
    assert run(760, amount=amount, company=company).outcome == outcome


def test_unscored_legal_representative_is_referred():
    d = run(700, scores=bundle(700, parties=[party(unscored=True)]))
    assert d.outcome == REFER and codes(d) == ["REF_LEGAL_REP_UNSCORED"]


def test_missing_legal_representative_is_referred():
    d = run(700, scores=bundle(700, parties=[party(role="director")]))
    assert d.outcome == REFER and codes(d) == ["REF_NO_LEGAL_REP"]


def test_stale_company_score_is_referred():
    d = run(700, scores=bundle(700, as_of=AS_OF - datetime.timedelta(days=8)))
    assert d.outcome == REFER and "REF_STALE_SCORE" in codes(d)
    assert run(700, scores=bundle(700, as_of=AS_OF - datetime.timedelta(days=7))).outcome == APPROVE


# --- knock-outs --------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["suspended", "deregistered"])
def test_company_status_knocks_out(status):
    company = CompanyFacts(company_id=1, status=status, is_blocklisted=False, annual_revenue=Decimal("8000000"))
    d = run(800, company=company)
    assert d.outcome == DECLINE and "KO_COMPANY_STATUS" in codes(d)


def test_blocklisted_company_and_party_knock_out():
    company = CompanyFacts(company_id=1, status="active", is_blocklisted=True, annual_revenue=Decimal("8000000"), blocklisted_person_ids=frozenset({10}))
    d = run(800, company=company)
    assert d.outcome == DECLINE
    assert {"KO_COMPANY_BLOCKLISTED", "KO_PARTY_BLOCKLISTED"} <= set(codes(d))


def test_related_party_in_default_knocks_out_with_its_reasons():
    scores = bundle(800, parties=[party(), party(11, "shareholder", 640, in_default=True, ownership_pct=Decimal("60"))])
    d = run(800, scores=scores)
    assert d.outcome == DECLINE and "KO_PARTY_IN_DEFAULT" in codes(d)
    assert {r["subject"] for r in d.reasons} == {"company:1", "person:11"}


def test_company_in_default_knocks_out():
    assert "KO_COMPANY_IN_DEFAULT" in codes(run(800, scores=bundle(800, in_default=True)))


@pytest.mark.parametrize(("rep_score", "outcome"), [(549, DECLINE), (550, APPROVE)])
def test_legal_representative_floor(rep_score, outcome):
    d = run(700, scores=bundle(700, parties=[party(score=rep_score)]))
    assert d.outcome == outcome


@pytest.mark.parametrize(("amount", "term", "code"), [("9999.99", 12, "KO_AMOUNT_OUTSIDE_PRODUCT"), ("3000000.01", 12, "KO_AMOUNT_OUTSIDE_PRODUCT"), ("50000", 2, "KO_TERM_OUTSIDE_PRODUCT"), ("50000", 37, "KO_TERM_OUTSIDE_PRODUCT")])
def test_amount_or_term_outside_the_product_knocks_out(amount, term, code):
    d = run(800, amount=amount, term=term)
    assert d.outcome == DECLINE and code in codes(d)


def test_a_decline_lists_every_rule_it_broke():
    company = CompanyFacts(company_id=1, status="suspended", is_blocklisted=True, annual_revenue=Decimal("8000000"))
    d = run(580, company=company, term=40)
    assert {"KO_COMPANY_STATUS", "KO_COMPANY_BLOCKLISTED", "KO_TERM_OUTSIDE_PRODUCT", "EL_SCORE_BELOW_MIN"} <= set(codes(d))


# --- the record ----------------------------------------------------------------------------


def test_decision_carries_versions_inputs_and_json_safe_outputs():
    import json

    d = run(700)
    assert d.policy_version == 7
    assert d.model_versions == {"company:1": 3, "person:10": 2}
    assert d.inputs["request"] == {"amount": "500000.00", "term_months": 12}
    assert d.inputs["scores"]["company"]["score"] == 700
    json.dumps(d.inputs), json.dumps(d.outputs())
    assert d.outputs()["limit"] == "500000.00"
