import datetime
import random

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loans.api.models import PartnerAPIKey
from loans.demo import ensure_products
from loans.models import Partner
from loans.synthetic import make_resident_id, make_uscc

_rng = random.Random(6)

SCALING = {"base_points": 600.0, "base_odds": 19.0, "pdo": 40.0, "factor": 57.70780163555854,
           "offset": 430.0810361751152, "min_score": 0, "max_score": 950}
TIERS = [["A", 750], ["B", 700], ["C", 650], ["D", 600], ["E", 0]]
PERSON_CARD = {
    "characteristics": [
        {"name": "ontime_ratio_24m", "dimension": "credit_history", "kind": "numeric",
         "edges": [0.8, 0.95], "points": [20.0, 60.0, 110.0], "points_missing": 40.0},
        {"name": "debt_to_income", "dimension": "ability", "kind": "numeric",
         "edges": [0.3, 0.6], "points": [150.0, 110.0, 40.0], "points_missing": 90.0},
        {"name": "verification_level", "dimension": "identity", "kind": "numeric",
         "edges": [1, 2, 3], "points": [100.0, 140.0, 180.0, 200.0], "points_missing": 100.0},
        {"name": "connections_with_defaults", "dimension": "social", "kind": "numeric",
         "edges": [1, 3], "points": [260.0, 200.0, 120.0], "points_missing": 200.0},
    ],
    "scaling": SCALING, "tiers": TIERS,
}
COMPANY_CARD = {
    "characteristics": [
        {"name": "revenue_12m", "dimension": "scale", "kind": "numeric",
         "edges": [1e6, 1e7], "points": [150.0, 250.0, 330.0], "points_missing": 180.0},
        {"name": "lawsuits_24m", "dimension": "compliance", "kind": "numeric",
         "edges": [1, 3], "points": [380.0, 300.0, 200.0], "points_missing": 300.0},
    ],
    "scaling": SCALING, "tiers": TIERS,
}
GOOD_PERSON = {"ontime_ratio_24m": 0.99, "debt_to_income": 0.1, "verification_level": 3, "connections_with_defaults": 0}
GOOD_COMPANY = {"revenue_12m": 5e7, "lawsuits_24m": 0}


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
    from scoring import services

    for kind, card in (("person", PERSON_CARD), ("company", COMPANY_CARD)):
        model = services.score_model_create(subject_kind=kind, scorecard=card, metrics={}, reference_distribution={}, trained_on={})
        services.score_model_promote(model=model)


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
