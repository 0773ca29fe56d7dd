"""Post-loan actions: every kind from proposal to effect, maker-checker, committee, bad input."""

import datetime
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError

from loans.api import signing, webhook_addresses
from loans.api.models import WebhookDelivery, WebhookEndpoint
from loans.api.webhooks import delivery_attempt
from loans.choices import Classification, CreditLineStatus, LoanStatus
from loans.errors import DomainError, InvalidTransition
from loans.models import Collateral, CreditLine, Installment, LedgerEntry, Loan
from loans.services.lines import credit_line_close, credit_line_draw_down
from loans.services.repayments import loan_repayment_record
from monitoring.actions import (
    post_loan_action_approve,
    post_loan_action_committee_decide,
    post_loan_action_execute,
    post_loan_action_meet,
    post_loan_action_propose,
    post_loan_action_reject,
)
from monitoring.models import ActionStatus, PostLoanAction
from tests.factories import PartnerFactory
from tests.loans.conftest import TODAY, checker, company, make_line, officer, product  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(make_line):  # noqa: F811
    return make_line(amount="500000")


@pytest.fixture
def loan(line, officer):  # noqa: F811
    return credit_line_draw_down(credit_line_id=line.pk, amount="120000", term_months=12, disbursed_on=TODAY, actor=officer)


def approved(kind, officer, checker, **kw):  # noqa: F811
    action = post_loan_action_propose(kind=kind, actor=officer, on=TODAY, **kw)
    return post_loan_action_approve(action_id=action.pk, actor=checker)


def state(*objs):
    return [type(o).objects.filter(pk=o.pk).values().get() for o in objs]


def test_reduce_limit_goes_through_maker_checker_then_changes_the_line_with_ledger_and_webhooks(line, loan, officer, checker):  # noqa: F811
    # given a partner endpoint
    partner = PartnerFactory()
    CreditLine.objects.filter(pk=line.pk).update(partner=partner)
    Loan.objects.filter(pk=loan.pk).update(partner=partner)
    endpoint = WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example.com/in")
    ledger_before = LedgerEntry.objects.count()
    # when proposed (30 % cut), approved by another person, executed
    action = post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"percent": "30"}, reason="score fell", actor=officer, on=TODAY)
    assert action.status == ActionStatus.PROPOSED and not action.needs_committee
    assert action.params["new_limit"] == "350000.00"
    post_loan_action_approve(action_id=action.pk, actor=checker)
    done = post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    # then
    line.refresh_from_db()
    assert line.limit_amount == Decimal("350000.00")
    assert done.status == ActionStatus.EXECUTED and done.executed_by == checker and done.executed_at
    kinds = list(LedgerEntry.objects.filter(seq__gt=ledger_before).order_by("seq").values_list("kind", "subject_type"))
    assert kinds == [("credit_line.limit_changed", "loans.creditline"), ("post_loan_action.executed", "monitoring.postloanaction")]
    events = sorted(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert events == ["credit_line.changed", "post_loan_action.executed"]
    # and the webhook arrives signed with the endpoint's secret
    sent = {}

    def fake_post(url, *, body, headers, timeout):
        sent.update(body=body, headers=headers)
        return 200

    delivery = WebhookDelivery.objects.get(event_type="post_loan_action.executed")
    original = webhook_addresses.webhook_post
    webhook_addresses.webhook_post = fake_post
    try:
        assert delivery_attempt(delivery.pk)
    finally:
        webhook_addresses.webhook_post = original
    signing.verify(sent["body"], sent["headers"][signing.HEADER], endpoint.secret)
    data = json.loads(sent["body"])["data"]
    assert data["id"] == action.pk and data["kind"] == "reduce_limit" and data["status"] == "executed"


def test_the_maker_cannot_approve_their_own_action_and_a_second_approval_is_refused(line, officer, checker):  # noqa: F811
    action = post_loan_action_propose(kind="freeze_line", credit_line_id=line.pk, actor=officer, on=TODAY)
    with pytest.raises(DomainError, match="someone else must approve") as exc:
        post_loan_action_approve(action_id=action.pk, actor=officer)
    assert exc.value.code == "maker_checker"
    assert PostLoanAction.objects.get(pk=action.pk).status == ActionStatus.PROPOSED
    post_loan_action_approve(action_id=action.pk, actor=checker)
    before = state(PostLoanAction.objects.get(pk=action.pk))
    with pytest.raises(InvalidTransition, match="already Approved"):
        post_loan_action_approve(action_id=action.pk, actor=checker)
    assert state(PostLoanAction.objects.get(pk=action.pk)) == before


def test_the_database_refuses_an_approver_who_proposed(line, officer):  # noqa: F811
    from django.db import IntegrityError, transaction

    action = post_loan_action_propose(kind="freeze_line", credit_line_id=line.pk, actor=officer, on=TODAY)
    with pytest.raises(IntegrityError, match="pla_approver_not_proposer"), transaction.atomic():
        PostLoanAction.objects.filter(pk=action.pk).update(approved_by=officer)


def test_a_cut_below_the_drawn_balance_or_negative_is_refused_and_nothing_changes(line, loan, officer):  # noqa: F811
    before = state(CreditLine.objects.get(pk=line.pk))
    with pytest.raises(ValidationError) as exc:
        post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"new_limit": "100000"}, actor=officer, on=TODAY)
    assert "below the drawn balance 120000.00" in str(exc.value.message_dict["params.new_limit"])
    with pytest.raises(ValidationError) as exc:
        post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"new_limit": "-1"}, actor=officer, on=TODAY)
    assert "cannot be negative" in str(exc.value.message_dict["params.new_limit"])
    assert not PostLoanAction.objects.exists()
    assert state(CreditLine.objects.get(pk=line.pk)) == before


