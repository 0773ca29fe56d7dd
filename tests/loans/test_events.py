"""The loan book's domain events reach partners as webhooks (credit_line.changed,
loan.overdue, application.decided by committee), and only for the partner that owns the object."""

import datetime

import pytest

from loans.api.models import WebhookDelivery, WebhookEndpoint
from loans.models import CreditLine, Loan
from loans.services.applications import application_committee_approve, application_create, application_submit
from loans.services.lines import (
    credit_line_draw_down,
    credit_line_freeze,
    credit_line_reduce_limit,
    credit_line_unfreeze,
)
from loans.services.servicing import loans_service_daily
from tests.factories import PartnerFactory

from .conftest import TODAY, scores_for

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def partner():
    partner = PartnerFactory()
    # The URL is never called: without a broker, delivery runs in-process on commit, and the
    # test transaction never commits.
    WebhookEndpoint.objects.create(partner=partner, url="http://127.0.0.1:9/hooks")
    return partner


def payloads(event_type):
    return [d.payload for d in WebhookDelivery.objects.filter(event_type=event_type).order_by("id")]


def test_line_freeze_unfreeze_and_limit_cut_notify_the_owning_partner(make_line, partner):
    # given a partner's line
    line = make_line(amount="500000")
    CreditLine.objects.filter(pk=line.pk).update(partner=partner)
    # when
    credit_line_freeze(credit_line_id=line.pk)
    credit_line_unfreeze(credit_line_id=line.pk)
    credit_line_reduce_limit(credit_line_id=line.pk, new_limit="300000")
    # then
    changes = [(p["change"], p["status"], p["limit_amount"]) for p in payloads("credit_line.changed")]
    assert changes == [("frozen", "frozen", "500000.00"), ("unfrozen", "active", "500000.00"), ("limit_cut", "active", "300000.00")]


def test_a_line_without_a_partner_sends_nothing(make_line, partner):
    line = make_line(amount="500000")
    credit_line_freeze(credit_line_id=line.pk)
    assert WebhookDelivery.objects.count() == 0


def test_servicing_notifies_each_bucket_worsening_once(make_line, partner):
    # given a partner's loan
    line = make_line(amount="500000")
    loan = credit_line_draw_down(credit_line_id=line.pk, amount="120000", term_months=12, disbursed_on=TODAY)
    Loan.objects.filter(pk=loan.pk).update(partner=partner)
    first_due = loan.first_due_date
    # when the loan is serviced day after day across M1 and into M2
    for dpd in (0, 1, 2, 30, 31, 31):
        loans_service_daily(as_of=first_due + datetime.timedelta(days=dpd))
    # then one loan.overdue per bucket entered, not one per day
    assert [(p["loan_id"], p["days_past_due"], p["bucket"]) for p in payloads("loan.overdue")] == [
        (loan.pk, 1, "m1"), (loan.pk, 31, "m2"),
    ]


def test_a_committee_decision_notifies_the_partner(product, company, officer, checker, partner):
    # given a partner's application referred to the committee (grey band)
    app = application_create(company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12, actor=officer)
    type(app).objects.filter(pk=app.pk).update(partner=partner)
    application_submit(application_id=app.pk, actor=officer, as_of=TODAY, scores=scores_for(company, 605))
    app.refresh_from_db()
    assert app.status == "referred"
    # the partner learns at once that its application went to the committee
    [referred] = payloads("application.decided")
    assert referred["application_id"] == app.pk and referred["status"] == "referred"
    # when the committee approves
    application_committee_approve(application_id=app.pk, actor=checker)
    # then it learns the committee's decision too
    referred_again, decided = payloads("application.decided")
    assert referred_again == referred
    assert decided["application_id"] == app.pk and decided["status"] == "committee_approved"
