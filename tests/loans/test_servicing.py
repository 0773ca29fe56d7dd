"""Daily servicing: DPD, penalty, every bucket and category boundary, idempotent re-runs."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from loans.models import DEFAULT_POLICY, Installment, Loan
from loans.pricing import PolicySnapshot
from loans.services.lines import credit_line_draw_down
from loans.services.servicing import bucket_for, classification_for, days_past_due, loans_service_daily, servicing_as_of
from loans.tasks import run_daily_servicing

from .conftest import TODAY

POLICY = PolicySnapshot.from_values(
    version=1, **{k: v for k, v in DEFAULT_POLICY.items()}
)


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [(0, "current"), (1, "m1"), (30, "m1"), (31, "m2"), (60, "m2"), (61, "m3"), (90, "m3"), (91, "m3_plus"), (400, "m3_plus")],
)
def test_bucket_boundaries(dpd, bucket):
    assert bucket_for(dpd) == bucket


@pytest.mark.parametrize(
    ("dpd", "category"),
    [
        (0, "normal"), (1, "special_mention"), (90, "special_mention"), (91, "substandard"),
        (180, "substandard"), (181, "doubtful"), (360, "doubtful"), (361, "loss"),
    ],
)
def test_five_category_boundaries(dpd, category):
    assert classification_for(dpd, POLICY) == category


@pytest.fixture
def loan(make_line):
    line = make_line(amount="500000")
    return credit_line_draw_down(credit_line_id=line.pk, amount="120000", term_months=12, disbursed_on=TODAY)


def state(loan):
    loan.refresh_from_db()
    return loan.days_past_due, loan.bucket, loan.classification


@pytest.mark.django_db
def test_a_loan_ages_through_the_buckets(loan):
    first_due = loan.first_due_date  # 2026-04-02
    loans_service_daily(as_of=first_due)
    assert state(loan) == (0, "current", "normal")  # due today is not overdue yet
    for dpd, bucket, category in [
        (1, "m1", "special_mention"), (30, "m1", "special_mention"), (31, "m2", "special_mention"),
        (60, "m2", "special_mention"), (61, "m3", "special_mention"), (90, "m3", "special_mention"),
        (91, "m3_plus", "substandard"), (181, "m3_plus", "doubtful"), (361, "m3_plus", "loss"),
    ]:
        loans_service_daily(as_of=first_due + datetime.timedelta(days=dpd))
        assert state(loan) == (dpd, bucket, category)


@pytest.mark.django_db
def test_penalty_accrues_daily_on_overdue_principal_and_reruns_change_nothing(loan):
    # given
    i1 = Installment.objects.get(loan=loan, number=1)
    day1 = i1.due_date + datetime.timedelta(days=1)
    # when
    loans_service_daily(as_of=i1.due_date)  # due today: no penalty yet
    loans_service_daily(as_of=day1)
    loans_service_daily(as_of=day1)  # a re-run of the same day
    # then one day of penalty on the overdue principal only
    loan.refresh_from_db()
    one_day = (i1.principal_due * Decimal("0.0005")).quantize(Decimal("0.01"))
    assert loan.penalty_accrued == one_day
    # when servicing resumes four days later, the missed days are counted too
    loans_service_daily(as_of=day1 + datetime.timedelta(days=4))
    loan.refresh_from_db()
    assert loan.penalty_accrued == one_day + (i1.principal_due * Decimal("0.0005") * 4).quantize(Decimal("0.01"))


@pytest.mark.django_db
def test_penalty_runs_on_every_overdue_installment(loan):
    i1, i2 = Installment.objects.get(loan=loan, number=1), Installment.objects.get(loan=loan, number=2)
    on = i2.due_date + datetime.timedelta(days=2)
    loans_service_daily(as_of=on)
    loan.refresh_from_db()
    days1, days2 = (on - i1.due_date).days, 2
    expected = ((i1.principal_due * days1 + i2.principal_due * days2) * Decimal("0.0005")).quantize(Decimal("0.01"))
    assert loan.penalty_accrued == expected


@pytest.mark.django_db
def test_the_penalty_rate_comes_from_the_policy(loan):
    from loans.services.policy import credit_policy_publish

    credit_policy_publish(changes={"penalty_daily_rate": Decimal("0.001")})
    i1 = Installment.objects.get(loan=loan, number=1)
    loans_service_daily(as_of=i1.due_date + datetime.timedelta(days=1))
    loan.refresh_from_db()
    assert loan.penalty_accrued == (i1.principal_due * Decimal("0.001")).quantize(Decimal("0.01"))


@pytest.mark.django_db
def test_run_daily_command_and_task(loan):
    out = StringIO()
    call_command("run_daily", "--as-of", str(loan.first_due_date + datetime.timedelta(days=31)), stdout=out)
    assert "loans_serviced: 1" in out.getvalue()
    assert state(loan)[:2] == (31, "m2")
    result = run_daily_servicing.delay(str(loan.first_due_date + datetime.timedelta(days=61))).get()
    assert result["loans_serviced"] == 1
    assert state(loan)[:2] == (61, "m3")


@pytest.mark.django_db
def test_servicing_is_set_based(loan, make_line, django_assert_max_num_queries):
    # given many loans
    line = make_line(amount="900000")
    for _ in range(20):
        credit_line_draw_down(credit_line_id=line.pk, amount="10000", term_months=6, disbursed_on=TODAY)
    # when / then the number of statements does not grow with the book
    with django_assert_max_num_queries(6):
        result = loans_service_daily(as_of=TODAY + datetime.timedelta(days=100))
    assert result.loans_serviced == 21
    assert set(Loan.objects.values_list("bucket", flat=True)) == {"m3"}


# --- one definition: DPD, grade, the as-of date; the two paths agree -------------------------


@pytest.mark.parametrize(
    ("oldest", "dpd"),
    [(None, 0), (TODAY, 0), (TODAY + datetime.timedelta(days=3), 0), (TODAY - datetime.timedelta(days=1), 1),
     (TODAY - datetime.timedelta(days=91), 91)],
)
def test_days_past_due_counts_from_the_day_after_the_due_date(oldest, dpd):
    assert days_past_due(oldest, TODAY) == dpd


def test_servicing_closes_the_nightly_runs_day():
    from monitoring.services import nightly_as_of

    assert servicing_as_of() == nightly_as_of()


@pytest.mark.django_db
def test_run_daily_without_a_date_services_the_nightly_runs_day(loan):
    out = StringIO()
    call_command("run_daily", stdout=out)
    assert f"as_of: {servicing_as_of()}" in out.getvalue()
    assert run_daily_servicing.delay().get()["as_of"] == servicing_as_of().isoformat()


@pytest.mark.django_db
def test_the_sql_and_python_paths_write_the_same_rows(on_postgres, loan, make_line):
    """SQLite runs the Python path, PostgreSQL the one statement: on one book, both write the
    same DPD, penalty, bucket and category for every loan."""
    from django.db import transaction

    from loans.services.policy import credit_policy_active, policy_snapshot
    from loans.services.repayments import loan_repayment_record
    from loans.services.restructuring import loan_restructure
    from loans.services.servicing import _service_python, _service_sql

    line = make_line(amount="900000")
    loans = [loan] + [
        credit_line_draw_down(credit_line_id=line.pk, amount=str(10000 * (i + 1)), term_months=6, disbursed_on=TODAY)
        for i in range(6)
    ]
    # part-paid, paid on time, serviced once already, restructured (watched): every branch
    first = Installment.objects.get(loan=loans[1], number=1)
    loan_repayment_record(loan_id=loans[1].pk, amount=first.principal_due / 2, external_ref="half", received_on=first.due_date)
    second = Installment.objects.get(loan=loans[2], number=1)
    loan_repayment_record(loan_id=loans[2].pk, amount=second.amount_due, external_ref="full", received_on=second.due_date)
    loans_service_daily(as_of=first.due_date + datetime.timedelta(days=5))
    loan_restructure(loan_id=loans[3].pk, term_months=12, annual_rate=loans[3].annual_rate,
                     effective_on=first.due_date + datetime.timedelta(days=6))
    policy = policy_snapshot(credit_policy_active())
    fields = ("pk", "days_past_due", "penalty_accrued", "bucket", "classification", "m3_plus_since", "serviced_on")
    results = []
    for on in (first.due_date + datetime.timedelta(days=40), first.due_date + datetime.timedelta(days=95)):
        for path in (_service_python, _service_sql):
            with pytest.raises(_Rollback), transaction.atomic():
                worsened = sorted(path(on, policy)[2])
                results.append((worsened, list(Loan.objects.order_by("pk").values_list(*fields))))
                raise _Rollback
        assert results[-2] == results[-1], on
        assert len({row[3] for row in results[-1][1]}) > 1  # loans in different buckets


class _Rollback(Exception):
    pass
@pytest.mark.django_db
def test_the_day_a_loan_went_m3_plus_is_kept_after_it_cures(loan):
    from loans.services.repayments import loan_repayment_record

    # given: servicing that skips days (a loan last serviced at 50 DPD, next at 120 DPD)
    first_due = loan.first_due_date
    loans_service_daily(as_of=first_due + datetime.timedelta(days=50))
    loan.refresh_from_db()
    assert loan.m3_plus_since is None
    day = first_due + datetime.timedelta(days=120)
    loans_service_daily(as_of=day)
    loan.refresh_from_db()
    # then: the day it passed 90 days, not the day servicing noticed
    assert loan.bucket == "m3_plus" and loan.m3_plus_since == first_due + datetime.timedelta(days=91)
    # when: the borrower pays everything overdue and the loan cures
    overdue = Installment.objects.filter(loan=loan, due_date__lt=day, paid_on__isnull=True, superseded_on__isnull=True)
    owed = sum((i.principal_due - i.principal_paid + i.interest_due - i.interest_paid + i.penalty_due - i.penalty_paid
                for i in overdue), Decimal("0")) + loan.penalty_accrued
    loan_repayment_record(loan_id=loan.pk, amount=owed, external_ref="cure-1", received_on=day)
    loans_service_daily(as_of=day + datetime.timedelta(days=1))
    loan.refresh_from_db()
    # then: current again, and the crossing stays on record
    assert (loan.days_past_due, loan.bucket) == (0, "current")
    assert loan.m3_plus_since == first_due + datetime.timedelta(days=91)


@pytest.mark.django_db
def test_an_installment_due_before_disbursal_does_not_fail_servicing(loan):
    # given: bad data, an installment recorded as due 200 days before the loan was disbursed
    Installment.objects.filter(loan=loan, number=1).update(due_date=loan.disbursed_on - datetime.timedelta(days=200))
    # when
    loans_service_daily(as_of=loan.disbursed_on + datetime.timedelta(days=10))
    # then: M3+ from the day after disbursal, not before it (the constraint holds)
    loan.refresh_from_db()
    assert loan.bucket == "m3_plus" and loan.m3_plus_since == loan.disbursed_on + datetime.timedelta(days=1)
