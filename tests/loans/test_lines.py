"""Drawdowns on credit lines, including two drawdowns racing for the last of a limit."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection

from loans.choices import CreditLineStatus
from loans.errors import DomainError, InvalidTransition, NotFound
from loans.models import CreditLine, Installment, Loan
from loans.services.lines import credit_line_close, credit_line_draw_down, credit_line_freeze, credit_line_unfreeze

from .conftest import TODAY

pytestmark = pytest.mark.django_db


def draw(line, amount="100000", term=12, on=TODAY, **kw):
    return credit_line_draw_down(credit_line_id=line.pk, amount=amount, term_months=term, disbursed_on=on, **kw)


def test_drawdown_creates_a_loan_with_its_schedule(make_line):
    # given
    line = make_line(amount="500000")
    # when
    loan = draw(line, "120000", 12)
    # then
    line.refresh_from_db()
    assert line.drawn_principal == Decimal("120000.00")
    assert line.available_amount == Decimal("380000.00")
    assert (loan.principal, loan.outstanding_principal, loan.annual_rate) == (Decimal("120000.00"), Decimal("120000.00"), line.annual_rate)
    rows = list(loan.installments.order_by("number"))
    assert len(rows) == 12
    assert sum(r.principal_due for r in rows) == Decimal("120000.00")
    assert rows[0].due_date == datetime.date(2026, 4, 2) and loan.maturity_date == datetime.date(2027, 3, 2)


def test_drawdown_query_count_is_pinned(make_line, django_assert_num_queries):
    line = make_line()
    # lock line, the company's latest score, its open blocking warnings (monitoring's guard),
    # update drawn, the line's change history, insert loan, bulk insert installments, the
    # ledger's tail and entry (after its advisory lock on PostgreSQL), savepoint pair
    with django_assert_num_queries(11 + (connection.vendor == "postgresql")):
        draw(line)


def test_drawdown_above_the_available_limit_is_refused_and_changes_nothing(make_line):
    line = make_line(amount="500000")
    draw(line, "450000")
    with pytest.raises(DomainError, match="exceeds the available limit of 50000.00") as exc:
        draw(line, "50000.01")
    assert exc.value.code == "limit_exceeded" and exc.value.field == "amount"
    line.refresh_from_db()
    assert line.drawn_principal == Decimal("450000.00")
    assert Loan.objects.count() == 1


def test_exactly_the_available_limit_can_be_drawn(make_line):
    line = make_line(amount="500000")
    draw(line, "500000")
    line.refresh_from_db()
    assert line.available_amount == 0


@pytest.mark.parametrize(("amount", "term", "field"), [("0", 12, "amount"), ("-1", 12, "amount"), ("100", 2, "term_months"), ("100", 37, "term_months")])
def test_bad_drawdown_input_names_the_field(make_line, amount, term, field):
    line = make_line()
    with pytest.raises(ValidationError) as exc:
        draw(line, amount, term)
    assert field in exc.value.message_dict
    assert Loan.objects.count() == 0


def test_an_expired_line_cannot_be_drawn(make_line, clock):
    line = make_line()
    clock(datetime.date(2027, 3, 3))
    with pytest.raises(DomainError, match="expired on 2027-03-02"):
        draw(line, on=datetime.date(2027, 3, 3))
    draw(line, on=datetime.date(2027, 3, 2))  # the last day still works


def test_a_frozen_line_cannot_be_drawn_until_unfrozen(make_line):
    line = make_line()
    credit_line_freeze(credit_line_id=line.pk)
    with pytest.raises(DomainError, match="is frozen"):
        draw(line)
    credit_line_unfreeze(credit_line_id=line.pk)
    draw(line)


def test_a_line_with_loans_cannot_be_closed_and_a_closed_line_is_final(make_line):
    line = make_line()
    draw(line)
    with pytest.raises(DomainError, match="active loans"):
        credit_line_close(credit_line_id=line.pk)
    other = make_line()
    credit_line_close(credit_line_id=other.pk)
    with pytest.raises(InvalidTransition):
        credit_line_unfreeze(credit_line_id=other.pk)
    assert CreditLine.objects.get(pk=other.pk).status == CreditLineStatus.CLOSED


def test_unknown_line(db):
    with pytest.raises(NotFound):
        credit_line_draw_down(credit_line_id=99999, amount="100", term_months=12)


def test_drawdown_is_idempotent_by_key(make_line):
    line = make_line()
    first = draw(line, idempotency_key="k-1")
    again = draw(line, idempotency_key="k-1")
    assert first.pk == again.pk
    with pytest.raises(DomainError, match="different drawdown"):
        draw(line, "1000", idempotency_key="k-1")
    line.refresh_from_db()
    assert line.drawn_principal == Decimal("100000.00")


def test_the_database_refuses_a_line_drawn_beyond_its_limit(make_line):
    from django.db import IntegrityError, transaction

    line = make_line(amount="500000")
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLine.objects.filter(pk=line.pk).update(drawn_principal=Decimal("500000.01"))


@pytest.mark.django_db(transaction=True)
def test_racing_drawdowns_never_exceed_the_limit(on_postgres, make_line):
    # given a 500,000 line and eight threads each drawing 100,000 at the same moment
    line = make_line(amount="500000")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def worker(n):
        try:
            barrier.wait()
            draw(line, "100000", idempotency_key=f"race-{n}")
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()
    # then exactly five fit; the others are refused with a clear error
    assert sorted(outcomes) == ["limit_exceeded"] * 3 + ["ok"] * 5
    line.refresh_from_db()
    assert line.drawn_principal == Decimal("500000.00")
    assert Loan.objects.filter(credit_line=line).count() == 5
    assert Installment.objects.filter(loan__credit_line=line).count() == 60
