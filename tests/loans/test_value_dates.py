"""Value dates have sane bounds wherever they enter: not in the future beyond a small
tolerance (``VALUE_DATE_TOLERANCE_DAYS``), not before the thing they describe existed.
These go through the services; tests/api/test_value_dates.py sends the same through the API."""

import datetime
import math
import random

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from config.demo.identities import make_resident_id, make_uscc
from loans.models import CreditLine, Repayment
from loans.parties import identity
from loans.services.applications import application_accept, application_book, application_create, application_submit
from loans.services.lines import credit_line_draw_down
from loans.services.repayments import loan_repayment_record
from scoring import features as fd
from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot
from scoring.services import credit_snapshot_record
from tests.factories import CompanyFactory, PersonFactory

from .conftest import scores_for

pytestmark = pytest.mark.django_db

FAR_FUTURE, ANCIENT = datetime.date(9999, 12, 31), datetime.date(1, 1, 1)


def today():
    return timezone.localdate()


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture
def line_now(product, company, officer):
    """A line booked today (the clock's today: the bounds are about the real today)."""
    app = application_create(company_id=company.pk, product_id=product.pk, requested_amount="500000", term_months=12, actor=officer)
    application_submit(application_id=app.pk, actor=officer, as_of=today(), scores=scores_for(company, as_of=today()))
    application_accept(application_id=app.pk, actor=officer, as_of=today())
    return application_book(application_id=app.pk, actor=officer, opened_on=today())


@pytest.fixture
def loan_now(line_now):
    return credit_line_draw_down(credit_line_id=line_now.pk, amount="120000", term_months=12, disbursed_on=today())


@pytest.mark.parametrize("received_on", [FAR_FUTURE, "tomorrow+1"])
def test_a_repayment_from_the_future_is_refused(loan_now, received_on):
    received_on = today() + days(2) if received_on == "tomorrow+1" else received_on
    with pytest.raises(ValidationError) as exc:
        loan_repayment_record(loan_id=loan_now.pk, amount="1000", external_ref="r-1", received_on=received_on)
    assert "received_on" in exc.value.message_dict and "future" in exc.value.message_dict["received_on"][0]
    loan_now.refresh_from_db()
    assert not Repayment.objects.exists() and loan_now.days_past_due == 0


def test_a_repayment_within_the_tolerance_is_accepted_and_the_tolerance_is_a_setting(loan_now, settings):
    # a sender whose clock is a day ahead is fine by default
    loan_repayment_record(loan_id=loan_now.pk, amount="1000", external_ref="r-1", received_on=today() + days(1))
    # with no tolerance, tomorrow is the future
    settings.VALUE_DATE_TOLERANCE_DAYS = 0
    with pytest.raises(ValidationError) as exc:
        loan_repayment_record(loan_id=loan_now.pk, amount="1000", external_ref="r-2", received_on=today() + days(1))
    assert "received_on" in exc.value.message_dict


def test_a_repayment_before_the_disbursal_is_refused(loan_now):
    with pytest.raises(ValidationError) as exc:
        loan_repayment_record(loan_id=loan_now.pk, amount="1000", external_ref="r-1", received_on=today() - days(1))
    assert "disbursed" in exc.value.message_dict["received_on"][0]


def test_a_drawdown_dated_in_the_future_is_refused(line_now):
    with pytest.raises(ValidationError) as exc:
        credit_line_draw_down(credit_line_id=line_now.pk, amount="10000", term_months=6, disbursed_on=today() + days(30))
    assert "future" in exc.value.message_dict["disbursed_on"][0]
    line_now.refresh_from_db()
    assert line_now.drawn_principal == 0


def test_a_booking_dated_in_the_future_or_before_the_company_existed_is_refused(product, company, officer):
    app = application_create(company_id=company.pk, product_id=product.pk, requested_amount="500000", term_months=12, actor=officer)
    application_submit(application_id=app.pk, actor=officer, as_of=today(), scores=scores_for(company, as_of=today()))
    application_accept(application_id=app.pk, actor=officer, as_of=today())
    for opened_on, words in ((today() + days(30), "future"), (company.founded_on - days(1), "founded")):
        with pytest.raises(ValidationError) as exc:
            application_book(application_id=app.pk, actor=officer, opened_on=opened_on)
        assert words in exc.value.message_dict["opened_on"][0]
    assert not CreditLine.objects.exists()


