"""New schedule versions of a loan: restructure, recall and write-off.

A loan's installments in force are those not superseded.  A new version marks the unpaid rows
in force ``superseded_on`` (they stay, with whatever was paid on them) and adds the new rows
with the next ``schedule_version``: no installment row is ever deleted.  What the superseded
rows still owed in interest and penalty is carried onto the first new row, so nothing owed
is lost and the installments' unpaid penalty still agrees with the loan's accrued penalty.

Each service locks the line, then the loan (the order every loan-book service uses), and
records the change in the ledger as its last write.
"""

from __future__ import annotations

import datetime
import math
from decimal import Decimal
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .. import events
from ..choices import Bucket, Classification, LoanStatus
from ..errors import DomainError, NotFound
from ..ledger_chain import LedgerKind
from ..models import CreditLine, Installment, Loan
from ..money import ZERO, money
from ..schedule import ScheduleError, add_months, restructure_schedule
from .ledger import ledger_append

DEFAULT_WATCH_MONTHS = 6
# Interest accrued between due dates counts days on an actual/360 basis (the daily rate is
# the annual rate / 360, as Chinese loan contracts state it).
DAY_COUNT_BASIS = 360


def _lock(loan_id: int) -> tuple[CreditLine, Loan]:
    line_id = Loan.objects.filter(pk=loan_id).values_list("credit_line_id", flat=True).first()
    if line_id is None:
        raise NotFound(f"Loan #{loan_id} does not exist.", field="loan_id")
    line = CreditLine.objects.select_for_update().get(pk=line_id)
    loan = Loan.objects.select_for_update().get(pk=loan_id)
    if loan.status != LoanStatus.ACTIVE or loan.outstanding_principal <= 0:
        raise DomainError(f"Loan #{loan.pk} is {loan.status}; only an active loan with principal outstanding can be changed.",
                          field="loan", code="loan_not_active")
    return line, loan


def loan_installments_in_force(loan_id: int):
    return Installment.objects.filter(loan_id=loan_id, superseded_on__isnull=True)


def recall_refusal(loan: Loan, on: datetime.date) -> DomainError | None:
    """Why a recall on ``on`` would change nothing: every installment in force is already due
    (recalled before, or matured).  None when something is still to fall due."""
    if loan_installments_in_force(loan.pk).filter(paid_on__isnull=True, due_date__gt=on).exists():
        return None
    return DomainError(f"Loan #{loan.pk}: everything outstanding is already due on {on} (recalled before, or matured); "
                       "a recall would change nothing.", field="loan", code="nothing_to_recall")


def _supersede(loan: Loan, on: datetime.date) -> tuple[int, Decimal, Decimal]:
    """Mark the unpaid rows in force superseded; returns (first number, their unpaid interest
    already due, the loan's whole unpaid penalty: what the rows carried and what servicing
    accrued since, so that the new rows' penalty agrees with the loan's)."""
    unpaid = list(loan_installments_in_force(loan.pk).filter(paid_on__isnull=True).order_by("number"))
    if not unpaid:
        raise DomainError(f"Loan #{loan.pk} has no unpaid installment to reschedule.", code="nothing_to_reschedule")
    arrears = sum((i.interest_due - i.interest_paid for i in unpaid if i.due_date <= on), ZERO)
    penalty = max(loan.penalty_accrued, sum((i.penalty_due - i.penalty_paid for i in unpaid), ZERO))
    Installment.objects.filter(pk__in=[i.pk for i in unpaid]).update(superseded_on=on)
    return unpaid[0].number, arrears, penalty


def _add_version(loan: Loan, rows, *, arrears: Decimal, penalty: Decimal) -> list[Installment]:
    version = loan.schedule_version + 1
    new = [
        Installment(loan=loan, number=r.number, due_date=r.due_date, principal_due=r.principal,
                    interest_due=r.interest, schedule_version=version)
        for r in rows
    ]
    new[0].interest_due += arrears
    new[0].penalty_due += penalty
    Installment.objects.bulk_create(new)
    loan.schedule_version = version
    return new


def _ledger(loan: Loan, change: str, payload: dict, actor) -> None:
    ledger_append(
        kind=LedgerKind.LOAN_STATUS_CHANGED, subject=loan,
        payload={"change": change, "company_id": loan.company_id, "credit_line_id": loan.credit_line_id,
                 "schedule_version": loan.schedule_version, "outstanding_principal": loan.outstanding_principal,
                 "actor_id": getattr(actor, "pk", None), **payload},
    )


