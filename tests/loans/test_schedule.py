"""Tests for the pure repayment schedule engine (no database, no Django)."""

import calendar
import datetime
import pickle
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loans.money import money
from loans.schedule import (
    RepaymentMethod,
    ScheduleError,
    ScheduleRow,
    add_months,
    annuity_payment,
    build_schedule,
    reamortize,
)

D = Decimal
JAN_15 = datetime.date(2024, 1, 15)


def row(number, due, opening, principal, interest, payment, closing):
    return ScheduleRow(
        number=number,
        due_date=due,
        opening_principal=D(opening),
        principal=D(principal),
        interest=D(interest),
        payment=D(payment),
        closing_principal=D(closing),
    )


def exact_annuity(principal: Decimal, annual_rate: Decimal, n: int) -> Decimal:
    """The annuity payment, written independently of the module.

    Exact rational arithmetic (stricter than high-precision Decimal: a rounded
    (1 + r) ** n can tip an exact half-cent tie), then half-up to the cent.
    """
    p, r = Fraction(principal), Fraction(annual_rate) / 12
    exact = p / n if r == 0 else p * r * (1 + r) ** n / ((1 + r) ** n - 1)
    cents = (exact.numerator * 200 + exact.denominator) // (2 * exact.denominator)
    return money(D(cents) / 100)


# --------------------------------------------------------------------------- #
# Golden schedules (checked by hand / with the closed-form formula)
# --------------------------------------------------------------------------- #


def test_equal_installment_120k_12pct_12m():
    # given 120,000.00 at 12% (1% a month) over 12 months;
    # 1200 / (1 - 1.01^-12) = 10,661.8546... -> 10,661.85
    # when
    rows = build_schedule(
        principal=D("120000.00"),
        annual_rate=D("0.12"),
        term_months=12,
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        first_due_date=datetime.date(2024, 1, 15),
    )

    # then
    assert len(rows) == 12
    assert rows[0] == row(
        1, datetime.date(2024, 1, 15), "120000.00", "9461.85", "1200.00", "10661.85", "110538.15"
    )
    # 110,538.15 x 1% = 1,105.3815 -> 1,105.38
    assert rows[1] == row(
        2, datetime.date(2024, 2, 15), "110538.15", "9556.47", "1105.38", "10661.85", "100981.68"
    )
    assert rows[10] == row(
        11, datetime.date(2024, 11, 15), "21008.12", "10451.77", "210.08", "10661.85", "10556.35"
    )
    # the last row repays the remaining principal plus its interest (105.5635 -> 105.56)
    assert rows[11] == row(
        12, datetime.date(2024, 12, 15), "10556.35", "10556.35", "105.56", "10661.91", "0.00"
    )
    assert all(r.payment == D("10661.85") for r in rows[:-1])
    assert sum(r.principal for r in rows) == D("120000.00")
    assert sum(r.interest for r in rows) == D("7942.26")


def test_equal_principal_120k_12pct_12m():
    # given
    # when
    rows = build_schedule(
        principal=D("120000.00"),
        annual_rate=D("0.12"),
        term_months=12,
        method=RepaymentMethod.EQUAL_PRINCIPAL,
        first_due_date=JAN_15,
    )

    # then
    assert rows[0] == row(
        1, JAN_15, "120000.00", "10000.00", "1200.00", "11200.00", "110000.00"
    )
    assert rows[1] == row(
        2, datetime.date(2024, 2, 15), "110000.00", "10000.00", "1100.00", "11100.00", "100000.00"
    )
    assert rows[-1] == row(
        12, datetime.date(2024, 12, 15), "10000.00", "10000.00", "100.00", "10100.00", "0.00"
    )
    # interest 1200 + 1100 + ... + 100
    assert sum(r.interest for r in rows) == D("7800.00")


def test_interest_first_100k_12pct_6m():
    # given
    # when
    rows = build_schedule(
        principal=D("100000.00"),
        annual_rate=D("0.12"),
        term_months=6,
        method=RepaymentMethod.INTEREST_FIRST,
        first_due_date=JAN_15,
    )

    # then
    for r in rows[:5]:
        assert (r.opening_principal, r.principal, r.interest, r.payment, r.closing_principal) == (
            D("100000.00"),
            D("0.00"),
            D("1000.00"),
            D("1000.00"),
            D("100000.00"),
        )
    assert rows[5] == row(
        6, datetime.date(2024, 6, 15), "100000.00", "100000.00", "1000.00", "101000.00", "0.00"
    )


