import datetime
import random

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from config.demo import starter
from config.demo.borrowers import ensure_products
from config.demo.identities import make_resident_id, make_uscc
from loans.api.models import PartnerAPIKey
from loans.models import Partner

_rng = random.Random(6)

GOOD_PERSON = starter.GOOD_PERSON
GOOD_COMPANY = starter.GOOD_COMPANY


def new_uscc() -> str:
    return make_uscc(_rng)


def new_resident_id() -> str:
    return make_resident_id(_rng, datetime.date(1982, 4, 9))


def company_body(**overrides) -> dict:
    body = {
        "name": "上海测试贸易有限公司",
        "uscc": new_uscc(),
        "industry": "F",
        "province": "31",
        "founded_on": "2016-05-01",
        "registered_capital": "1000000.00",
        "employees": 30,
        "annual_revenue": "8000000.00",
        "related_parties": [
            {"name": "张伟", "id_number": new_resident_id(), "role": "legal_representative"},
            {"name": "李娜", "id_number": new_resident_id(), "role": "shareholder", "ownership_pct": "60.00"},
        ],
    }
    body.update(overrides)
    return body


def issue_key(partner: Partner, **kwargs) -> str:
    _, key = PartnerAPIKey.objects.create_key(name="test", partner=partner, **kwargs)
    return key


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def partner(db):
    return Partner.objects.create(name="Channel A")


@pytest.fixture
def other_partner(db):
    return Partner.objects.create(name="Channel B")


@pytest.fixture
def api(partner):
    return client_for(issue_key(partner))


@pytest.fixture
def other_api(other_partner):
    return client_for(issue_key(other_partner))


@pytest.fixture
def products(db):
    ensure_products()


@pytest.fixture
def champions(db):
    starter.promote_starter_champions()


@pytest.fixture
def scored_company(api, products, champions):
    """A company registered and given credit data through the API."""

    def make(**overrides):
        body = company_body(**overrides)
        r = api.post("/api/v1/companies/", body, format="json")
        assert r.status_code == 201, r.json()
        company = r.json()
        credit = {
            "as_of": timezone.localdate().isoformat(),
            "company": GOOD_COMPANY,
            "persons": [{"id_number": p["id_number"], "features": GOOD_PERSON} for p in body["related_parties"]],
        }
        r = api.post(f"/api/v1/companies/{company['id']}/credit-data/", credit, format="json")
        assert r.status_code == 201, r.json()
        return company

    return make


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