def test_a_cut_approved_then_overtaken_by_a_drawdown_is_refused_at_execution(line, officer, checker):  # noqa: F811
    action = approved("reduce_limit", officer, checker, credit_line_id=line.pk, params={"new_limit": "300000"})
    credit_line_draw_down(credit_line_id=line.pk, amount="400000", term_months=12, disbursed_on=TODAY)
    with pytest.raises(ValidationError, match="below the drawn balance 400000.00"):
        post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    line.refresh_from_db()
    assert line.limit_amount == Decimal("500000.00")
    assert PostLoanAction.objects.get(pk=action.pk).status == ActionStatus.APPROVED


def test_a_cut_above_half_waits_for_the_committee(line, officer, checker):  # noqa: F811
    action = post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"percent": "60"}, actor=officer, on=TODAY)
    assert action.status == ActionStatus.PENDING_COMMITTEE and action.needs_committee
    with pytest.raises(InvalidTransition, match="credit committee"):
        post_loan_action_approve(action_id=action.pk, actor=checker)
    post_loan_action_committee_decide(action_id=action.pk, approved=True, actor=checker, reason="votes 3-0")
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    line.refresh_from_db()
    assert line.limit_amount == Decimal("200000.00")


def test_an_action_on_a_closed_line_is_refused(line, officer):  # noqa: F811
    credit_line_close(credit_line_id=line.pk)
    with pytest.raises(DomainError, match="is closed") as exc:
        post_loan_action_propose(kind="require_collateral", credit_line_id=line.pk, params={"amount_needed": "1000", "due_date": "2026-06-01"}, actor=officer, on=TODAY)
    assert exc.value.code == "line_closed"
    assert not PostLoanAction.objects.exists()


