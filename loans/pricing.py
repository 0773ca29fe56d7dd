"""Risk-based pricing and limits: pure functions over a credit policy snapshot.

No database and no Django: the policy arrives as a frozen :class:`PolicySnapshot` (built by
``loans.services.policy.policy_snapshot`` from the active ``CreditPolicy`` row), so every rule
here can be tested exhaustively and runs in microseconds.  Money is Decimal via
:func:`loans.money.money`; rates are Decimal fractions via :func:`loans.money.rate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from .money import ZERO, money, rate


@dataclass(frozen=True)
class TierBand:
    tier: str
    min_score: int
    base_rate: Decimal
    multiplier: Decimal


@dataclass(frozen=True)
class TermSpread:
    max_months: int
    spread: Decimal


@dataclass(frozen=True)
class PolicySnapshot:
    version: int
    min_score: int = 600
    grey_band_low: int = 600
    grey_band_high: int = 619
    auto_approval_ceiling: Decimal = Decimal("1000000.00")
    legal_rate_cap: Decimal = Decimal("0.240000")
    max_score_age_days: int = 7
    legal_rep_min_score: int = 550
    group_exposure_cap: Decimal = Decimal("5000000.00")
    revenue_capacity_ratio: Decimal = Decimal("0.200000")
    penalty_daily_rate: Decimal = Decimal("0.000500")
    substandard_dpd: int = 91
    doubtful_dpd: int = 181
    loss_dpd: int = 361
    offer_validity_days: int = 30
    committee_quorum: int = 3
    committee_majority: int = 2
    committee_due_working_days: int = 2
    tier_bands: tuple[TierBand, ...] = field(default_factory=tuple)
    term_spreads: tuple[TermSpread, ...] = field(default_factory=tuple)

    @classmethod
    def from_values(cls, *, version: int, tier_bands, term_spreads, **values) -> PolicySnapshot:
        """Build from plain values (a model's fields or JSON): bands sorted best first."""
        bands = tuple(
            sorted(
                (
                    TierBand(
                        tier=str(b["tier"]),
                        min_score=int(b["min_score"]),
                        base_rate=rate(b["base_rate"]),
                        multiplier=Decimal(str(b["multiplier"])),
                    )
                    for b in tier_bands
                ),
                key=lambda b: -b.min_score,
            )
        )
        spreads = tuple(
            sorted(
                (TermSpread(max_months=int(s["max_months"]), spread=rate(s["spread"])) for s in term_spreads),
                key=lambda s: s.max_months,
            )
        )
        return cls(version=version, tier_bands=bands, term_spreads=spreads, **values)


def tier_band_for(score: int, bands: tuple[TierBand, ...]) -> TierBand | None:
    """The best band whose floor the score reaches, or None below every band."""
    for band in bands:  # best first
        if score >= band.min_score:
            return band
    return None


def term_spread_for(term_months: int, spreads: tuple[TermSpread, ...]) -> Decimal:
    for s in spreads:  # shortest first
        if term_months <= s.max_months:
            return s.spread
    return spreads[-1].spread if spreads else ZERO


@dataclass(frozen=True)
class Price:
    annual_rate: Decimal
    uncapped_rate: Decimal
    capped: bool


def annual_rate_for(*, band: TierBand, product_spread: Decimal, term_months: int, policy: PolicySnapshot) -> Price:
    """Tier base rate + product spread + term spread, floored at 0 and never above the cap."""
    uncapped = rate(band.base_rate + rate(product_spread) + term_spread_for(term_months, policy.term_spreads))
    uncapped = max(uncapped, rate("0"))
    cap = rate(policy.legal_rate_cap)
    return Price(annual_rate=min(uncapped, cap), uncapped_rate=uncapped, capped=uncapped > cap)


@dataclass(frozen=True)
class LimitBreakdown:
    limit: Decimal
    requested: Decimal
    capacity: Decimal
    product_max: Decimal
    group_headroom: Decimal
    binding: str  # which of the four set the limit


def credit_limit_for(
    *,
    requested: Decimal,
    annual_revenue: Decimal,
    band: TierBand,
    product_max: Decimal,
    group_open_limits: Decimal,
    policy: PolicySnapshot,
) -> LimitBreakdown:
    """min(requested, revenue capacity × tier multiplier, product maximum, group headroom).

    Capacity is rounded down to the cent: a limit is never more than the policy allows.
    """
    capacity = (money(annual_revenue) * policy.revenue_capacity_ratio * band.multiplier).quantize(
        Decimal("0.01"), rounding=ROUND_DOWN
    )
    headroom = max(ZERO, money(policy.group_exposure_cap) - money(group_open_limits))
    candidates = [
        ("requested", money(requested)),
        ("capacity", capacity),
        ("product_max", money(product_max)),
        ("group_headroom", headroom),
    ]
    binding, limit = min(candidates, key=lambda c: c[1])  # first wins a tie: requested before caps
    return LimitBreakdown(
        limit=limit,
        requested=money(requested),
        capacity=capacity,
        product_max=money(product_max),
        group_headroom=headroom,
        binding=binding,
    )
