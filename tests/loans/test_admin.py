"""An officer takes a company from application to a repaid loan in the admin."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from loans.choices import ApplicationStatus as S
from loans.models import CreditLine, CreditPolicy, Loan, LoanApplication

from .conftest import scores_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(user)
    return client


@pytest.fixture
def fake_scores(monkeypatch, company):
    import scoring.api

    monkeypatch.setattr(scoring.api, "company_scores", lambda *, company_id, as_of, max_age_days: scores_for(company, 700, as_of=as_of))


def action(client, name, ids):
    return client.post(reverse("admin:loans_loanapplication_changelist"), {"action": name, "_selected_action": ids}, follow=True)


def test_application_to_repaid_loan_in_the_admin(admin_client_, company, product, fake_scores, clock):
    c = admin_client_
    # create
    r = c.post(reverse("admin:loans_loanapplication_add"), {
        "company": company.pk, "product": product.pk, "requested_amount": "200000", "term_months": 3, "purpose": "stock",
        "decisions-TOTAL_FORMS": 0, "decisions-INITIAL_FORMS": 0, "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0,
    })
    assert r.status_code == 302, r.content.decode()[:3000]
    app = LoanApplication.objects.get()
    assert app.status == S.DRAFT and app.created_by.username == "boss"
    # submit, accept, book
    for name, status in [("submit_applications", S.APPROVED), ("accept_applications", S.ACCEPTED), ("book_applications", S.BOOKED)]:
        r = action(c, name, [app.pk])
        assert r.status_code == 200
        app.refresh_from_db()
        assert app.status == status, [str(m) for m in r.context["messages"]]
    line = CreditLine.objects.get()
    # draw down: first too much (clear error), then right
    url = reverse("admin:loans_creditline_drawdown", args=[line.pk])
    assert c.get(url).status_code == 200
    r = c.post(url, {"amount": "200000.01", "term_months": 3, "disbursed_on": str(line.opened_on)})
    assert r.status_code == 200 and "exceeds the available limit" in r.content.decode()
    r = c.post(url, {"amount": "200000", "term_months": 3, "disbursed_on": str(line.opened_on)})
    assert r.status_code == 302
    loan = Loan.objects.get()
    # repay each installment through the form
    url = reverse("admin:loans_loan_repayment", args=[loan.pk])
    for inst in loan.installments.order_by("number"):
        clock(inst.due_date)
        c.force_login(app.created_by)  # the session would have lapsed by then
        r = c.post(url, {"amount": str(inst.amount_due), "external_ref": f"b{inst.number}", "received_on": str(inst.due_date)})
        assert r.status_code == 302 and "login" not in r["Location"]
    loan.refresh_from_db()
    assert loan.status == "repaid"
    # overpayment is a clear error on the form
    r = c.post(url, {"amount": "1", "external_ref": "late", "received_on": str(datetime.date.today())})
    assert "takes no more repayments" in r.content.decode()


def test_maker_cannot_decide_in_committee_from_the_admin(admin_client_, company, product, monkeypatch):
    import scoring.api

    monkeypatch.setattr(scoring.api, "company_scores", lambda **kw: scores_for(company, 610, as_of=kw["as_of"]))
    admin_client_.post(reverse("admin:loans_loanapplication_add"), {
        "company": company.pk, "product": product.pk, "requested_amount": "100000", "term_months": 6,
        "decisions-TOTAL_FORMS": 0, "decisions-INITIAL_FORMS": 0, "events-TOTAL_FORMS": 0, "events-INITIAL_FORMS": 0,
    })
    app = LoanApplication.objects.get()
    action(admin_client_, "submit_applications", [app.pk])
    # the referral opened a committee case, and the maker may not vote on it
    from monitoring.models import CommitteeCase

    case = CommitteeCase.objects.get(application=app)
    r = admin_client_.post(reverse("admin:monitoring_committeecase_vote", args=[case.pk]), {"choice": "approve", "comment": "mine"}, follow=True)
    assert any("Maker-checker" in str(m) for m in r.context["messages"])
    app.refresh_from_db()
    assert app.status == S.REFERRED and not case.votes.exists()


def test_editing_the_policy_proposes_a_version_another_person_publishes(admin_client_, django_user_model):
    from django.forms.models import model_to_dict

    from loans.services.policy import POLICY_FIELDS, credit_policy_active, credit_policy_approve

    v1 = credit_policy_active()
    data = {k: v for k, v in model_to_dict(v1).items() if k in POLICY_FIELDS}
    import json

    data["tier_bands"] = json.dumps(data["tier_bands"])
    data["term_spreads"] = json.dumps(data["term_spreads"])
    data.update(legal_rate_cap="0.2", note="cap down")
    r = admin_client_.post(reverse("admin:loans_creditpolicy_change", args=[v1.pk]), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    # proposed, not yet in force
    assert list(CreditPolicy.objects.order_by("version").values_list("version", "is_active", "status", "legal_rate_cap")) == [
        (1, True, "published", Decimal("0.240000")), (2, False, "proposed", Decimal("0.200000"))
    ]
    credit_policy_approve(policy_id=CreditPolicy.objects.get(version=2).pk, actor=django_user_model.objects.create_superuser("checker2", password="x"))
    assert list(CreditPolicy.objects.order_by("version").values_list("version", "is_active", "legal_rate_cap")) == [
        (1, False, Decimal("0.240000")), (2, True, Decimal("0.200000"))
    ]
    data.update(grey_band_low=700, grey_band_high=650)
    r = admin_client_.post(reverse("admin:loans_creditpolicy_change", args=[v1.pk]), data)
    assert r.status_code == 200 and CreditPolicy.objects.count() == 2


@pytest.mark.parametrize("name", ["loanapplication", "creditline", "loan", "repayment", "installment", "creditpolicy", "decision", "ledgerentry"])
def test_changelists_render(admin_client_, make_line, name):
    line = make_line()
    from loans.services.lines import credit_line_draw_down

    loan = credit_line_draw_down(credit_line_id=line.pk, amount="1000", term_months=3)
    assert admin_client_.get(reverse(f"admin:loans_{name}_changelist")).status_code == 200
    obj = {"creditline": line, "loan": loan, "loanapplication": line.application}.get(name)
    if obj is not None:
        assert admin_client_.get(reverse(f"admin:loans_{name}_change", args=[obj.pk])).status_code == 200


def test_line_actions_freeze_unfreeze_and_report_a_refused_move(admin_client_, make_line):
    # given an active line
    line = make_line(amount="500000")
    url = reverse("admin:loans_creditline_changelist")

    def line_action(name):
        return admin_client_.post(url, {"action": name, "_selected_action": [line.pk]}, follow=True)

    # when frozen from the line admin: a proposal (maker-checker), the line unchanged until approved
    assert "Freeze proposed: 1 credit line(s)." in line_action("freeze_lines").content.decode()
    line.refresh_from_db()
    assert line.status == "active"
    from monitoring.models import PostLoanAction

    assert PostLoanAction.objects.get().kind == "freeze_line"
    # and an illegal move (unfreezing an active line) is reported, nothing changes
    body = line_action("unfreeze_lines").content.decode()
    assert f"Credit line #{line.pk}: " in body and "only a frozen line can be unfrozen" in body
    line.refresh_from_db()
    assert line.status == "active"


def test_the_line_page_names_the_available_amount_in_the_readers_language_as_money(admin_client_, make_line):
    # given a line of 500,000 with 120,000 drawn
    from loans.services.lines import credit_line_draw_down

    line = make_line(amount="500000")
    credit_line_draw_down(credit_line_id=line.pk, amount="120000", term_months=3)
    url = reverse("admin:loans_creditline_change", args=[line.pk])
    # when read in Chinese and in English (English last: a request leaves its language active in this thread)
    zh = admin_client_.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    en = admin_client_.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # then the available amount is money, labelled in each language
    assert "¥380,000.00" in en and ">Available<" in en.replace(":", "")
    assert "¥380,000.00" in zh and "可用额度" in zh and ">Available<" not in zh
