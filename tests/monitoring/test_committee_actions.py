"""Escalated post-loan actions (recall, restructure, write-off, large cuts) go to a committee case."""

import pytest

from loans.services.lines import credit_line_draw_down
from monitoring import committee
from monitoring.actions import post_loan_action_propose
from monitoring.models import ActionStatus, CaseStatus, CommitteeCase
from tests.loans.conftest import TODAY, checker, company, make_line, officer, product  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(make_line, officer):  # noqa: F811
    line = make_line(amount="500000")
    return credit_line_draw_down(credit_line_id=line.pk, amount="120000", term_months=12, disbursed_on=TODAY, actor=officer)


def _members(django_user_model, n=3):
    from django.contrib.auth.models import Permission

    vote = Permission.objects.get(content_type__app_label="monitoring", codename="vote")
    members = [django_user_model.objects.create_user(f"member{i}", password="x", is_staff=True) for i in range(n)]
    for member in members:
        member.user_permissions.add(vote)
    return [django_user_model.objects.get(pk=m.pk) for m in members]  # fresh: no cached permissions


def test_a_recall_opens_a_case_whose_vote_approves_it(loan, officer, django_user_model):  # noqa: F811
    action = post_loan_action_propose(kind="recall", loan_id=loan.pk, actor=officer, on=TODAY, reason="fraud suspected")
    assert action.status == ActionStatus.PENDING_COMMITTEE
    case = CommitteeCase.objects.get(kind="post_loan_action", subject_id=action.pk)
    assert case.maker == f"user:{officer.pk}" and officer.pk in case.excluded_user_ids
    # the proposer may not vote on it, even as a member
    from django.contrib.auth.models import Permission

    from loans.errors import DomainError

    officer.user_permissions.add(Permission.objects.get(content_type__app_label="monitoring", codename="vote"))
    with pytest.raises(DomainError):
        committee.committee_vote_cast(case_id=case.pk, actor=type(officer).objects.get(pk=officer.pk), choice="approve", comment="mine")
    for member in _members(django_user_model):
        committee.committee_vote_cast(case_id=case.pk, actor=member, choice="approve", comment="the loan must be recalled")
    case.refresh_from_db()
    action.refresh_from_db()
    assert case.status == CaseStatus.APPROVED
    # and the decision lands on the loan: executed by the member whose vote decided it
    assert action.status == ActionStatus.EXECUTED and action.approved_by_id not in (None, officer.pk)
    assert action.executed_by_id == action.approved_by_id
    loan.refresh_from_db()
    assert loan.schedule_version == 2  # recalled: a new schedule, all due at once


def test_an_approved_cut_that_no_longer_fits_stays_approved_with_the_reason(loan, officer, django_user_model):  # noqa: F811
    from decimal import Decimal

    from loans.models import CreditLine

    line = loan.credit_line
    action = post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"percent": "70"}, actor=officer, on=TODAY)
    assert action.status == ActionStatus.PENDING_COMMITTEE  # a cut above half the limit
    # the line is drawn further meanwhile: 150,000 (the proposed limit) is now below the drawn balance
    credit_line_draw_down(credit_line_id=line.pk, amount="100000", term_months=12, disbursed_on=TODAY, actor=officer)
    case = CommitteeCase.objects.get(kind="post_loan_action", subject_id=action.pk)
    for member in _members(django_user_model):
        committee.committee_vote_cast(case_id=case.pk, actor=member, choice="approve", comment="cut it")
    action.refresh_from_db()
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED and action.status == ActionStatus.APPROVED
    assert "not yet executed" in case.outcome_reason and "drawn balance" in case.outcome_reason
    assert CreditLine.objects.get(pk=line.pk).limit_amount == Decimal("500000.00")


def test_a_rejected_case_rejects_the_action(loan, officer, django_user_model):  # noqa: F811
    action = post_loan_action_propose(kind="write_off", loan_id=loan.pk, actor=officer, on=TODAY, reason="no recovery")
    case = CommitteeCase.objects.get(kind="post_loan_action", subject_id=action.pk)
    for member in _members(django_user_model):
        committee.committee_vote_cast(case_id=case.pk, actor=member, choice="reject", comment="collection first")
    action.refresh_from_db()
    assert action.status == ActionStatus.REJECTED


def test_an_ordinary_action_opens_no_case(make_line, officer):  # noqa: F811
    line = make_line(amount="500000")
    post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"percent": "20"}, actor=officer, on=TODAY)
    assert not CommitteeCase.objects.filter(kind="post_loan_action").exists()
    assert committee.committee_cases_open_for_actions() == 0
