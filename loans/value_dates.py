"""Bounds on the dates that money and records carry.

A date someone types can be absurd in two ways: in the future (a repayment "received" on
9999-12-31 made its loan 2.9 million days overdue, bucket M3+, classification loss) or before
the thing it describes existed (money received before the loan was paid out).  One function
per rule; the services call them, so the partner API and the admin forms, which go through
the services, refuse the same dates with the same words.

"The future" is a business date in the lender's time zone, with a small tolerance
(``VALUE_DATE_TOLERANCE_DAYS``, default 1) for a sender whose clock or time zone is a little
ahead.  Credit data dates are checked by the scoring app's own rule (``scoring.services``),
with the same setting.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from .parties.identity import EARLIEST_DATE  # the borrower files' bound


def tolerance_days() -> int:
    return settings.VALUE_DATE_TOLERANCE_DAYS


def latest_value_date() -> datetime.date:
    """The latest date a value date may carry today."""
    return timezone.localdate() + datetime.timedelta(days=tolerance_days())


def _is_date(value, field: str) -> None:
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ValidationError({field: "Must be a date."})


def _not_in_future(value: datetime.date, field: str, what: str) -> None:
    latest = latest_value_date()
    if value > latest:
        raise ValidationError({field: f"{what} {value} is in the future; the latest accepted today is {latest}."})


def check_received_on(received_on: datetime.date, *, disbursed_on: datetime.date, field: str = "received_on") -> None:
    """A repayment arrives after the loan was paid out and not in the future."""
    _is_date(received_on, field)
    _not_in_future(received_on, field, "The repayment date")
    if received_on < disbursed_on:
        raise ValidationError({field: f"The repayment date {received_on} is before the loan was disbursed on {disbursed_on}."})


def check_disbursed_on(disbursed_on: datetime.date, *, opened_on: datetime.date, field: str = "disbursed_on") -> None:
    """A drawdown is paid out once its line is open and not in the future."""
    _is_date(disbursed_on, field)
    _not_in_future(disbursed_on, field, "The disbursal date")
    if disbursed_on < opened_on:
        raise ValidationError({field: f"The disbursal date {disbursed_on} is before the line opened on {opened_on}."})


def check_opened_on(opened_on: datetime.date, *, founded_on: datetime.date, field: str = "opened_on") -> None:
    """A line opens once its company exists and not in the future."""
    _is_date(opened_on, field)
    _not_in_future(opened_on, field, "The opening date")
    if opened_on < founded_on:
        raise ValidationError({field: f"The opening date {opened_on} is before the company was founded on {founded_on}."})


def check_founded_on(founded_on, *, field: str = "founded_on") -> None:
    """A company was founded on a real day: not later than today, not before 1900."""
    _is_date(founded_on, field)
    if founded_on > timezone.localdate():
        raise ValidationError({field: "Must not be in the future."})
    if founded_on < EARLIEST_DATE:
        raise ValidationError({field: f"Must not be before {EARLIEST_DATE}."})
