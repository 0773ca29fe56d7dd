"""Amount, term and ownership are checked by one function each, which the service, the admin
form and the API serializer call: the same message, on the field at fault."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from loans.admin.lending import LoanApplicationForm
from loans.api.serializers import ApplicationCreateSerializer
from loans.schedule import MAX_TERM_MONTHS
from loans.services.applications import application_create, application_request_checked
from loans.services.borrowers import ownership_checked, related_party_add
from tests.factories import CompanyFactory, LoanProductFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_the_request_check_names_each_field():
    assert application_request_checked(requested_amount="0", term_months=12) == (
        None, {"requested_amount": "The amount must be greater than zero."}
    )
    assert application_request_checked(requested_amount="x", term_months="12")[1] == {
        "requested_amount": "The amount must be a decimal number.", "term_months": "The term must be a whole number of months.",
    }
    amount, errors = application_request_checked(requested_amount="1000.5", term_months=MAX_TERM_MONTHS + 1)
    assert amount == Decimal("1000.50") and errors == {"term_months": f"The term must be from 1 to {MAX_TERM_MONTHS} months."}


def test_the_admin_form_and_the_service_give_the_same_term_error():
    product, company = LoanProductFactory(min_term_months=3, max_term_months=12), CompanyFactory()
    expected = application_request_checked(requested_amount="1000", term_months=24, product=product)[1]["term_months"]
    form = LoanApplicationForm(data={"company": company.pk, "product": product.pk, "requested_amount": "1000", "term_months": 24})
    assert not form.is_valid() and form.errors["term_months"] == [expected]
    with pytest.raises(ValidationError) as exc:
        application_create(company_id=company.pk, product_id=product.pk, requested_amount="1000", term_months=24)
    assert exc.value.message_dict["term_months"] == [expected]


def test_the_serializer_runs_the_same_check():
    serializer = ApplicationCreateSerializer(data={"company": 1, "product": "p", "amount": "100.00", "term_months": 12},
                                             context={"partner_id": 0})
    serializer.validate_company = lambda value: value  # no partner here: only the request check
    assert serializer.validate({"amount": Decimal("100.00"), "term_months": 12}) == {"amount": Decimal("100.00"), "term_months": 12}
    with pytest.raises(Exception) as exc:
        serializer.validate({"amount": Decimal("100.00"), "term_months": True})
    assert exc.value.detail == {"term_months": ["The term must be a whole number of months."]}


def test_ownership_is_one_rule_for_the_service_and_the_admin():
    assert ownership_checked("director", "10") == (None, ["Only shareholders carry an ownership percentage."])
    assert ownership_checked("shareholder", None) == (None, ["A shareholder needs an ownership percentage."])
    assert ownership_checked("shareholder", "100.01") == (None, ["Must be at most 100."])
    assert ownership_checked("shareholder", "60") == (Decimal("60.00"), [])
    company = CompanyFactory()
    with pytest.raises(ValidationError) as exc:
        related_party_add(company=company, person=PersonFactory(partner=company.partner), role="director", ownership_pct="10")
    assert exc.value.message_dict["ownership_pct"] == ["Only shareholders carry an ownership percentage."]