def test_zero_rate_equal_installment_last_row_absorbs_the_cent():
    # given 1,000.00 at 0% over 3 months: 1000 / 3 = 333.333... -> 333.33
    # when
    rows = build_schedule(
        principal=D("1000.00"),
        annual_rate=D("0"),
        term_months=3,
        method="equal_installment",
        first_due_date=JAN_15,
    )

    # then
    assert [(r.principal, r.interest, r.payment) for r in rows] == [
        (D("333.33"), D("0.00"), D("333.33")),
        (D("333.33"), D("0.00"), D("333.33")),
        (D("333.34"), D("0.00"), D("333.34")),
    ]
    assert rows[-1].closing_principal == D("0.00")


def test_zero_rate_equal_principal():
    # given
    # when
    rows = build_schedule(
        principal=D("100.00"),
        annual_rate=0,
        term_months=3,
        method="equal_principal",
        first_due_date=JAN_15,
    )

    # then
    assert [r.principal for r in rows] == [D("33.33"), D("33.33"), D("33.34")]
    assert all(r.interest == D("0.00") for r in rows)


def test_jan_31_first_due_date_clamps_and_returns_to_the_31st():
    # given a first due date on Jan 31 of a leap year
    # when
    rows = build_schedule(
        principal=D("6000.00"),
        annual_rate=D("0.085"),
        term_months=6,
        method=RepaymentMethod.EQUAL_PRINCIPAL,
        first_due_date=datetime.date(2024, 1, 31),
    )

    # then dates are computed from the first date, not chained (Mar 31, not Mar 29)
    assert [r.due_date for r in rows] == [
        datetime.date(2024, 1, 31),
        datetime.date(2024, 2, 29),
        datetime.date(2024, 3, 31),
        datetime.date(2024, 4, 30),
        datetime.date(2024, 5, 31),
        datetime.date(2024, 6, 30),
    ]
    # 6000 x 0.085 / 12 = 42.5 exactly
    assert rows[0].interest == D("42.50")


def test_add_months_clamps_to_month_end():
    # given / when / then
    assert add_months(datetime.date(2023, 1, 31), 1) == datetime.date(2023, 2, 28)
    assert add_months(datetime.date(2024, 1, 31), 1) == datetime.date(2024, 2, 29)
    assert add_months(datetime.date(2024, 1, 31), 2) == datetime.date(2024, 3, 31)
    assert add_months(datetime.date(2024, 11, 30), 3) == datetime.date(2025, 2, 28)
    assert add_months(datetime.date(2024, 12, 15), 1) == datetime.date(2025, 1, 15)
    assert add_months(datetime.date(2024, 3, 31), -1) == datetime.date(2024, 2, 29)
    assert add_months(datetime.date(2024, 5, 10), 0) == datetime.date(2024, 5, 10)


def test_annuity_payment_formula():
    # given / when / then
    assert annuity_payment(D("120000.00"), D("0.01"), 12) == D("10661.85")
    assert annuity_payment(D("1000.00"), D("0"), 3) == D("333.33")
    assert annuity_payment(D("100.00"), D("0.01"), 1) == D("101.00")


def test_annuity_payment_rounds_an_exact_half_cent_tie_up():
    # given 100.50 at 1% a month over 2 months: 100.5 x 1.0201 / 2.01 = 51.005 exactly
    # when
    payment = annuity_payment(D("100.50"), D("0.01"), 2)

    # then half-up gives 51.01 (an inexact (1+r)^-n would give 51.00)
    assert payment == D("51.01")


def test_interest_half_cent_rounds_up():
    # given 100.50 at 12% over 2 months: interest 1.005 exactly
    # when
    rows = build_schedule(
        principal=D("100.50"),
        annual_rate=D("0.12"),
        term_months=2,
        method="interest_first",
        first_due_date=JAN_15,
    )

    # then
    assert rows[0].interest == D("1.01")