def test_freeze_then_the_frozen_line_refuses_a_drawdown_and_unfreeze_restores_it(line, officer, checker):  # noqa: F811
    action = approved("freeze_line", officer, checker, credit_line_id=line.pk)
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    line.refresh_from_db()
    assert line.status == CreditLineStatus.FROZEN
    with pytest.raises(DomainError, match="only an active line can be drawn"):
        credit_line_draw_down(credit_line_id=line.pk, amount="1000", term_months=12, disbursed_on=TODAY)
    unfreeze = approved("unfreeze_line", officer, checker, credit_line_id=line.pk)
    post_loan_action_execute(action_id=unfreeze.pk, actor=checker, on=TODAY)
    line.refresh_from_db()
    assert line.status == CreditLineStatus.ACTIVE


def test_increase_limit_within_the_product_maximum(line, officer, checker):  # noqa: F811
    with pytest.raises(ValidationError, match="product's maximum"):
        post_loan_action_propose(kind="increase_limit", credit_line_id=line.pk, params={"new_limit": "99000000"}, actor=officer, on=TODAY)
    action = approved("increase_limit", officer, checker, credit_line_id=line.pk, params={"new_limit": "600000"})
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    line.refresh_from_db()
    assert line.limit_amount == Decimal("600000.00")


def test_require_collateral_is_met_by_a_pledge_worth_enough(line, officer, checker):  # noqa: F811
    action = approved("require_collateral", officer, checker, credit_line_id=line.pk,
                      params={"amount_needed": "50000", "due_date": "2026-06-01"})
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    small = Collateral.objects.create(owner=line.company, kind="equipment", description="van", appraised_value="10000", valued_on=TODAY, credit_line=line)
    with pytest.raises(ValidationError, match="50000.00 is needed"):
        post_loan_action_meet(action_id=action.pk, collateral_id=small.pk)
    big = Collateral.objects.create(owner=line.company, kind="equipment", description="lathe", appraised_value="100000", valued_on=TODAY, credit_line=line)
    met = post_loan_action_meet(action_id=action.pk, collateral_id=big.pk)
    assert met.status == ActionStatus.MET and met.met_by_collateral == big


def test_add_guarantee_needs_a_due_date_and_value(line, officer):  # noqa: F811
    with pytest.raises(ValidationError) as exc:
        post_loan_action_propose(kind="add_guarantee", credit_line_id=line.pk, params={"amount_needed": "5000"}, actor=officer, on=TODAY)
    assert "params.due_date" in exc.value.message_dict


def test_restructure_preserves_principal_to_the_fen_keeps_history_and_watches_the_loan(loan, officer, checker):  # noqa: F811
    # given the first installment paid
    first = loan.installments.order_by("number").first()
    loan_repayment_record(loan_id=loan.pk, amount=first.amount_due, external_ref="b-1", received_on=first.due_date)
    loan.refresh_from_db()
    outstanding = loan.outstanding_principal
    on = first.due_date + datetime.timedelta(days=3)
    # when restructured: 24 months, 3 interest-only, 6 %
    action = post_loan_action_propose(kind="restructure", loan_id=loan.pk, actor=officer, on=on,
                                      params={"term_months": 24, "interest_only_months": 3, "annual_rate": "0.06"})
    assert action.status == ActionStatus.PENDING_COMMITTEE
    post_loan_action_committee_decide(action_id=action.pk, approved=True, actor=checker)
    post_loan_action_execute(action_id=action.pk, actor=checker, on=on)
    # then
    loan.refresh_from_db()
    in_force = list(Installment.objects.filter(loan=loan, superseded_on__isnull=True, schedule_version=2).order_by("number"))
    assert len(in_force) == 24
    assert sum(i.principal_due for i in in_force) == outstanding  # to the fen
    assert [i.principal_due for i in in_force[:3]] == [Decimal("0.00")] * 3
    assert loan.annual_rate == Decimal("0.060000") and loan.schedule_version == 2
    assert loan.restructured_on == on and loan.watch_until == datetime.date(2026, 10, 5)
    assert loan.classification == Classification.SPECIAL_MENTION
    assert Installment.objects.filter(loan=loan).count() == 12 + 24  # nothing deleted
    assert Installment.objects.filter(loan=loan, superseded_on=on).count() == 11