@pytest.mark.parametrize("as_of, words", [(FAR_FUTURE, "future"), (ANCIENT, "before"), ("tomorrow+1", "future")])
def test_credit_data_dated_in_the_future_or_absurdly_long_ago_is_refused(as_of, words):
    as_of = today() + days(2) if as_of == "tomorrow+1" else as_of
    person, company = PersonFactory(), CompanyFactory()
    for kind, sid in (("person", person.pk), ("company", company.pk)):
        with pytest.raises(ValidationError) as exc:
            credit_snapshot_record(subject_kind=kind, subject_id=sid, as_of=as_of, features={}, source="partner")
        assert words in exc.value.message_dict["as_of"][0]
    assert not PersonCreditSnapshot.objects.exists() and not CompanyCreditSnapshot.objects.exists()


def test_company_credit_data_from_before_the_company_was_founded_is_refused():
    company = CompanyFactory(founded_on=datetime.date(2015, 3, 1))
    with pytest.raises(ValidationError) as exc:
        credit_snapshot_record(subject_kind="company", subject_id=company.pk, as_of=datetime.date(2015, 2, 28), features={})
    assert "2015-03-01" in exc.value.message_dict["as_of"][0]
    credit_snapshot_record(subject_kind="company", subject_id=company.pk, as_of=datetime.date(2015, 3, 1), features={})


def test_a_resident_id_born_in_the_future_is_refused():
    born_2099 = make_resident_id(random.Random(1), datetime.date(2099, 1, 1), "110105")
    with pytest.raises(ValidationError) as exc:
        identity.normalize_resident_id(born_2099, field="id_number")
    assert "future" in exc.value.message_dict["id_number"][0]
    tomorrow = make_resident_id(random.Random(1), today() + days(1), "110105")
    with pytest.raises(ValidationError):
        identity.normalize_resident_id(tomorrow)
    assert identity.normalize_resident_id(make_resident_id(random.Random(1), today(), "110105"))


@pytest.mark.parametrize("value, words", [
    (True, "boolean"), (False, "boolean"), ("30000000", "not a number"),
    (math.nan, "finite"), (math.inf, "finite"), (-math.inf, "finite"),
])
def test_a_feature_value_must_be_a_real_number(value, words):
    company = CompanyFactory()
    with pytest.raises(fd.FeatureRangeError) as exc:
        credit_snapshot_record(subject_kind="company", subject_id=company.pk, as_of=today(), features={"revenue_12m": value})
    assert exc.value.feature == "revenue_12m" and words in str(exc.value)
    assert not CompanyCreditSnapshot.objects.exists()


def test_the_admin_repayment_form_refuses_a_future_date(loan_now, client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "", "pw"))
    url = reverse("admin:loans_loan_repayment", args=[loan_now.pk])
    response = client.post(url, {"amount": "1000.00", "external_ref": "r-1", "received_on": "9999-12-31"})
    assert response.status_code == 200 and "in the future" in response.content.decode()
    assert not Repayment.objects.exists()


def test_the_admin_company_form_refuses_a_founding_date_before_1900(client, django_user_model):
    from loans.models import Company

    client.force_login(django_user_model.objects.create_superuser("boss", "", "pw"))
    data = {"legal_name": "测试公司", "uscc": make_uscc(random.Random(2)), "industry": "F", "province": "31", "founded_on": "1899-12-31",
            "registered_capital": "1.00", "employees": "3", "annual_revenue": "1.00", "status": "active",
            "related_parties-TOTAL_FORMS": "0", "related_parties-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:parties_company_add"), data)
    assert response.status_code == 200 and "1900-01-01" in response.content.decode()
    assert not Company.objects.exists()