def test_tiny_equal_installment_loan_repaid_early_keeps_invariants():
    # given 0.09 at 12% over 6 months: the annuity 0.0155... rounds UP to 0.02,
    # so the rounded payments would repay more than was lent
    # when
    rows = build_schedule(
        principal=D("0.09"),
        annual_rate=D("0.12"),
        term_months=6,
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        first_due_date=JAN_15,
    )

    # then the row that exhausts the balance is clamped to it and later rows are
    # zero, instead of a negative principal in the last row
    assert [(r.principal, r.interest, r.payment, r.closing_principal) for r in rows] == [
        (D("0.02"), D("0.00"), D("0.02"), D("0.07")),
        (D("0.02"), D("0.00"), D("0.02"), D("0.05")),
        (D("0.02"), D("0.00"), D("0.02"), D("0.03")),
        (D("0.02"), D("0.00"), D("0.02"), D("0.01")),
        (D("0.01"), D("0.00"), D("0.01"), D("0.00")),
        (D("0.00"), D("0.00"), D("0.00"), D("0.00")),
    ]


def test_tiny_equal_installment_payment_rounding_to_zero():
    # given 0.01 at 0% over 3 months: 0.0033... rounds to a 0.00 payment
    # when
    rows = build_schedule(
        principal=D("0.01"),
        annual_rate=D("0"),
        term_months=3,
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        first_due_date=JAN_15,
    )

    # then the last row repays everything
    assert [r.payment for r in rows] == [D("0.00"), D("0.00"), D("0.01")]


def test_tiny_equal_principal_loan_never_goes_negative():
    # given 0.05 over 9 months: 0.05 / 9 = 0.0055... rounds UP to 0.01
    # when
    rows = build_schedule(
        principal=D("0.05"),
        annual_rate=D("0.24"),
        term_months=9,
        method=RepaymentMethod.EQUAL_PRINCIPAL,
        first_due_date=JAN_15,
    )

    # then five rows of 0.01 repay it, the rest are zero rows
    assert [r.principal for r in rows] == [D("0.01")] * 5 + [D("0.00")] * 4
    assert all(r.closing_principal >= 0 for r in rows)
    assert rows[-1].closing_principal == D("0.00")


def test_single_term_loan_is_one_bullet_row():
    # given / when
    rows = build_schedule(
        principal=D("5000.00"),
        annual_rate=D("0.12"),
        term_months=1,
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        first_due_date=JAN_15,
    )

    # then
    assert rows == [row(1, JAN_15, "5000.00", "5000.00", "50.00", "5050.00", "0.00")]


def test_method_and_amounts_accept_their_string_forms():
    # given the DB string value, a string rate and an int principal
    # when
    rows = build_schedule(
        principal=120000,
        annual_rate="0.12",
        term_months=12,
        method="equal_installment",
        first_due_date=JAN_15,
    )

    # then
    assert rows[0].payment == D("10661.85")
    assert str(rows[0].opening_principal) == "120000.00"


def test_reamortize_after_prepayment():
    # given row 2 of the 120,000 @ 12% equal-installment loan closed at
    # 100,981.68 and the borrower prepaid 50,000.00;
    # 509.8168 / (1 - 1.01^-10) = 5,382.7516... -> 5,382.75
    # when
    rows = reamortize(
        outstanding_principal=D("50981.68"),
        annual_rate=D("0.12"),
        remaining_terms=10,
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        first_due_date=datetime.date(2024, 3, 31),
        start_number=3,
    )

    # then the new rows continue the numbering and the month-end dates
    assert [r.number for r in rows] == list(range(3, 13))
    assert rows[0] == row(
        3, datetime.date(2024, 3, 31), "50981.68", "4872.93", "509.82", "5382.75", "46108.75"
    )
    assert rows[1].due_date == datetime.date(2024, 4, 30)
    assert rows[-1] == row(
        12, datetime.date(2024, 12, 31), "5329.48", "5329.48", "53.29", "5382.77", "0.00"
    )
    assert sum(r.principal for r in rows) == D("50981.68")


