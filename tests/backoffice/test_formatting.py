"""How the back office shows money, rates, PDs, dates and scores."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template

from config.backoffice import formatting as f
from loans.money import MoneyError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234567"), "¥1,234,567.00"),
        ("1234567.005", "¥1,234,567.01"),  # half-up to the cent
        (Decimal("0.5"), "¥0.50"),
        (Decimal("-12.5"), "-¥12.50"),
        (0, "¥0.00"),
        (None, "—"),
        ("", "—"),
    ],
)
def test_money_with_separators_and_symbol(value, expected):
    assert f.format_money(value) == expected


def test_money_with_currency_code():
    assert f.format_money(Decimal("1234567"), code=True) == "1,234,567.00 CNY"
    assert f.format_money(Decimal("10"), "XYZ") == "10.00 XYZ"


def test_money_refuses_a_float():
    with pytest.raises(MoneyError):
        f.format_money(1234.5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.150000"), "15.00%"),
        (Decimal("0.085000"), "8.50%"),
        (Decimal("0.000500"), "0.05%"),
        ("0.1234565", "12.35%"),
        (None, "—"),
        ("not a rate", "—"),
    ],
)
def test_rate_as_percentage(value, expected):
    assert f.format_rate(value) == expected


def test_rate_with_more_places():
    assert f.format_rate(Decimal("0.123456"), 4) == "12.3456%"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.123456789012345678, "12.35%"),
        (0.01, "1.00%"),
        (0.0048123456, "0.48%"),
        (0.00012345, "0.012%"),
        (0.0000012345, "0.0001%"),
        (1e-12, "<0.0001%"),
        (0.0, "0%"),
        (1.0, "100.00%"),
        (None, "—"),
    ],
)
def test_pd_with_sensible_precision(value, expected):
    assert f.format_pd(value) == expected


def test_pd_never_shows_binary_noise():
    assert f.format_pd(0.1 + 0.2) == "30.00%"
    assert len(f.format_pd(0.004812345678901234)) <= 6


def test_datetimes_are_shown_in_shanghai():
    utc_evening = dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC)  # 02:30 next day in Shanghai
    assert f.format_datetime(utc_evening) == "2026-12-02 02:30"
    assert f.format_datetime(utc_evening, seconds=True) == "2026-12-02 02:30:00"
    assert f.format_date(utc_evening) == "2026-12-02"
    new_york = dt.datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    assert f.format_datetime(new_york) == "2026-12-01 21:00"


def test_dates_and_empties():
    assert f.format_date(dt.date(2026, 1, 5)) == "2026-01-05"
    assert f.format_datetime(dt.date(2026, 1, 5)) == "2026-01-05"
    assert f.format_date(None) == "—"
    assert f.format_datetime(None) == "—"
    # A naive value is read as Shanghai time, not shifted.
    assert f.format_datetime(dt.datetime(2026, 1, 5, 9, 15)) == "2026-01-05 09:15"


@pytest.mark.parametrize(
    ("score", "tier", "expected"),
    [(742, "B", "742 · B"), (760, None, "760 · A"), (599, None, "599 · E"), (650, None, "650 · C"), (None, None, "—")],
)
def test_score_with_tier(score, tier, expected):
    assert f.format_score(score, tier) == expected


def test_counts_and_amounts():
    assert f.format_int(2000000) == "2,000,000"
    assert f.format_amount(Decimal("1234.5")) == "1,234.50"
    assert f.format_int(None) == "—"


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (5e7, "CNY", "¥50,000,000.00"),  # a snapshot's revenue is a float: no binary noise, separators
        (1234.565, "CNY", "¥1,234.57"),
        (12000.0, "count", "12,000"),
        (7, "years", "7"),
        (0.1234, "ratio", "0.12"),
        (-0.05, "ratio", "-0.05"),
        (None, "CNY", "—"),
    ],
)
def test_credit_data_figures(value, unit, expected):
    assert f.format_figure(value, unit) == expected


def test_template_filters():
    out = Template(
        "{% load backoffice_format %}"
        "{{ m|money }}|{{ m|money_code }}|{{ r|rate }}|{{ p|pd }}|{{ t|sh_datetime }}|{{ t|sh_date }}"
        "|{{ s|score_tier:'B' }}|{{ s|score_tier }}|{{ n|thousands }}|{{ none|money }}"
    ).render(
        Context(
            {
                "m": Decimal("1234567"),
                "r": Decimal("0.150000"),
                "p": 0.0048,
                "t": dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC),
                "s": 742,
                "n": 1234567,
                "none": None,
            }
        )
    )
    assert out == (
        "¥1,234,567.00|1,234,567.00 CNY|15.00%|0.48%|2026-12-02 02:30|2026-12-02"
        "|742 · B|742 · B|1,234,567|—"
    )