def test_the_watch_period_keeps_a_current_restructured_loan_special_mention(loan, officer, checker):  # noqa: F811
    from loans.services.servicing import loans_service_daily

    action = post_loan_action_propose(kind="restructure", loan_id=loan.pk, actor=officer, on=TODAY, params={"term_months": 18})
    post_loan_action_committee_decide(action_id=action.pk, approved=True, actor=checker)
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    loans_service_daily(as_of=TODAY + datetime.timedelta(days=5))
    loan.refresh_from_db()
    assert loan.days_past_due == 0 and loan.classification == Classification.SPECIAL_MENTION


def test_restructure_of_a_repaid_loan_is_refused(loan, officer):  # noqa: F811
    loan_repayment_record(loan_id=loan.pk, amount="120000", external_ref="payoff", received_on=TODAY + datetime.timedelta(days=1))
    with pytest.raises(DomainError, match="needs an active loan") as exc:
        post_loan_action_propose(kind="restructure", loan_id=loan.pk, params={"term_months": 24}, actor=officer, on=TODAY)
    assert exc.value.code == "loan_not_active"
    assert not PostLoanAction.objects.exists()


def test_recall_makes_everything_due_now_and_freezes_the_line(loan, officer, checker):  # noqa: F811
    on = TODAY + datetime.timedelta(days=40)
    action = post_loan_action_propose(kind="recall", loan_id=loan.pk, actor=officer, on=on)
    post_loan_action_committee_decide(action_id=action.pk, approved=True, actor=checker)
    post_loan_action_execute(action_id=action.pk, actor=checker, on=on)
    loan.refresh_from_db()
    (row,) = Installment.objects.filter(loan=loan, superseded_on__isnull=True)
    first = Installment.objects.get(loan=loan, schedule_version=1, number=1)
    assert row.due_date == on and row.principal_due == Decimal("120000.00")
    # the interest already due and unpaid, and 9 days' accrued on 120000.00 since its due date (2 to 11 April)
    assert (on - first.due_date).days == 9
    accrued = (Decimal("120000.00") * loan.annual_rate * 9 / 360).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert row.interest_due == first.interest_due + accrued
    assert loan.credit_line.status == CreditLineStatus.FROZEN


def test_write_off_takes_the_loan_off_the_line(loan, officer, checker):  # noqa: F811
    action = post_loan_action_propose(kind="write_off", loan_id=loan.pk, actor=officer, on=TODAY)
    post_loan_action_committee_decide(action_id=action.pk, approved=True, actor=checker)
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.WRITTEN_OFF and loan.classification == Classification.LOSS
    assert loan.credit_line.drawn_principal == Decimal("0.00") and loan.credit_line.status == CreditLineStatus.FROZEN


def test_a_rejected_action_cannot_be_executed(line, officer, checker):  # noqa: F811
    action = post_loan_action_propose(kind="freeze_line", credit_line_id=line.pk, actor=officer, on=TODAY)
    post_loan_action_reject(action_id=action.pk, actor=checker, note="not needed")
    with pytest.raises(InvalidTransition, match="only an approved action"):
        post_loan_action_execute(action_id=action.pk, actor=checker)
    line.refresh_from_db()
    assert line.status == CreditLineStatus.ACTIVE