def test_reamortize_from_row_one_equals_build_schedule():
    # given
    kwargs = dict(annual_rate=D("0.0795"), method="equal_principal", first_due_date=JAN_15)

    # when
    built = build_schedule(principal=D("77777.77"), term_months=24, **kwargs)
    reamortized = reamortize(outstanding_principal=D("77777.77"), remaining_terms=24, **kwargs)

    # then
    assert built == reamortized


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #

GOOD = dict(
    principal=D("1000.00"),
    annual_rate=D("0.12"),
    term_months=12,
    method=RepaymentMethod.EQUAL_INSTALLMENT,
    first_due_date=JAN_15,
)


@pytest.mark.parametrize(
    "field, bad",
    [
        ("principal", D("0")),
        ("principal", D("-100.00")),
        ("principal", 1000.0),
        ("principal", D("100.001")),
        ("principal", "lots"),
        ("principal", D("NaN")),
        ("principal", None),
        ("principal", True),
        ("annual_rate", 0.12),
        ("annual_rate", D("-0.01")),
        ("annual_rate", D("1")),
        ("annual_rate", D("12")),
        ("annual_rate", "twelve"),
        ("annual_rate", D("Infinity")),
        ("term_months", 0),
        ("term_months", 361),
        ("term_months", -1),
        ("term_months", 12.0),
        ("term_months", "12"),
        ("method", "balloon"),
        ("method", None),
        ("method", "EQUAL_INSTALLMENT"),
        ("first_due_date", "2024-01-15"),
        ("first_due_date", datetime.datetime(2024, 1, 15, 9, 0)),
    ],
)
def test_bad_input_names_its_field(field, bad):
    # given
    kwargs = {**GOOD, field: bad}

    # when
    with pytest.raises(ScheduleError) as excinfo:
        build_schedule(**kwargs)

    # then
    assert excinfo.value.field == field
    assert str(excinfo.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    "field, bad",
    [
        ("outstanding_principal", D("0.00")),
        ("outstanding_principal", 50.5),
        ("remaining_terms", 0),
        ("annual_rate", 0.1),
        ("method", "nope"),
        ("start_number", 0),
        ("start_number", "3"),
    ],
)
def test_reamortize_bad_input_names_its_own_argument(field, bad):
    # given
    kwargs = dict(
        outstanding_principal=D("500.00"),
        annual_rate=D("0.12"),
        remaining_terms=6,
        method="equal_principal",
        first_due_date=JAN_15,
        start_number=4,
    )
    kwargs[field] = bad

    # when
    with pytest.raises(ScheduleError) as excinfo:
        reamortize(**kwargs)

    # then
    assert excinfo.value.field == field


def test_annuity_payment_refuses_floats():
    # given / when / then
    with pytest.raises(ScheduleError) as excinfo:
        annuity_payment(1000.0, D("0.01"), 12)
    assert excinfo.value.field == "principal"
    with pytest.raises(ScheduleError) as excinfo:
        annuity_payment(D("1000"), 0.01, 12)
    assert excinfo.value.field == "monthly_rate"


def test_schedule_error_is_a_value_error_and_pickles():
    # given
    error = ScheduleError("principal", "must be greater than zero")

    # when
    copy = pickle.loads(pickle.dumps(error))

    # then
    assert isinstance(copy, ValueError)
    assert copy.field == "principal"
    assert str(copy) == "principal: must be greater than zero"


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

cents = st.one_of(
    st.integers(min_value=1, max_value=1_000),  # tiny loans stress the rounding
    st.integers(min_value=1, max_value=10_000_000_000),  # up to 100,000,000.00
)
principals = cents.map(lambda c: D(c).scaleb(-2))
# rates stored with six places, 0 .. 36 %
rates = st.one_of(st.just(D("0")), st.integers(0, 360_000).map(lambda k: D(k).scaleb(-6)))
terms = st.one_of(st.integers(1, 24), st.integers(1, 360))
dates = st.dates(datetime.date(2000, 1, 1), datetime.date(2100, 12, 31))
methods = st.sampled_from(list(RepaymentMethod))


