"""Repayments: allocation order, idempotency, overpayment, prepayment, closing a loan."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from loans.choices import Bucket, LoanStatus
from loans.errors import DomainError, NotFound
from loans.models import Installment, Repayment
from loans.services.lines import credit_line_draw_down
from loans.services.repayments import loan_repayment_record
from loans.services.servicing import loans_service_daily

from .conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(make_line):
    line = make_line(amount="500000")
    return credit_line_draw_down(credit_line_id=line.pk, amount="120000", term_months=12, disbursed_on=TODAY)


def pay(loan, amount, ref, on):
    return loan_repayment_record(loan_id=loan.pk, amount=amount, external_ref=ref, received_on=on)


def inst(loan, number):
    return Installment.objects.get(loan=loan, number=number)


def test_paying_the_first_installment_on_its_due_date(loan):
    # given
    first = inst(loan, 1)
    # when
    r = pay(loan, first.amount_due, "p1", first.due_date)
    # then
    first.refresh_from_db()
    loan.refresh_from_db()
    assert first.paid_on == first.due_date
    assert (r.penalty_part, r.interest_part, r.principal_part) == (Decimal("0.00"), first.interest_due, first.principal_due)
    assert loan.outstanding_principal == Decimal("120000.00") - first.principal_due
    assert loan.credit_line.drawn_principal == loan.outstanding_principal  # revolving: repaid principal is free again


def test_allocation_is_penalty_then_interest_then_principal_oldest_first(loan):
    # given two overdue installments with penalty accrued
    i1, i2 = inst(loan, 1), inst(loan, 2)
    on = i2.due_date + datetime.timedelta(days=5)
    loans_service_daily(as_of=on)
    loan.refresh_from_db()
    penalties = loan.penalty_accrued
    assert penalties > 0
    # when the borrower pays the penalties, both interests and 100.00 of principal
    amount = penalties + i1.interest_due + i2.interest_due + Decimal("100.00")
    r = pay(loan, amount, "p1", on)
    # then
    assert (r.penalty_part, r.interest_part, r.principal_part) == (penalties, i1.interest_due + i2.interest_due, Decimal("100.00"))
    i1.refresh_from_db()
    i2.refresh_from_db()
    assert i1.principal_paid == Decimal("100.00") and i2.principal_paid == 0  # the oldest first
    assert i1.interest_paid == i1.interest_due and i2.interest_paid == i2.interest_due
    assert i1.penalty_due == i1.penalty_paid == penalties  # charged to the oldest installment
    loan.refresh_from_db()
    assert loan.days_past_due == (on - i1.due_date).days and loan.penalty_accrued == 0


def test_catching_up_brings_the_loan_current(loan):
    i1 = inst(loan, 1)
    on = i1.due_date + datetime.timedelta(days=3)
    loans_service_daily(as_of=on)
    loan.refresh_from_db()
    assert loan.bucket == Bucket.M1
    i1.refresh_from_db()
    pay(loan, i1.amount_outstanding + loan.penalty_accrued, "catch-up", on)
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.bucket, loan.classification) == (0, "current", "normal")


def test_a_repayment_is_idempotent_by_external_ref(loan):
    first = pay(loan, "1000", "bank-123", TODAY + datetime.timedelta(days=40))
    again = pay(loan, "1000", "bank-123", TODAY + datetime.timedelta(days=40))
    assert again.pk == first.pk
    assert Repayment.objects.count() == 1
    with pytest.raises(DomainError, match="already recorded") as exc:
        pay(loan, "999", "bank-123", TODAY + datetime.timedelta(days=40))
    assert exc.value.code == "idempotency_conflict"


def test_an_overpayment_is_refused_and_changes_nothing(loan):
    # the pay-off today is the principal: nothing is due yet
    with pytest.raises(DomainError, match="more than the 120000.00 that repays") as exc:
        pay(loan, "120000.01", "too-much", TODAY + datetime.timedelta(days=1))
    assert exc.value.code == "overpayment"
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("120000.00")
    assert Repayment.objects.count() == 0


def test_a_prepayment_reduces_principal_and_reamortizes(loan):
    # given
    before = list(loan.installments.order_by("number"))
    on = before[0].due_date + datetime.timedelta(days=10)  # after installment 1, before 2
    # when installment 1 is paid together with 30,000.00 of extra principal
    pay(loan, before[0].amount_due + Decimal("30000.00"), "prepay", on)
    # then the schedule in force is a new version; the old rows are kept, superseded
    after = list(loan.installments.filter(superseded_on__isnull=True).order_by("number"))
    loan.refresh_from_db()
    assert loan.schedule_version == 2
    assert loan.installments.count() == 12 + 11
    assert loan.installments.filter(schedule_version=1, superseded_on=on).count() == 11
    remaining = Decimal("120000.00") - before[0].principal_due - Decimal("30000.00")
    assert loan.outstanding_principal == remaining
    assert [i.number for i in after] == list(range(1, 13))
    assert [i.due_date for i in after] == [i.due_date for i in before]
    future = after[1:]
    assert sum(i.principal_due for i in future) == remaining
    assert future[0].principal_due + future[0].interest_due < before[1].principal_due + before[1].interest_due
    assert loan.credit_line.drawn_principal == remaining


def test_paying_off_repays_the_loan_and_then_refuses_more(loan):
    on = TODAY + datetime.timedelta(days=10)
    pay(loan, "120000", "payoff", on)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID and loan.outstanding_principal == 0
    assert not loan.installments.filter(paid_on__isnull=True, superseded_on__isnull=True).exists()
    # a repaid loan keeps its schedule: the rows prepaid are superseded, not deleted
    assert loan.installments.count() == 12 and loan.installments.filter(superseded_on=on).count() == 12
    with pytest.raises(DomainError, match="is repaid; it takes no more repayments") as exc:
        pay(loan, "1", "late", on)
    assert exc.value.code == "loan_closed"


def test_a_loan_repaid_in_full_through_its_schedule(loan, clock):
    for i in list(loan.installments.order_by("number")):
        clock(i.due_date)
        pay(loan, i.amount_due, f"p{i.number}", i.due_date)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID
    assert loan.credit_line.drawn_principal == 0


@pytest.mark.parametrize(("amount", "ref", "field"), [("0", "x", "amount"), ("-3", "x", "amount"), ("1", "  ", "external_ref")])
def test_bad_repayment_input(loan, amount, ref, field):
    with pytest.raises(ValidationError) as exc:
        pay(loan, amount, ref, TODAY)
    assert field in exc.value.message_dict


def test_unknown_loan(db):
    with pytest.raises(NotFound):
        loan_repayment_record(loan_id=123456, amount="1", external_ref="x")


def test_repayment_query_count_is_pinned(loan, django_assert_num_queries):
    from django.db import connection

    # 16 for the repayment itself, the credit line's change history (its fields the lock left
    # deferred, its version), then its ledger entry: tail and insert (and the ledger's
    # advisory lock on PostgreSQL)
    with django_assert_num_queries(20 + (connection.vendor == "postgresql")):
        pay(loan, "1000", "q", TODAY + datetime.timedelta(days=40))
