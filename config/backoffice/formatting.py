"""How the back office shows numbers, dates and scores to people.

One place for every page (admin columns, detail pages, the dashboard, CSV exports keep raw
values): money with thousands separators and the currency, annual rates as percentages,
probabilities of default with the precision that tells them apart, dates and times in the
business time zone (Asia/Shanghai), a score with its tier.

Every function takes ``None`` (or "") and answers :data:`EMPTY`, so a column of an optional
field never shows "None".  Money and rates stay Decimal end to end: a float amount is a bug
and is refused (``loans.money``); a PD is a float in the database (``scoring.Score.pd``) and
is converted through its ``repr`` so no binary noise reaches the page.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils import timezone

from loans.money import money as to_money

EMPTY = "—"
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "HKD": "HK$"}
HUNDRED = Decimal(100)


def _decimal(value) -> Decimal | None:
    """A finite Decimal from a Decimal, int, numeric string or (for PDs) float; None if not."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        d = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return d if d.is_finite() else None


def _group(d: Decimal, places: int) -> str:
    """``d`` rounded half-up to ``places`` decimals with comma thousands separators."""
    q = Decimal(1).scaleb(-places)
    return f"{d.quantize(q, rounding=ROUND_HALF_UP):,.{places}f}"


def format_money(value, currency: str = "CNY", *, code: bool = False) -> str:
    """``1234567`` → ``¥1,234,567.00``; with ``code=True`` → ``1,234,567.00 CNY``.

    Negative amounts put the sign before the symbol: ``-¥12.50``.  A float raises
    ``loans.money.MoneyError`` (money is never a float)."""
    if value is None or value == "":
        return EMPTY
    amount = to_money(value)
    if code:
        return f"{_group(amount, 2)} {currency}"
    sign = "-" if amount < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol is None:
        return f"{_group(amount, 2)} {currency}"
    return f"{sign}{symbol}{_group(abs(amount), 2)}"


def format_amount(value, places: int = 2) -> str:
    """A number with thousands separators and ``places`` decimals, no currency."""
    d = _decimal(value)
    return EMPTY if d is None else _group(d, places)


def format_int(value) -> str:
    """A count with thousands separators: ``2000000`` → ``2,000,000``."""
    return format_amount(value, 0)


def format_rate(value, places: int = 2) -> str:
    """An annual rate stored as a fraction: ``0.150000`` → ``15.00%``."""
    d = _decimal(value)
    return EMPTY if d is None else f"{_group(d * HUNDRED, places)}%"


def format_percent(value, places: int = 2) -> str:
    """A share stored in percent (a haircut, an ownership): ``30`` → ``30.00%``."""
    d = _decimal(value)
    return EMPTY if d is None else f"{_group(d, places)}%"


def format_pd(value) -> str:
    """A probability of default (a fraction) as a percentage with sensible precision.

    From 1 % up two decimals (``12.35%``); below 1 % two significant digits, so small PDs
    are told apart (``0.48%``, ``0.012%``); below 0.0001 % ``<0.0001%``; exactly 0 ``0%``."""
    d = _decimal(value)
    if d is None:
        return EMPTY
    pct = d * HUNDRED
    if pct == 0:
        return "0%"
    if abs(pct) >= 1:
        return f"{_group(pct, 2)}%"
    # Two significant digits: 0.4812 → 0.48, 0.01234 → 0.012; at most four decimals.
    places = min(4, max(2, -pct.adjusted() + 1))
    rounded = pct.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "<0.0001%"
    return f"{rounded:,.{places}f}%"


def format_figure(value, unit: str = "") -> str:
    """An observed figure of credit data (a float in the snapshot): an amount in CNY as money
    with separators (``50000000.0`` → ``¥50,000,000.00``), a whole number with separators
    (``12000`` → ``12,000``), anything else with two decimals (``0.1234`` → ``0.12``)."""
    d = _decimal(value)
    if d is None:
        return EMPTY
    if unit in CURRENCY_SYMBOLS:
        sign = "-" if d < 0 else ""
        return f"{sign}{CURRENCY_SYMBOLS[unit]}{_group(abs(d), 2)}"
    return _group(d, 0) if d == d.to_integral_value() else _group(d, 2)


def _shanghai(value: dt.datetime) -> dt.datetime:
    if timezone.is_naive(value):
        value = timezone.make_aware(value, BUSINESS_TZ)
    return value.astimezone(BUSINESS_TZ)


def format_date(value) -> str:
    """A date as ``2026-12-02``; a datetime gives its date in Asia/Shanghai."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, dt.datetime):
        value = _shanghai(value).date()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def format_datetime(value, *, seconds: bool = False) -> str:
    """A moment in Asia/Shanghai: ``2026-12-02 09:30`` (naive values are taken as Shanghai
    time); a bare date is shown as a date."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, dt.datetime):
        return _shanghai(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return format_date(value)


def tier_of(score) -> str | None:
    """The tier of a score under the default bands (A ≥ 750 … E < 600)."""
    from scoring.scale import tier_for

    if score is None or score == "":
        return None
    return tier_for(int(score))


def format_score(score, tier: str | None = None) -> str:
    """``742`` with tier ``B`` → ``742 · B``; without a tier, the default bands name it."""
    if score is None or score == "":
        return EMPTY
    tier = tier or tier_of(score)
    return f"{int(score)} · {tier}" if tier else str(int(score))
