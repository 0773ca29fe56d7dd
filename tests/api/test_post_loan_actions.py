"""Partners list the post-loan actions on their companies and answer collateral requests."""

import datetime

import pytest
from django.utils import timezone

from monitoring.actions import post_loan_action_approve, post_loan_action_execute, post_loan_action_propose
from monitoring.models import ActionStatus, Alert, PostLoanAction

from .test_lending_flow import apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(api, scored_company):
    company = scored_company()
    app = apply(api, company["id"]).json()
    line = api.post(f"/api/v1/applications/{app['id']}/accept/", format="json").json()
    return company, line


@pytest.fixture
def checker(django_user_model):
    return django_user_model.objects.create_user("checker", password="x", is_staff=True)


def collateral_request(line, checker, amount="50000"):
    action = post_loan_action_propose(
        kind="require_collateral", credit_line_id=line["id"],
        params={"amount_needed": amount, "due_date": (timezone.localdate() + datetime.timedelta(days=30)).isoformat()},
    )
    post_loan_action_approve(action_id=action.pk, actor=checker)
    return post_loan_action_execute(action_id=action.pk, actor=checker)


def test_a_partner_lists_only_its_companies_actions(api, other_api, booked, checker):
    company, line = booked
    action = collateral_request(line, checker)
    r = api.get(f"/api/v1/post-loan-actions/?company={company['id']}")
    assert r.status_code == 200
    (row,) = r.json()["results"]
    assert (row["id"], row["kind"], row["status"], row["amount_needed"], row["by_system"]) == (
        action.pk, "require_collateral", "executed", "50000.00", True)
    assert other_api.get("/api/v1/post-loan-actions/").json()["results"] == []
    assert other_api.get(f"/api/v1/post-loan-actions/{action.pk}/").status_code == 404
    assert api.get("/api/v1/post-loan-actions/?company=abc").status_code == 400


def test_a_partner_answers_a_collateral_request_by_pledging(api, other_api, booked, checker):
    _, line = booked
    action = collateral_request(line, checker)
    pledge = {"collateral": {"kind": "equipment", "description": "CNC lathe", "appraised_value": "60000.00",
                             "valued_on": timezone.localdate().isoformat()}}
    # too little after the 30 % haircut: refused, nothing saved
    r = api.post(f"/api/v1/post-loan-actions/{action.pk}/pledges/", pledge, format="json")
    assert r.status_code == 400 and "50000.00 is needed" in r.content.decode()
    assert PostLoanAction.objects.get(pk=action.pk).status == ActionStatus.EXECUTED
    from loans.models import Collateral

    assert not Collateral.objects.exists()
    # another partner cannot see it
    pledge["collateral"]["appraised_value"] = "80000.00"
    assert other_api.post(f"/api/v1/post-loan-actions/{action.pk}/pledges/", pledge, format="json").status_code == 404
    # enough: met
    r = api.post(f"/api/v1/post-loan-actions/{action.pk}/pledges/", pledge, format="json")
    assert r.status_code == 201, r.json()
    assert r.json()["status"] == "met"
    # a second answer is a conflict
    r = api.post(f"/api/v1/post-loan-actions/{action.pk}/pledges/", pledge, format="json")
    assert r.status_code == 409


def test_a_drawdown_with_an_open_blocking_warning_is_a_409_with_the_reason(api, booked):
    company, line = booked
    Alert.objects.create(subject_kind="company", subject_id=company["id"], company_id=company["id"], first_seen_on=timezone.localdate(), last_seen_on=timezone.localdate(),
                                rule="score_drop", severity="high", old_score=740, new_score=533)
    r = api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", {"amount": "50000.00", "term_months": 6}, format="json")
    assert r.status_code == 409
    assert "open blocking warning" in r.content.decode()