def loan_restructure(
    *,
    loan_id: int,
    term_months: int,
    annual_rate,
    interest_only_months: int = 0,
    effective_on: datetime.date | None = None,
    watch_months: int = DEFAULT_WATCH_MONTHS,
    actor=None,
) -> Loan:
    """A new schedule for the outstanding principal (longer term, interest-only months, new
    rate) from ``effective_on``; the loan is marked restructured and watched for
    ``watch_months`` (at least special mention, whatever its DPD)."""
    effective_on = effective_on or timezone.localdate()
    try:
        annual_rate = Decimal(str(annual_rate))
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError({"annual_rate": "The new rate must be a decimal fraction (0.085 = 8.5 %)."}) from None
    with transaction.atomic():
        line, loan = _lock(loan_id)
        outstanding = loan.outstanding_principal
        try:
            start, arrears, penalty = _supersede(loan, effective_on)
            rows = restructure_schedule(
                outstanding_principal=outstanding, annual_rate=annual_rate, term_months=term_months,
                interest_only_months=interest_only_months, method=loan.repayment_method,
                first_due_date=add_months(effective_on, 1), start_number=start,
            )
        except ScheduleError as exc:
            raise ValidationError({exc.field: exc.message}) from None
        _add_version(loan, rows, arrears=arrears, penalty=penalty)
        loan.annual_rate = annual_rate
        loan.maturity_date = rows[-1].due_date
        loan.term_months = min(360, max(loan.term_months, term_months))
        loan.restructured_on = effective_on
        loan.watch_until = add_months(effective_on, watch_months)
        loan.days_past_due, loan.bucket = 0, Bucket.CURRENT
        if loan.classification == Classification.NORMAL:
            loan.classification = Classification.SPECIAL_MENTION
        loan.save()
        _ledger(loan, "restructured", {"term_months": term_months, "interest_only_months": interest_only_months,
                                       "annual_rate": annual_rate, "watch_until": loan.watch_until,
                                       "principal_rescheduled": sum((r.principal for r in rows), ZERO)}, actor)
        return loan


def accrued_interest(*, principal: Decimal, annual_rate: Decimal, since: datetime.date, on: datetime.date) -> Decimal:
    """Interest on ``principal`` for the days from ``since`` (exclusive) to ``on`` (inclusive)
    at the annual rate over DAY_COUNT_BASIS days, computed exactly and rounded half-up once to
    the fen; nothing when ``on`` is not after ``since``."""
    days = (on - since).days
    if days <= 0:
        return ZERO
    exact = Fraction(principal) * Fraction(annual_rate) * days / DAY_COUNT_BASIS
    cents = math.floor(exact * 100 + Fraction(1, 2))
    return money(Decimal(cents).scaleb(-2))


def _interest_since(loan: Loan, on: datetime.date) -> datetime.date:
    """The date interest last fell due on or before ``on``: the latest due date of the
    schedule in force (paid or not), else the disbursement, never before a restructure."""
    last_due = loan_installments_in_force(loan.pk).filter(due_date__lte=on).aggregate(d=Max("due_date"))["d"]
    since = last_due or loan.disbursed_on
    if loan.restructured_on and loan.restructured_on > since:
        since = loan.restructured_on
    return since


def loan_recall(*, loan_id: int, on: datetime.date | None = None, actor=None) -> Loan:
    """Everything outstanding falls due on ``on``: one installment of the whole outstanding
    principal plus the interest and penalty already due and unpaid, plus the interest accrued
    on the outstanding principal since the last due date (``accrued_interest``)."""
    on = on or timezone.localdate()
    with transaction.atomic():
        line, loan = _lock(loan_id)
        if (refusal := recall_refusal(loan, on)) is not None:
            raise refusal
        since = _interest_since(loan, on)
        accrued = accrued_interest(principal=loan.outstanding_principal, annual_rate=loan.annual_rate, since=since, on=on)
        start, arrears, penalty = _supersede(loan, on)
        row = Installment(loan=loan, number=start, due_date=on, principal_due=loan.outstanding_principal,
                          interest_due=ZERO, schedule_version=loan.schedule_version + 1)
        row.interest_due, row.penalty_due = money(arrears + accrued), penalty
        Installment.objects.bulk_create([row])
        loan.schedule_version += 1
        loan.maturity_date = max(on, loan.first_due_date)
        loan.save(update_fields=["schedule_version", "maturity_date", "updated_at"])
        _ledger(loan, "recalled", {"due_on": on, "amount_due": row.principal_due + row.interest_due + row.penalty_due,
                                   "interest_accrued": accrued, "interest_accrued_since": since}, actor)
        return loan


def loan_write_off(*, loan_id: int, on: datetime.date | None = None, actor=None) -> Loan:
    """Take the loan off the book: status written off, its principal no longer drawn on the
    line.  The installments stay as they are, as the record of what was owed."""
    on = on or timezone.localdate()
    with transaction.atomic():
        line, loan = _lock(loan_id)
        amount = loan.outstanding_principal
        loan.status = LoanStatus.WRITTEN_OFF
        loan.classification = Classification.LOSS
        loan.save(update_fields=["status", "classification", "updated_at"])
        line.drawn_principal = money(line.drawn_principal - amount)
        line.save(update_fields=["drawn_principal", "updated_at"])
        events.credit_line_changed.send(sender=CreditLine, credit_line=line, change="loan_written_off")
        _ledger(loan, "written_off", {"on": on, "principal_written_off": amount, "penalty_written_off": loan.penalty_accrued}, actor)
        return loan
