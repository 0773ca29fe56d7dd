"""From application to a repaid loan through the services, with real scores from the
scoring app (hand-built champion scorecards and credit data snapshots, no training)."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from loans.choices import ApplicationStatus as S
from loans.choices import LoanStatus
from loans.errors import DomainError
from loans.services.applications import (
    application_accept,
    application_book,
    application_create,
    application_submit,
)
from loans.services.lines import credit_line_draw_down
from loans.services.repayments import loan_repayment_record
from loans.services.servicing import loans_service_daily
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory
from tests.scoring.helpers import BAD_PERSON, GOOD_COMPANY, GOOD_PERSON, champion, snapshot

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 2)


@pytest.fixture
def scored_company(product):
    champion("person")
    champion("company")
    company = CompanyFactory(annual_revenue=Decimal("20000000"))
    rep = PersonFactory()
    RelatedPartyFactory(company=company, person=rep, role="legal_representative")
    snapshot("person", rep.id, GOOD_PERSON, as_of=AS_OF)
    snapshot("company", company.id, GOOD_COMPANY, as_of=AS_OF)
    return company


def test_application_to_repaid_loan_with_real_scores(scored_company, product, officer, clock):
    # given a draft
    app = application_create(company_id=scored_company.pk, product_code=product.code, requested_amount="300000", term_months=6, actor=officer)
    # when it is submitted, scores are made on demand by the scoring app
    decision = application_submit(application_id=app.pk, actor=officer, as_of=AS_OF)
    # then
    app.refresh_from_db()
    assert decision.outcome == "approve", decision.rule_hits
    assert app.status == S.APPROVED and app.score >= 620
    assert set(decision.model_versions) == {f"company:{scored_company.pk}", *(f"person:{p}" for p in scored_company.related_parties.values_list("person_id", flat=True))}
    assert decision.inputs["scores"]["company"]["as_of"] == AS_OF.isoformat()
    # accept, book, draw, service, repay
    application_accept(application_id=app.pk, actor=officer, as_of=AS_OF)
    line = application_book(application_id=app.pk, actor=officer, opened_on=AS_OF)
    loan = credit_line_draw_down(credit_line_id=line.pk, amount="300000", term_months=6, disbursed_on=AS_OF)
    for inst in list(loan.installments.order_by("number")):
        clock(inst.due_date)
        loans_service_daily(as_of=inst.due_date)
        loan_repayment_record(loan_id=loan.pk, amount=inst.amount_due, external_ref=f"bank-{inst.number}", received_on=inst.due_date)
    loan.refresh_from_db()
    line.refresh_from_db()
    assert loan.status == LoanStatus.REPAID and loan.outstanding_principal == 0
    assert line.drawn_principal == 0
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    assert out.getvalue().strip() == "ok"


def test_a_legal_representative_in_default_declines_with_real_scores(product, officer):
    champion("person")
    champion("company")
    company = CompanyFactory()
    rep = PersonFactory()
    RelatedPartyFactory(company=company, person=rep, role="legal_representative")
    snapshot("person", rep.id, BAD_PERSON, as_of=AS_OF, in_default=True)
    snapshot("company", company.id, GOOD_COMPANY, as_of=AS_OF)
    app = application_create(company_id=company.pk, product_id=product.pk, requested_amount="100000", term_months=6)
    decision = application_submit(application_id=app.pk, as_of=AS_OF)
    assert decision.outcome == "decline"
    codes = {h["code"] for h in decision.rule_hits}
    assert "KO_PARTY_IN_DEFAULT" in codes
    assert decision.reason_codes  # the scores' reason codes explain the decline


def test_scoring_unavailable_leaves_the_draft_unchanged(company, product, officer):
    # given no champion scorecard at all
    app = application_create(company_id=company.pk, product_id=product.pk, requested_amount="100000", term_months=6)
    # when / then
    with pytest.raises(DomainError, match="Scores are unavailable") as exc:
        application_submit(application_id=app.pk, as_of=AS_OF)
    assert exc.value.code == "scoring_unavailable"
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.events.count() == 1
