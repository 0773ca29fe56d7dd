"""Borrower files are per partner: what one partner registers or sends never sways another
partner's decisions and never comes back to it (README, "Whose data counts")."""

import datetime

import pytest
from django.utils import timezone

from loans.models import Company, Person
from scoring.models import PersonCreditSnapshot

from .conftest import GOOD_COMPANY, GOOD_PERSON, company_body, new_resident_id, new_uscc

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def _register(api, **overrides):
    r = api.post("/api/v1/companies/", company_body(**overrides), format="json")
    assert r.status_code == 201, r.json()
    return r.json()


def _credit(api, company_id, *, as_of, persons, company=GOOD_COMPANY, **extra):
    body = {"as_of": as_of.isoformat(), "company": company, **({"persons": persons} if persons else {}), **extra}
    return api.post(f"/api/v1/companies/{company_id}/credit-data/", body, format="json")


def _apply(api, company_id):
    r = api.post("/api/v1/applications/", {"company": company_id, "product": "sme-revolving", "amount": "200000.00",
                                           "term_months": 12}, format="json")
    assert r.status_code == 201, r.json()
    return r.json()


@pytest.fixture
def b_company(other_api, products, champions):
    """Partner B's customer: legal representative 王芳 (resident ID ``rep``), good credit data."""
    rep = new_resident_id()
    company = _register(other_api, name="深圳乙方科技有限公司", related_parties=[
        {"name": "王芳", "id_number": rep, "role": "legal_representative"},
    ])
    r = _credit(other_api, company["id"], as_of=TODAY - datetime.timedelta(days=1),
                persons=[{"id_number": rep, "features": GOOD_PERSON}])
    assert r.status_code == 201, r.json()
    return company, rep


def test_a_partner_cannot_sway_another_partners_decision_through_a_shared_person(api, other_api, b_company):
    # given partner B's customer, and partner A's shell company with B's legal representative
    company_b, rep = b_company
    shell = _register(api, name="甲方空壳贸易有限公司", related_parties=[
        {"name": "王芳", "id_number": rep, "role": "legal_representative"},
    ])
    # when A posts fresher credit data for that person, saying they are in default
    r = _credit(api, shell["id"], as_of=TODAY, persons=[{"id_number": rep, "in_default": True, "features": GOOD_PERSON}])
    assert r.status_code == 201, r.json()
    # then B's next decision is the one B's own data gives: approved, no knock-out
    decided = _apply(other_api, company_b["id"])
    codes = [reason["code"] for reason in decided["reasons"]]
    assert "KO_PARTY_IN_DEFAULT" not in codes
    assert decided["status"] == "approved", decided
    # and A's data counts where A is entitled to it: its own company
    assert "KO_PARTY_IN_DEFAULT" in [reason["code"] for reason in _apply(api, shell["id"])["reasons"]]


def test_registering_another_partners_person_under_another_name_gives_back_your_own_name(api, b_company):
    # given B registered 王芳
    _, rep = b_company
    # when A registers the same resident ID as 李四
    shell = _register(api, related_parties=[{"name": "李四", "id_number": rep, "role": "legal_representative"}])
    # then A gets its own record back: its own name, nothing of B's
    assert [p["name"] for p in shell["related_parties"]] == ["李四"]
    detail = api.get(f"/api/v1/companies/{shell['id']}/").json()
    assert [p["name"] for p in detail["related_parties"]] == ["李四"]
    assert "王芳" not in str(detail)
    a_record, b_record = Person.objects.filter(name__in=["李四", "王芳"]).order_by("name")
    assert a_record.pk != b_record.pk and a_record.resident_id_hash == b_record.resident_id_hash


def test_registering_another_partners_uscc_creates_your_own_company(api, other_api, partner, b_company):
    # given B registered a company
    company_b, _ = b_company
    # when A registers the same USCC under its own name and people
    mine = _register(api, name="甲方自己的名字有限公司", uscc=company_b["uscc"])
    # then A gets a new company of its own (201), and nothing of B's comes back
    assert mine["id"] != company_b["id"] and mine["name"] == "甲方自己的名字有限公司"
    assert Company.objects.get(pk=mine["id"]).partner == partner
    body = str(mine) + str(api.get("/api/v1/companies/").json())
    assert company_b["name"] not in body and "王芳" not in body
    # registering it again in A's own file is what is refused
    again = api.post("/api/v1/companies/", company_body(uscc=company_b["uscc"], related_parties=[]), format="json")
    assert again.status_code == 400 and "uscc" in again.json()["error"]["fields"]
    # and B still sees only its own company
    assert [c["id"] for c in other_api.get("/api/v1/companies/").json()["results"]] == [company_b["id"]]


def test_a_partner_cannot_claim_bureau_data(api, products):
    # given
    company = _register(api)
    # when the partner labels its data as coming from a bureau
    r = _credit(api, company["id"], as_of=TODAY, persons=[], source="bureau")
    # then it is refused, naming the field, and nothing is written
    assert r.status_code == 400, r.json()
    assert "source" in r.json()["error"]["fields"]
    # and data it may send is recorded as the partner's
    assert _credit(api, company["id"], as_of=TODAY, persons=[], source="partner").status_code == 201
    from scoring.models import CompanyCreditSnapshot

    assert list(CompanyCreditSnapshot.objects.values_list("source", flat=True)) == ["partner"]


def test_credit_data_for_another_partners_person_record_is_not_attached(api, other_api, b_company):
    # given B's person, and A's company without that person
    _, rep = b_company
    mine = _register(api)
    # when A names B's person in its own company's credit data
    r = _credit(api, mine["id"], as_of=TODAY, persons=[{"id_number": rep, "in_default": True, "features": GOOD_PERSON}])
    # then it is refused as a stranger to A's company, and B's record is untouched
    assert r.status_code == 400 and "persons[0].id_number" in r.json()["error"]["fields"]
    assert not PersonCreditSnapshot.objects.filter(in_default=True).exists()


def test_onboarding_the_same_person_twice_in_one_file_finds_your_record(api):
    rep = new_resident_id()
    first = _register(api, related_parties=[{"name": "张伟", "id_number": rep, "role": "legal_representative"}])
    second = _register(api, uscc=new_uscc(), related_parties=[{"name": "张伟", "id_number": rep, "role": "director"}])
    assert first["related_parties"][0]["person_id"] == second["related_parties"][0]["person_id"]
