"""The risk manager's queue of post-loan actions waiting for approval: others' proposals only,
the most severe warning first, a decision needs a comment, an approval lands on the line."""

from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse

from config.backoffice import navigation
from config.backoffice.roles import COMMITTEE_MEMBER, RISK_MANAGER
from loans.models import CreditLine
from monitoring.actions import actions_awaiting_approval, post_loan_action_propose
from monitoring.models import ActionStatus, Alert, PostLoanAction
from tests.factories import user_in
from tests.loans.conftest import TODAY, checker, company, make_line, officer, product  # noqa: F401

pytestmark = pytest.mark.django_db
QUEUE = "admin:monitoring_postloanaction_approvals"


@pytest.fixture
def risk(django_user_model):
    return user_in(django_user_model, "risk1", RISK_MANAGER)


@pytest.fixture
def lines(make_line):  # noqa: F811
    return [make_line(amount="500000") for _ in range(3)]


def _alert(line, severity, on=TODAY):
    return Alert.objects.create(subject_kind="company", subject_id=line.company_id, company_id=line.company_id, rule="score_drop",
                                severity=severity, first_seen_on=on, last_seen_on=on, old_score=700, new_score=590)


def test_the_queue_shows_others_proposals_most_severe_first_never_my_own(lines, officer, risk):  # noqa: F811
    low = post_loan_action_propose(kind="reduce_limit", credit_line_id=lines[0].pk, params={"percent": "10"}, actor=officer, on=TODAY)
    high = post_loan_action_propose(kind="reduce_limit", credit_line_id=lines[1].pk, params={"percent": "30"}, actor=None, on=TODAY,
                                    alert_id=_alert(lines[1], "high").pk)
    mine = post_loan_action_propose(kind="freeze_line", credit_line_id=lines[2].pk, actor=risk, on=TODAY)
    escalated = post_loan_action_propose(kind="reduce_limit", credit_line_id=lines[2].pk, params={"percent": "60"}, actor=officer, on=TODAY)
    queue = actions_awaiting_approval(risk)
    assert [a.pk for a in queue["waiting"]] == [high.pk, low.pk]  # not mine, not the committee's
    assert queue["waiting_count"] == 2 and escalated.status == ActionStatus.PENDING_COMMITTEE
    request = RequestFactory().get("/admin/")
    request.user = risk
    assert navigation.badge_actions_waiting(request) == "2"
    assert mine.pk not in [a.pk for a in actions_awaiting_approval(risk)["waiting"]]


def test_approving_from_the_queue_needs_a_comment_and_cuts_the_limit(lines, officer, risk, client):  # noqa: F811
    line = lines[0]
    action = post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"percent": "30"}, actor=officer, on=TODAY)
    client.force_login(risk)
    page = client.get(reverse(QUEUE)).content.decode()
    assert f'id="bo-action-{action.pk}"' in page and "¥350,000.00" in page and "officer" in page
    decide = reverse("admin:monitoring_postloanaction_decide", args=[action.pk])
    # when: approve without a comment -> refused, nothing changes
    client.post(decide, {"comment": " ", "do-approve": "1"})
    action.refresh_from_db()
    assert action.status == ActionStatus.PROPOSED
    # when: with a comment -> approved by the risk manager and executed at once
    r = client.post(decide, {"comment": "agreed: score collapsed", "do-approve": "1"}, follow=True)
    action.refresh_from_db()
    assert (action.status, action.approved_by, action.decision_note) == (ActionStatus.EXECUTED, risk, "agreed: score collapsed")
    assert CreditLine.objects.get(pk=line.pk).limit_amount == Decimal("350000.00")
    assert "approved and executed" in r.content.decode()


def test_rejecting_records_the_comment(lines, officer, risk, client):  # noqa: F811
    action = post_loan_action_propose(kind="freeze_line", credit_line_id=lines[0].pk, actor=officer, on=TODAY)
    client.force_login(risk)
    client.post(reverse("admin:monitoring_postloanaction_decide", args=[action.pk]), {"comment": "the borrower paid up", "do-reject": "1"})
    action.refresh_from_db()
    assert (action.status, action.rejected_by, action.decision_note) == (ActionStatus.REJECTED, risk, "the borrower paid up")


def test_my_own_proposal_cannot_be_approved_from_the_queue_even_by_a_forged_post(lines, risk, client):
    action = post_loan_action_propose(kind="freeze_line", credit_line_id=lines[0].pk, actor=risk, on=TODAY)
    client.force_login(risk)
    r = client.post(reverse("admin:monitoring_postloanaction_decide", args=[action.pk]), {"comment": "mine", "do-approve": "1"}, follow=True)
    assert PostLoanAction.objects.get(pk=action.pk).status == ActionStatus.PROPOSED
    assert "someone else must approve" in r.content.decode()
    # the refusal names the action, by what it does and to whom, once
    from monitoring.wording import action_name

    name = action_name(PostLoanAction.objects.select_related("company").get(pk=action.pk))
    assert [str(m) for m in r.context["messages"]] == [f"Not decided: {name}: you proposed it; someone else must approve it."]


def test_a_committee_member_has_no_such_queue(django_user_model, client):
    member = user_in(django_user_model, "member", COMMITTEE_MEMBER)
    client.force_login(member)
    assert client.get(reverse(QUEUE)).status_code == 403
    request = RequestFactory().get("/admin/")
    request.user = member
    links = [i["link"] for g in navigation.sidebar(request) for i in g["items"]]
    assert reverse(QUEUE) not in links and reverse("admin:monitoring_committeecase_queue") in links
