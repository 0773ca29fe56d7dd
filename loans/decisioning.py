"""The automated credit decision: a pure function.

``decide()`` takes everything it needs as plain values — a policy snapshot, the product's
terms, the request, the company's facts, its borrower group's exposure and the scoring
bundle — and returns a :class:`DecisionOutcome` (the ``Decision`` model records it).  No
database, no clock: the service layer gathers the inputs
(``loans.services.applications.application_submit``) and persists the result.

Order of the rules (every rule is evaluated so that a decline lists all its reasons):

1. knock-outs: company suspended/deregistered or blocklisted, company or related party in
   default or blocklisted, legal representative below the floor, amount or term outside the
   product → decline;
2. eligibility: composite score ≥ max(policy minimum, product minimum) and inside a tier band;
3. tier → limit = min(requested, revenue capacity × multiplier, product max, group headroom);
   a limit below the product minimum → decline; rate = base + product + term spreads, capped;
4. referral instead of approval: score in the grey band, limit above the auto-approval
   ceiling, an unscored legal representative, or scores older than the policy allows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .money import money
from .pricing import PolicySnapshot, annual_rate_for, credit_limit_for, tier_band_for

if TYPE_CHECKING:  # the scoring app's agreed interface; only its shape is used here
    from scoring.api import CompanyScoreBundle

APPROVE, DECLINE, REFER = "approve", "decline", "refer"
KNOCKOUT, INELIGIBLE, REFERRAL, ADJUSTMENT = "knockout", "ineligible", "refer", "adjustment"

LEGAL_REPRESENTATIVE = "legal_representative"
BAD_COMPANY_STATUSES = frozenset({"suspended", "deregistered"})


@dataclass(frozen=True)
class ProductTerms:
    code: str
    min_amount: Decimal
    max_amount: Decimal
    min_term_months: int
    max_term_months: int
    min_score: int
    rate_spread: Decimal


@dataclass(frozen=True)
class CreditRequest:
    amount: Decimal
    term_months: int


@dataclass(frozen=True)
class CompanyFacts:
    company_id: int
    status: str
    is_blocklisted: bool
    annual_revenue: Decimal
    blocklisted_person_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class GroupExposure:
    company_ids: tuple[int, ...]
    open_limits: Decimal  # sum of the group's open line limits (the applicant's included)


@dataclass(frozen=True)
class RuleHit:
    code: str
    effect: str  # knockout | ineligible | refer | adjustment
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "effect": self.effect, "message": self.message}


@dataclass(frozen=True)
class DecisionOutcome:
    outcome: str
    score: int
    tier: str
    limit: Decimal | None
    annual_rate: Decimal | None
    rule_hits: tuple[RuleHit, ...]
    reasons: tuple[dict[str, Any], ...]
    model_versions: dict[str, int]
    policy_version: int
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def outputs(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "score": self.score,
            "tier": self.tier,
            "limit": None if self.limit is None else str(self.limit),
            "annual_rate": None if self.annual_rate is None else str(self.annual_rate),
            **self.details,
        }


def _reason_dicts(subject: str, score) -> list[dict[str, Any]]:
    if score is None:
        return []
    return [
        {
            "subject": subject,
            "code": r.code,
            "text_en": r.text_en,
            "text_zh": r.text_zh,
            "points_lost": round(float(r.points_lost), 2),
        }
        for r in score.reasons
    ]


def _inputs(policy, product, request, company, group, scores, as_of) -> dict[str, Any]:
    def subject(s):
        if s is None:
            return None
        return {
            "kind": s.subject_kind,
            "id": s.subject_id,
            "as_of": s.as_of.isoformat(),
            "model_version": s.model_version,
            "score": s.score,
            "pd": round(float(s.pd), 6),
            "tier": s.tier,
            "in_default": bool(s.in_default),
        }

    return {
        "as_of": as_of.isoformat(),
        "policy_version": policy.version,
        "product": {
            "code": product.code,
            "min_amount": str(product.min_amount),
            "max_amount": str(product.max_amount),
            "min_term_months": product.min_term_months,
            "max_term_months": product.max_term_months,
            "min_score": product.min_score,
            "rate_spread": str(product.rate_spread),
        },
        "request": {"amount": str(money(request.amount)), "term_months": request.term_months},
        "company": {
            "id": company.company_id,
            "status": company.status,
            "is_blocklisted": company.is_blocklisted,
            "annual_revenue": str(money(company.annual_revenue)),
            "blocklisted_person_ids": sorted(company.blocklisted_person_ids),
        },
        "group": {"company_ids": list(group.company_ids), "open_limits": str(money(group.open_limits))},
        "scores": {
            "company": subject(scores.company),
            "parties": [
                {
                    "person_id": p.person_id,
                    "role": p.role,
                    "ownership_pct": None if p.ownership_pct is None else str(p.ownership_pct),
                    "score": subject(p.score),
                }
                for p in scores.parties
            ],
        },
    }


def decide(
    *,
    policy: PolicySnapshot,
    product: ProductTerms,
    request: CreditRequest,
    company: CompanyFacts,
    group: GroupExposure,
    scores: CompanyScoreBundle,
    as_of: datetime.date,
) -> DecisionOutcome:
    hits: list[RuleHit] = []
    party_reasons: list[dict[str, Any]] = []
    company_score = scores.company
    score = int(company_score.score)
    amount = money(request.amount)

    # 1. knock-outs ------------------------------------------------------------------------
    if company.status in BAD_COMPANY_STATUSES:
        hits.append(RuleHit("KO_COMPANY_STATUS", KNOCKOUT, f"Company is {company.status}."))
    if company.is_blocklisted:
        hits.append(RuleHit("KO_COMPANY_BLOCKLISTED", KNOCKOUT, "Company is on the blocklist."))
    if company_score.in_default:
        hits.append(RuleHit("KO_COMPANY_IN_DEFAULT", KNOCKOUT, "Company is in default."))
    legal_reps = [p for p in scores.parties if p.role == LEGAL_REPRESENTATIVE]
    seen_default: set[int] = set()
    for p in scores.parties:
        if p.score is not None and p.score.in_default and p.person_id not in seen_default:
            seen_default.add(p.person_id)
            hits.append(RuleHit("KO_PARTY_IN_DEFAULT", KNOCKOUT, f"Related party #{p.person_id} ({p.role}) is in default."))
            party_reasons += _reason_dicts(f"person:{p.person_id}", p.score)
    for person_id in sorted(company.blocklisted_person_ids):
        hits.append(RuleHit("KO_PARTY_BLOCKLISTED", KNOCKOUT, f"Related party #{person_id} is on the blocklist."))
    for p in legal_reps:
        if p.score is not None and p.score.score < policy.legal_rep_min_score:
            hits.append(
                RuleHit(
                    "KO_LEGAL_REP_SCORE",
                    KNOCKOUT,
                    f"Legal representative #{p.person_id} scores {p.score.score}, below the floor of {policy.legal_rep_min_score}.",
                )
            )
            party_reasons += _reason_dicts(f"person:{p.person_id}", p.score)
    if not (product.min_amount <= amount <= product.max_amount):
        hits.append(
            RuleHit(
                "KO_AMOUNT_OUTSIDE_PRODUCT",
                KNOCKOUT,
                f"Amount {amount} is outside the product's range {product.min_amount}–{product.max_amount}.",
            )
        )
    if not (product.min_term_months <= request.term_months <= product.max_term_months):
        hits.append(
            RuleHit(
                "KO_TERM_OUTSIDE_PRODUCT",
                KNOCKOUT,
                f"Term {request.term_months} months is outside the product's range "
                f"{product.min_term_months}–{product.max_term_months}.",
            )
        )

    # 2. eligibility -----------------------------------------------------------------------
    min_score = max(policy.min_score, product.min_score)
    if score < min_score:
        hits.append(RuleHit("EL_SCORE_BELOW_MIN", INELIGIBLE, f"Composite score {score} is below the minimum of {min_score}."))
    band = tier_band_for(score, policy.tier_bands)
    if band is None and score >= min_score:
        hits.append(RuleHit("EL_NO_TIER", INELIGIBLE, f"Composite score {score} falls in no tier band."))

    # 3. tier, limit, rate -----------------------------------------------------------------
    limit = annual_rate = None
    details: dict[str, Any] = {}
    if band is not None:
        lb = credit_limit_for(
            requested=amount,
            annual_revenue=company.annual_revenue,
            band=band,
            product_max=product.max_amount,
            group_open_limits=group.open_limits,
            policy=policy,
        )
        price = annual_rate_for(band=band, product_spread=product.rate_spread, term_months=request.term_months, policy=policy)
        details = {
            "limit_breakdown": {
                "requested": str(lb.requested),
                "capacity": str(lb.capacity),
                "product_max": str(lb.product_max),
                "group_headroom": str(lb.group_headroom),
                "binding": lb.binding,
            },
            "rate_breakdown": {"uncapped": str(price.uncapped_rate), "cap": str(policy.legal_rate_cap), "capped": price.capped},
        }
        limit, annual_rate = lb.limit, price.annual_rate
        if price.capped:
            hits.append(
                RuleHit("RATE_CAPPED", ADJUSTMENT, f"Rate {price.uncapped_rate} capped at the legal maximum {policy.legal_rate_cap}.")
            )
        if lb.binding == "group_headroom":
            code = "KO_GROUP_EXPOSURE" if lb.limit < product.min_amount else "LIMIT_GROUP_HEADROOM"
            effect = KNOCKOUT if lb.limit < product.min_amount else ADJUSTMENT
            hits.append(
                RuleHit(code, effect, f"Borrower group exposure {money(group.open_limits)} leaves {lb.group_headroom} under the cap of {policy.group_exposure_cap}.")
            )
        elif lb.limit < product.min_amount:
            hits.append(
                RuleHit("EL_LIMIT_BELOW_PRODUCT_MIN", INELIGIBLE, f"The limit the policy allows ({lb.limit}) is below the product minimum {product.min_amount}.")
            )

    declined = any(h.effect in (KNOCKOUT, INELIGIBLE) for h in hits)

    # 4. referral --------------------------------------------------------------------------
    if not declined:
        if policy.grey_band_low <= score <= policy.grey_band_high:
            hits.append(
                RuleHit("REF_GREY_BAND", REFERRAL, f"Score {score} is in the grey band {policy.grey_band_low}–{policy.grey_band_high}.")
            )
        if limit is not None and limit > policy.auto_approval_ceiling:
            hits.append(
                RuleHit("REF_ABOVE_AUTO_CEILING", REFERRAL, f"Limit {limit} is above the auto-approval ceiling {policy.auto_approval_ceiling}.")
            )
        for p in legal_reps:
            if p.score is None:
                hits.append(RuleHit("REF_LEGAL_REP_UNSCORED", REFERRAL, f"Legal representative #{p.person_id} has no score."))
        if not legal_reps:
            hits.append(RuleHit("REF_NO_LEGAL_REP", REFERRAL, "The company has no legal representative on file."))
        if (as_of - company_score.as_of).days > policy.max_score_age_days:
            hits.append(RuleHit("REF_STALE_SCORE", REFERRAL, f"Company score of {company_score.as_of} is older than {policy.max_score_age_days} days."))

    if declined:
        outcome = DECLINE
    elif any(h.effect == REFERRAL for h in hits):
        outcome = REFER
    else:
        outcome = APPROVE

    reasons: list[dict[str, Any]] = []
    if outcome == DECLINE:
        reasons = _reason_dicts(f"company:{company.company_id}", company_score) + party_reasons
    model_versions = {f"company:{company_score.subject_id}": int(company_score.model_version)}
    for p in scores.parties:
        if p.score is not None:
            model_versions[f"person:{p.person_id}"] = int(p.score.model_version)

    return DecisionOutcome(
        outcome=outcome,
        score=score,
        tier=band.tier if band is not None else "",
        limit=limit if outcome != DECLINE else None,
        annual_rate=annual_rate if outcome != DECLINE else None,
        rule_hits=tuple(hits),
        reasons=tuple(reasons),
        model_versions=model_versions,
        policy_version=policy.version,
        inputs=_inputs(policy, product, request, company, group, scores, as_of),
        details=details,
    )
