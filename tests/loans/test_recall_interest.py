"""A recall charges the interest accrued on the outstanding principal since the last due date
(actual/360, exact, rounded half-up once to the fen), in the new schedule version."""

import datetime
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest

from loans.models import Installment, LedgerEntry, Loan
from loans.services.lines import credit_line_draw_down
from loans.services.repayments import loan_repayment_record
from loans.services.restructuring import accrued_interest, loan_recall
from tests.loans.conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "principal, rate, days, expected",
    [
        ("120000.00", "0.0850", 10, "283.33"),  # 120000 x 0.085 x 10 / 360 = 283.333...
        ("120000.00", "0.0850", 0, "0.00"),
        ("300.00", "0.09", 1, "0.08"),  # 0.075 exactly: half-up to the fen
        ("87654.32", "0.1234", 45, "1352.07"),  # 1352.0678... (87654.32 x 0.1234 x 45 / 360)
    ],
)
def test_accrued_interest_by_hand(principal, rate, days, expected):
    since = datetime.date(2026, 4, 2)
    got = accrued_interest(principal=Decimal(principal), annual_rate=Decimal(rate), since=since,
                           on=since + datetime.timedelta(days=days))
    assert got == Decimal(expected) and got.as_tuple().exponent == -2


@pytest.fixture
def loan(make_line, officer):
    line = make_line(amount="500000")
    loan = credit_line_draw_down(credit_line_id=line.pk, amount="120000", term_months=12, disbursed_on=TODAY, actor=officer)
    Loan.objects.filter(pk=loan.pk).update(annual_rate=Decimal("0.0850"))  # a round rate for the hand computation
    return Loan.objects.get(pk=loan.pk)


def test_a_recall_before_the_first_due_date_charges_interest_since_the_disbursement(loan):
    # given: drawn 2026-03-02, recalled 20 days later, before the first due date
    on = TODAY + datetime.timedelta(days=20)
    assert loan.first_due_date > on
    # when
    loan_recall(loan_id=loan.pk, on=on)
    # then: 120000.00 x 0.085 x 20 / 360 = 566.666... -> 566.67, nothing else due yet
    (row,) = Installment.objects.filter(loan=loan, superseded_on__isnull=True)
    assert (row.due_date, row.principal_due, row.interest_due, row.schedule_version) == (
        on, Decimal("120000.00"), Decimal("566.67"), 2)
    entry = json.loads(LedgerEntry.objects.filter(kind="loan.status_changed").order_by("-seq").first().payload)
    assert (entry["change"], entry["interest_accrued"], entry["interest_accrued_since"]) == (
        "recalled", "566.67", TODAY.isoformat())


def test_a_recall_after_an_unpaid_due_date_adds_the_days_since_it_to_the_interest_in_arrears(loan):
    # given: the first installment fell due and is unpaid; recall 10 days after it
    first = Installment.objects.get(loan=loan, number=1)
    on = first.due_date + datetime.timedelta(days=10)
    # when
    loan_recall(loan_id=loan.pk, on=on)
    # then: its interest (in arrears) + 120000.00 x 0.085 x 10 / 360 = 283.33
    (row,) = Installment.objects.filter(loan=loan, superseded_on__isnull=True)
    assert row.interest_due == first.interest_due + Decimal("283.33")
    assert row.principal_due == Decimal("120000.00")
    # and every row of the first version is still there
    assert Installment.objects.filter(loan=loan, schedule_version=1).count() == 12


def test_a_recall_after_a_paid_due_date_charges_the_remaining_principal_since_that_date(loan, officer):
    # given: the first installment paid on its due date; recall 15 days later
    first = Installment.objects.get(loan=loan, number=1)
    due = first.principal_due + first.interest_due
    loan_repayment_record(loan_id=loan.pk, amount=str(due), received_on=first.due_date, external_ref="r-1", actor=officer)
    loan.refresh_from_db()
    left = loan.outstanding_principal
    assert left == Decimal("120000.00") - first.principal_due
    on = first.due_date + datetime.timedelta(days=15)
    # when
    loan_recall(loan_id=loan.pk, on=on)
    # then: nothing in arrears; the remaining principal's 15 days at 8.5 % / 360
    (row,) = Installment.objects.filter(loan=loan, superseded_on__isnull=True, paid_on__isnull=True)
    expected = (left * Decimal("0.085") * 15 / 360).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert row.interest_due == expected and row.principal_due == left


def test_a_second_recall_is_refused_and_changes_nothing(loan):
    # given: a loan recalled once (everything outstanding due on that day)
    on = TODAY + datetime.timedelta(days=20)
    loan_recall(loan_id=loan.pk, on=on)
    loan.refresh_from_db()
    rows, entries = Installment.objects.filter(loan=loan).count(), LedgerEntry.objects.count()
    # when / then: a second recall is refused with its reason, and nothing is written
    from loans.errors import DomainError

    with pytest.raises(DomainError, match="already due") as refused:
        loan_recall(loan_id=loan.pk, on=on + datetime.timedelta(days=3))
    assert refused.value.code == "nothing_to_recall"
    assert Loan.objects.get(pk=loan.pk).schedule_version == loan.schedule_version
    assert (Installment.objects.filter(loan=loan).count(), LedgerEntry.objects.count()) == (rows, entries)


def test_a_recall_action_on_a_recalled_loan_is_refused_when_proposed(loan):
    from loans.errors import DomainError
    from monitoring.actions import validate_terms
    from monitoring.models import ActionKind

    on = TODAY + datetime.timedelta(days=20)
    loan_recall(loan_id=loan.pk, on=on)
    loan.refresh_from_db()
    with pytest.raises(DomainError, match="a recall would change nothing"):
        validate_terms(kind=ActionKind.RECALL, line=loan.credit_line, loan=loan, params={}, on=on)
