"""Every automated decision sends the same ``application.decided`` event, whoever submitted it."""

from decimal import Decimal

import pytest

from loans.api.models import WebhookDelivery, WebhookEndpoint
from loans.choices import Role
from loans.services import applications as app_services
from tests.factories import CompanyFactory, LoanProductFactory, PersonFactory, RelatedPartyFactory
from tests.loans import bundles

pytestmark = pytest.mark.django_db


def _partner_company(partner):
    company = CompanyFactory(partner=partner, annual_revenue=Decimal("8000000.00"))
    person = PersonFactory(partner=partner)
    RelatedPartyFactory(company=company, person=person, role=Role.LEGAL_REPRESENTATIVE)
    return company, person


@pytest.mark.parametrize("score, status", [(720, "approved"), (610, "referred"), (520, "declined")])
def test_an_officers_submission_for_a_partners_company_tells_the_partner(partner, django_user_model, score, status):
    endpoint = WebhookEndpoint.objects.create(partner=partner, url="http://127.0.0.1:9/hooks")
    officer = django_user_model.objects.create_user("officer", password="x", is_staff=True)
    product = LoanProductFactory(code="sme-revolving")
    company, person = _partner_company(partner)
    app = app_services.application_create(
        company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12,
        partner_id=partner.pk, actor=officer,
    )
    scores = bundles.bundle(score, company_id=company.pk, parties=[bundles.party(person.pk, score=700)])
    app_services.application_submit(application_id=app.pk, actor=officer, as_of=bundles.AS_OF, scores=scores)
    app.refresh_from_db()
    assert app.status == status
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event_type == "application.decided"
    assert delivery.payload["application_id"] == app.pk and delivery.payload["status"] == status


def test_a_decision_without_a_partner_sends_nothing(django_user_model):
    officer = django_user_model.objects.create_user("officer", password="x", is_staff=True)
    product = LoanProductFactory(code="sme-revolving")
    company, person = _partner_company(None)
    app = app_services.application_create(
        company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12, actor=officer,
    )
    scores = bundles.bundle(720, company_id=company.pk, parties=[bundles.party(person.pk, score=700)])
    app_services.application_submit(application_id=app.pk, actor=officer, as_of=bundles.AS_OF, scores=scores)
    assert not WebhookDelivery.objects.exists()
