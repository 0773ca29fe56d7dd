"""Repayment schedule engine.

A pure module: no database (the repayment methods are the stored choices of
``loans.choices``, a plain enumeration).  Given a loan's terms it returns the
rows of its repayment schedule.  Amounts are Decimal and every amount in a row
has exactly two places; where a value must be rounded (interest, the annuity
payment, P/n) it is first computed exactly as a Fraction, then rounded half-up
to the cent once.  Floats are refused.

Conventions
-----------
* The monthly rate is the nominal annual rate / 12.
* Interest for a month = opening principal x monthly rate, rounded to the cent.
* Rounding differences in principal are absorbed by the last row, so the
  principals always add up to the loan's principal exactly and the last
  closing balance is exactly 0.00.
"""

from __future__ import annotations

import calendar
import datetime
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from loans.choices import RepaymentMethod  # noqa: F401  (re-exported: schedule.RepaymentMethod)
from loans.money import ZERO, money

MAX_TERM_MONTHS = 360


@dataclass(frozen=True)
class ScheduleRow:
    number: int  # 1-based (or from ``start_number`` after a re-amortization)
    due_date: datetime.date
    opening_principal: Decimal
    principal: Decimal
    interest: Decimal
    payment: Decimal  # principal + interest
    closing_principal: Decimal


class ScheduleError(ValueError):
    """Bad input to the schedule engine; ``field`` names the offending argument."""

    def __init__(self, field: str, message: str):
        # Both go into args so the exception survives pickling (e.g. by Celery).
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def add_months(d: datetime.date, n: int) -> datetime.date:
    """``d`` moved by ``n`` calendar months, clamped to the end of the month.

    Jan 31 + 1 month = Feb 28 (or 29).  Callers compute every due date from the
    first one (``add_months(first, k)``) rather than chaining, so a loan due on
    the 31st comes back to the 31st after a short month.
    """
    month_index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(month_index, 12)
    month += 1
    day = min(d.day, calendar.monthrange(year, month)[1])
    return datetime.date(year, month, day)


def _decimal(value, field: str) -> Decimal:
    """Exact Decimal from Decimal/int/str; floats are refused (they are inexact)."""
    if isinstance(value, float):
        raise ScheduleError(field, "must not be a float; pass a Decimal or a string")
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ScheduleError(field, f"must be a Decimal, int or string, not {value!r}")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ScheduleError(field, f"not a number: {value!r}") from exc
    if not d.is_finite():
        raise ScheduleError(field, f"not a finite number: {value!r}")
    return d


def _to_cents(x: Fraction) -> Decimal:
    """Round an exact rational half-up (away from zero) to a Decimal with 2 places."""
    cents = math.floor(abs(x) * 100 + Fraction(1, 2))
    return money(Decimal(cents if x >= 0 else -cents).scaleb(-2))


# Rates and amounts are converted to Fraction (exactly) for the two calculations
# that round: a rounded intermediate such as 0.12 / 12 or (1 + r) ** -n could
# tip an exact half-cent tie to the wrong side (100.50 at 12% over 2 months has
# an exact annuity of 51.005, which must round to 51.01, not 51.00).


def _monthly_interest(opening: Decimal, annual_rate: Decimal) -> Decimal:
    return _to_cents(Fraction(opening) * Fraction(annual_rate) / 12)


def _annuity(p: Fraction, r: Fraction, n: int) -> Decimal:
    if r == 0:
        return _to_cents(p / n)
    return _to_cents(p * r / (1 - (1 + r) ** -n))


def annuity_payment(principal, monthly_rate, n: int) -> Decimal:
    """The level payment P*r / (1 - (1+r)^-n), rounded to the cent only at the end.

    With r == 0 the formula degenerates to P / n.  Computed exactly, so the
    only rounding is the final half-up to the cent.
    """
    p = _decimal(principal, "principal")
    r = _decimal(monthly_rate, "monthly_rate")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScheduleError("n", f"must be a positive int, not {n!r}")
    if r <= -1:
        raise ScheduleError("monthly_rate", f"must be greater than -1, not {r}")
    return _annuity(Fraction(p), Fraction(r), n)


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _validate(
    principal, annual_rate, terms, method, first_due_date, *, principal_field, terms_field
):
    p = _decimal(principal, principal_field)
    if p <= 0:
        raise ScheduleError(principal_field, f"must be greater than zero, not {p}")
    if money(p) != p:
        # Silently rounding a principal would lose or invent money.
        raise ScheduleError(principal_field, f"must have at most 2 decimal places: {p}")
    p = money(p)  # normalise to exactly two places (e.g. 100 -> 100.00)

    r = _decimal(annual_rate, "annual_rate")
    if not (0 <= r < 1):
        raise ScheduleError("annual_rate", f"must satisfy 0 <= rate < 1, not {r}")

    if isinstance(terms, bool) or not isinstance(terms, int):
        raise ScheduleError(terms_field, f"must be an int, not {terms!r}")
    if not (1 <= terms <= MAX_TERM_MONTHS):
        raise ScheduleError(terms_field, f"must be between 1 and {MAX_TERM_MONTHS}, not {terms}")

    try:
        m = RepaymentMethod(method)
    except (ValueError, TypeError) as exc:
        choices = ", ".join(x.value for x in RepaymentMethod)
        raise ScheduleError("method", f"must be one of {choices}, not {method!r}") from exc

    # datetime is a subclass of date; a time of day has no meaning for a due date.
    if not isinstance(first_due_date, datetime.date) or isinstance(
        first_due_date, datetime.datetime
    ):
        raise ScheduleError("first_due_date", f"must be a date, not {first_due_date!r}")
    return p, r, terms, m


