"""The company facts of a decision are read by one definition for the officer's submit
(``company_facts``) and inside the partner's one statement (``_new_application_facts``)."""

import datetime
from decimal import Decimal

import pytest

from loans.services.applications import _new_application_facts, company_facts
from tests.factories import CompanyFactory, LoanProductFactory, PersonFactory, RelatedPartyFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 2)


def _partner_path(company_id, product):
    return _new_application_facts(company_id=company_id, product_id=product.pk, product_code=None, partner_id=None, as_of=DAY)


def test_both_paths_read_the_same_facts():
    product = LoanProductFactory()
    company = CompanyFactory(annual_revenue=Decimal("12345678.90"))
    bad_now = RelatedPartyFactory(company=company, person=PersonFactory(is_blocklisted=True), role="director")
    RelatedPartyFactory(company=company, person=PersonFactory(is_blocklisted=True), role="guarantor",
                        valid_to=DAY - datetime.timedelta(days=1))  # ended: does not count
    bad_too = RelatedPartyFactory(company=company, person=PersonFactory(is_blocklisted=True), role="legal_representative")
    RelatedPartyFactory(company=company, person=PersonFactory(), role="actual_controller")  # not blocklisted
    officer = company_facts(company_id=company.pk, as_of=DAY)
    partner = _partner_path(company.pk, product).company
    assert officer == partner
    assert officer.blocklisted_person_ids == {bad_now.person_id, bad_too.person_id}
    assert (officer.company_id, officer.status, officer.annual_revenue) == (company.pk, company.status, Decimal("12345678.90"))


def test_a_clean_company_and_a_missing_one():
    product = LoanProductFactory()
    company = CompanyFactory()
    RelatedPartyFactory(company=company, person=PersonFactory(), role="director")
    assert company_facts(company_id=company.pk, as_of=DAY) == _partner_path(company.pk, product).company
    assert company_facts(company_id=company.pk, as_of=DAY).blocklisted_person_ids == frozenset()
    assert company_facts(company_id=company.pk + 999, as_of=DAY) is None
    facts = _partner_path(company.pk + 999, product)
    assert facts.company is None and facts.product == product