def assert_schedule_invariants(rows, principal, n, first_due_date, start_number=1):
    assert len(rows) == n
    assert [r.number for r in rows] == list(range(start_number, start_number + n))
    assert rows[0].opening_principal == principal
    assert sum(r.principal for r in rows) == principal
    assert rows[-1].closing_principal == D("0.00")
    for k, r in enumerate(rows):
        for amount in (
            r.opening_principal,
            r.principal,
            r.interest,
            r.payment,
            r.closing_principal,
        ):
            assert isinstance(amount, Decimal)
            assert amount.as_tuple().exponent == -2  # exactly two places
            assert amount >= 0
        assert r.payment == r.principal + r.interest
        assert r.closing_principal == r.opening_principal - r.principal
        if k + 1 < n:
            assert rows[k + 1].opening_principal == r.closing_principal
            assert rows[k + 1].due_date > r.due_date
        # k months after the first due date, on the same day or the month's end
        months = (r.due_date.year - first_due_date.year) * 12 + (
            r.due_date.month - first_due_date.month
        )
        assert months == k
        last_day = calendar.monthrange(r.due_date.year, r.due_date.month)[1]
        assert r.due_date.day == min(first_due_date.day, last_day)


@settings(max_examples=200, deadline=None)
@given(principal=principals, annual_rate=rates, n=terms, method=methods, first=dates)
def test_schedule_invariants_hold_for_every_method(principal, annual_rate, n, method, first):
    # given any valid loan
    # when
    rows = build_schedule(
        principal=principal,
        annual_rate=annual_rate,
        term_months=n,
        method=method,
        first_due_date=first,
    )

    # then
    assert_schedule_invariants(rows, principal, n, first)
    for r in rows:
        # interest is always the opening balance x annual / 12, rounded half-up
        exact = Fraction(r.opening_principal) * Fraction(annual_rate) / 12
        assert abs(Fraction(r.interest) - exact) <= Fraction(1, 200)
    if method is RepaymentMethod.INTEREST_FIRST:
        assert all(r.principal == 0 for r in rows[:-1])
        assert rows[-1].principal == principal


@settings(max_examples=200, deadline=None)
@given(principal=principals, annual_rate=rates, n=terms, first=dates)
def test_equal_installment_payments_equal_the_rounded_annuity(principal, annual_rate, n, first):
    # given
    expected = exact_annuity(principal, annual_rate, n)

    # when
    rows = build_schedule(
        principal=principal,
        annual_rate=annual_rate,
        term_months=n,
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        first_due_date=first,
    )

    # then every row but the last pays the rounded annuity, except that a tiny
    # loan over-repaid by rounding stops early: the exhausting row pays less and
    # all later rows are zero
    for k, r in enumerate(rows[:-1]):
        if r.closing_principal > 0:
            assert r.payment == expected
        else:
            assert r.payment <= expected
            assert all(later.payment == 0 for later in rows[k + 1 :])
            break


@settings(max_examples=200, deadline=None)
@given(principal=principals, annual_rate=rates, n=terms, first=dates)
def test_equal_principal_rows_repay_p_over_n(principal, annual_rate, n, first):
    # given
    per_row = money(principal / n)  # a tie x.xx5 is exact in Decimal, so this is safe

    # when
    rows = build_schedule(
        principal=principal,
        annual_rate=annual_rate,
        term_months=n,
        method=RepaymentMethod.EQUAL_PRINCIPAL,
        first_due_date=first,
    )

    # then each row but the last repays P/n, or what is left if less
    for r in rows[:-1]:
        assert r.principal == min(per_row, r.opening_principal)


@settings(max_examples=200, deadline=None)
@given(
    principal=principals,
    annual_rate=rates,
    n=terms,
    method=methods,
    first=dates,
    start=st.integers(1, 360),
)
def test_reamortize_invariants(principal, annual_rate, n, method, first, start):
    # given an outstanding balance after a prepayment
    # when
    rows = reamortize(
        outstanding_principal=principal,
        annual_rate=annual_rate,
        remaining_terms=n,
        method=method.value,
        first_due_date=first,
        start_number=start,
    )

    # then
    assert_schedule_invariants(rows, principal, n, first, start_number=start)