# --------------------------------------------------------------------------- #
# Schedule construction
# --------------------------------------------------------------------------- #


def _rows(p, r, n, method, first_due_date, start_number):
    """Generate the rows; inputs are already validated."""
    if method is RepaymentMethod.EQUAL_INSTALLMENT:
        installment = _annuity(Fraction(p), Fraction(r) / 12, n)
    elif method is RepaymentMethod.EQUAL_PRINCIPAL:
        per_row_principal = _to_cents(Fraction(p) / n)

    rows = []
    opening = p
    for k in range(n):
        interest = _monthly_interest(opening, r)
        if k == n - 1:
            # The last row repays whatever is left, absorbing every rounding
            # difference so that the principals sum to the loan exactly.
            principal = opening
        elif method is RepaymentMethod.EQUAL_INSTALLMENT:
            # Never negative: the balance never grows, and rounding half-up is
            # monotone, so round(opening*r) <= round(P*r) <= round(annuity).
            # The max() only makes that invariant unconditional.
            # Never above the balance: with tiny loans the rounded-up payment
            # can repay the loan early; the remaining rows are then all zero.
            principal = min(max(installment - interest, ZERO), opening)
        elif method is RepaymentMethod.EQUAL_PRINCIPAL:
            # Rounding P/n up can exhaust a tiny loan before the last row.
            principal = min(per_row_principal, opening)
        else:  # INTEREST_FIRST: interest only until the last row
            principal = ZERO
        closing = opening - principal
        rows.append(
            ScheduleRow(
                number=start_number + k,
                due_date=add_months(first_due_date, k),
                opening_principal=opening,
                principal=principal,
                interest=interest,
                payment=principal + interest,
                closing_principal=closing,
            )
        )
        opening = closing
    return rows


def build_schedule(
    *,
    principal,
    annual_rate,
    term_months: int,
    method,
    first_due_date: datetime.date,
) -> list[ScheduleRow]:
    """The full schedule of a new loan; row k is due ``add_months(first_due_date, k-1)``."""
    p, r, n, m = _validate(
        principal,
        annual_rate,
        term_months,
        method,
        first_due_date,
        principal_field="principal",
        terms_field="term_months",
    )
    return _rows(p, r, n, m, first_due_date, start_number=1)


def reamortize(
    *,
    outstanding_principal,
    annual_rate,
    remaining_terms: int,
    method,
    first_due_date: datetime.date,
    start_number: int = 1,
) -> list[ScheduleRow]:
    """A fresh schedule for the principal left after a prepayment.

    The outstanding principal is spread over the remaining terms with the same
    rules as :func:`build_schedule`; rows are numbered from ``start_number`` so
    they continue the original schedule's numbering, and ``first_due_date`` is
    the due date of the row numbered ``start_number``.
    """
    p, r, n, m = _validate(
        outstanding_principal,
        annual_rate,
        remaining_terms,
        method,
        first_due_date,
        principal_field="outstanding_principal",
        terms_field="remaining_terms",
    )
    if isinstance(start_number, bool) or not isinstance(start_number, int) or start_number < 1:
        raise ScheduleError("start_number", f"must be an int >= 1, not {start_number!r}")
    return _rows(p, r, n, m, first_due_date, start_number=start_number)


def restructure_schedule(
    *,
    outstanding_principal,
    annual_rate,
    term_months: int,
    interest_only_months: int,
    method,
    first_due_date: datetime.date,
    start_number: int = 1,
) -> list[ScheduleRow]:
    """A restructured schedule: ``interest_only_months`` rows of interest on the whole
    outstanding principal, then the principal amortized over the remaining months by
    ``method``.  The principals add up to ``outstanding_principal`` exactly."""
    p, r, n, m = _validate(
        outstanding_principal, annual_rate, term_months, method, first_due_date,
        principal_field="outstanding_principal", terms_field="term_months",
    )
    if isinstance(interest_only_months, bool) or not isinstance(interest_only_months, int):
        raise ScheduleError("interest_only_months", f"must be an int, not {interest_only_months!r}")
    if not (0 <= interest_only_months < n):
        raise ScheduleError("interest_only_months", f"must be between 0 and {n - 1} (the term less one), not {interest_only_months}")
    if isinstance(start_number, bool) or not isinstance(start_number, int) or start_number < 1:
        raise ScheduleError("start_number", f"must be an int >= 1, not {start_number!r}")
    interest = _monthly_interest(p, r)
    rows = [
        ScheduleRow(
            number=start_number + k, due_date=add_months(first_due_date, k), opening_principal=p,
            principal=ZERO, interest=interest, payment=interest, closing_principal=p,
        )
        for k in range(interest_only_months)
    ]
    rest = _rows(p, r, n - interest_only_months, m, add_months(first_due_date, interest_only_months), start_number + interest_only_months)
    # _rows dates its rows from its own first date; keep them on the contract's day of month.
    return rows + [
        ScheduleRow(row.number, add_months(first_due_date, interest_only_months + k), row.opening_principal,
                    row.principal, row.interest, row.payment, row.closing_principal)
        for k, row in enumerate(rest)
    ]