def test_after_a_restructure_the_installments_penalty_agrees_with_the_loans(loan, officer, checker, clock):  # noqa: F811
    from loans.services.servicing import loans_service_daily

    # given the first installment 20 days overdue, penalty accrued on the loan by servicing
    first = loan.installments.order_by("number").first()
    late = first.due_date + datetime.timedelta(days=20)
    clock(late)
    loans_service_daily(as_of=late)
    loan.refresh_from_db()
    assert loan.penalty_accrued > 0 and loan.classification == Classification.SPECIAL_MENTION
    # when restructured
    action = post_loan_action_propose(kind="restructure", loan_id=loan.pk, actor=officer, on=late, params={"term_months": 24})
    post_loan_action_committee_decide(action_id=action.pk, approved=True, actor=checker)
    post_loan_action_execute(action_id=action.pk, actor=checker, on=late)
    # then the penalty on the rows in force is the loan's, and the overdue interest is carried
    loan.refresh_from_db()
    in_force = Installment.objects.filter(loan=loan, superseded_on__isnull=True)
    assert sum(i.penalty_due - i.penalty_paid for i in in_force) == loan.penalty_accrued
    new_first = in_force.order_by("number").first()
    assert new_first.interest_due > first.interest_due  # its own month plus the arrears
    assert loan.days_past_due == 0 and loan.classification == Classification.SPECIAL_MENTION
    # and a repayment of the first new installment settles the penalty on both
    clock(new_first.due_date)
    loan_repayment_record(loan_id=loan.pk, amount=new_first.amount_due, external_ref="r-1", received_on=new_first.due_date)
    loan.refresh_from_db()
    assert loan.penalty_accrued == sum(i.penalty_due - i.penalty_paid for i in Installment.objects.filter(loan=loan, superseded_on__isnull=True)) == 0


def test_the_ledger_tells_the_story_of_a_line(line, officer, checker):  # noqa: F811
    # given a drawdown, a repayment and a limit cut
    seq = LedgerEntry.objects.count()
    loan = credit_line_draw_down(credit_line_id=line.pk, amount="100000", term_months=12, disbursed_on=TODAY, actor=officer)
    first = loan.installments.order_by("number").first()
    loan_repayment_record(loan_id=loan.pk, amount=first.amount_due, external_ref="r-1", received_on=first.due_date)
    action = approved("reduce_limit", officer, checker, credit_line_id=line.pk, params={"new_limit": "300000"})
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    # then each is an entry, in order
    kinds = list(LedgerEntry.objects.filter(seq__gt=seq).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["drawdown", "repayment", "credit_line.limit_changed", "post_loan_action.executed"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_refusal_names_the_action_in_words_without_another_query(line, officer, checker, language):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import translation

    from monitoring.actions import post_loan_action_cancel

    # given: a freeze proposed by the officer, and one already rejected
    action = post_loan_action_propose(kind="freeze_line", credit_line_id=line.pk, actor=officer, on=TODAY)
    rejected = post_loan_action_propose(kind="freeze_line", credit_line_id=line.pk, actor=officer, on=TODAY)
    post_loan_action_reject(action_id=rejected.pk, actor=checker, note="not needed")
    with translation.override(language):
        name = f"{'冻结额度' if language == 'zh-hans' else 'Freeze line'} — {line.company.legal_name}"
        where = f"{'授信额度' if language == 'zh-hans' else 'credit line'} #{line.pk}"
        # when: the maker approves their own, and someone executes or cancels the rejected one
        with pytest.raises(DomainError) as own, CaptureQueriesContext(connection) as reads:
            post_loan_action_approve(action_id=action.pk, actor=officer)
        with pytest.raises(InvalidTransition) as unapproved:
            post_loan_action_execute(action_id=rejected.pk, actor=checker)
        with pytest.raises(InvalidTransition) as final:
            post_loan_action_cancel(action_id=rejected.pk, actor=checker)
    # then: each refusal names the action by what it does, to whom, and on which line
    for exc in (own, unapproved, final):
        text = str(exc.value)
        assert name in text and where in text and "Action #" not in text and "措施 #" not in text, text
    if language == "zh-hans":
        assert str(own.value).endswith(":由你提议;必须由他人批准。")
        assert "状态为 已拒绝;只有已批准的措施可以执行。" in str(unapproved.value)
    else:
        assert str(own.value).endswith(": you proposed it; someone else must approve it.")
        assert "is Rejected; only an approved action can be executed." in str(unapproved.value)
    # and the lock read the company with the action: one SELECT, however the refusal is worded
    selects = [q["sql"] for q in reads.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects
