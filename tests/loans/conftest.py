import datetime
from decimal import Decimal

import pytest

from loans.choices import Role
from tests.factories import CompanyFactory, LoanProductFactory, PersonFactory, RelatedPartyFactory

from . import bundles

TODAY = bundles.AS_OF


@pytest.fixture
def product(db):
    return LoanProductFactory(code="sme-revolving", rate_spread=Decimal("0.010000"))


@pytest.fixture
def company(db):
    company = CompanyFactory(annual_revenue=Decimal("8000000.00"))
    RelatedPartyFactory(company=company, person=PersonFactory(), role=Role.LEGAL_REPRESENTATIVE)
    return company


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_user("officer", password="x", is_staff=True)


@pytest.fixture
def checker(django_user_model):
    return django_user_model.objects.create_user("checker", password="x", is_staff=True)


def scores_for(company, score=700, **kwargs):
    rep = company.related_parties.filter(role=Role.LEGAL_REPRESENTATIVE).first()
    parties = kwargs.pop("parties", None)
    if parties is None:
        parties = [bundles.party(rep.person_id, score=kwargs.pop("rep_score", 700))] if rep else []
    return bundles.bundle(score, company_id=company.pk, parties=parties, **kwargs)


@pytest.fixture
def make_line(product, company, officer):
    """An application taken all the way to a booked line, through the services."""
    from loans.services.applications import application_accept, application_book, application_create, application_submit

    def make(*, amount="500000", term=12, score=700, on=TODAY, target=None):
        target = target or company
        app = application_create(company_id=target.pk, product_id=product.pk, requested_amount=amount, term_months=term, actor=officer)
        application_submit(application_id=app.pk, actor=officer, as_of=on, scores=scores_for(target, score))
        application_accept(application_id=app.pk, actor=officer, as_of=on)
        return application_book(application_id=app.pk, actor=officer, opened_on=on)

    return make


def days(n):
    return datetime.timedelta(days=n)
