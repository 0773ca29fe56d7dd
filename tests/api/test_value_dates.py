"""Dates and feature values through the API: the services' rules answer 400 naming the field."""

import datetime
import random

import pytest
from django.utils import timezone

from config.demo.identities import make_resident_id
from loans.models import Company, Repayment
from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot

from .conftest import GOOD_COMPANY, GOOD_PERSON, company_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def loan(api, scored_company):
    company = scored_company()
    app = api.post("/api/v1/applications/", {"company": company["id"], "product": "sme-revolving", "amount": "200000.00",
                                              "term_months": 12}, format="json").json()
    line = api.post(f"/api/v1/applications/{app['id']}/accept/", format="json").json()
    r = api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", {"amount": "100000.00", "term_months": 6}, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def test_a_repayment_received_on_9999_12_31_is_400(api, loan):
    # when
    r = api.post(f"/api/v1/loans/{loan['id']}/repayments/",
                 {"amount": "1000.00", "external_ref": "bank-1", "received_on": "9999-12-31"}, format="json")
    # then nothing is booked and the loan is not made overdue
    assert r.status_code == 400, r.json()
    assert "received_on" in r.json()["error"]["fields"]
    assert not Repayment.objects.exists()
    assert api.get(f"/api/v1/loans/{loan['id']}/").json()["days_past_due"] == 0


@pytest.fixture
def company_id(api):
    r = api.post("/api/v1/companies/", company_body(related_parties=[]), format="json")
    assert r.status_code == 201, r.json()
    return r.json()["id"]


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1999-01-01"])
def test_credit_data_dated_absurdly_is_400(api, company_id, as_of):
    # 1999: before the company was founded (2016)
    r = api.post(f"/api/v1/companies/{company_id}/credit-data/", {"as_of": as_of, "company": GOOD_COMPANY}, format="json")
    assert r.status_code == 400, r.json()
    assert "as_of" in r.json()["error"]["fields"]
    assert not CompanyCreditSnapshot.objects.exists()


@pytest.mark.parametrize("value", [True, "NaN", "Infinity", "30000000"])
def test_a_company_feature_that_is_not_a_real_number_is_400_naming_it(api, company_id, value):
    body = {"as_of": timezone.localdate().isoformat(), "company": {**GOOD_COMPANY, "revenue_12m": value}}
    r = api.post(f"/api/v1/companies/{company_id}/credit-data/", body, format="json")
    assert r.status_code == 400, r.json()
    assert [k for k in r.json()["error"]["fields"] if k.startswith("company") and k.endswith("revenue_12m")]
    assert not CompanyCreditSnapshot.objects.exists()


def test_a_person_feature_that_is_a_boolean_is_400_naming_it(api):
    body = company_body()
    cid = api.post("/api/v1/companies/", body, format="json").json()["id"]
    rid = body["related_parties"][0]["id_number"]
    credit = {"as_of": timezone.localdate().isoformat(),
              "persons": [{"id_number": rid, "features": {**GOOD_PERSON, "defaults_60m": False}}]}
    r = api.post(f"/api/v1/companies/{cid}/credit-data/", credit, format="json")
    assert r.status_code == 400, r.json()
    assert any("defaults_60m" in k and k.startswith("persons") for k in r.json()["error"]["fields"])
    assert not PersonCreditSnapshot.objects.exists()


def test_a_related_party_born_in_2099_is_400(api):
    body = company_body()
    body["related_parties"][0]["id_number"] = make_resident_id(random.Random(3), datetime.date(2099, 1, 1), "310104")
    r = api.post("/api/v1/companies/", body, format="json")
    assert r.status_code == 400, r.json()
    assert "related_parties[0].id_number" in r.json()["error"]["fields"]
    assert not Company.objects.exists()
