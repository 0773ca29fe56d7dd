"""Scores follow the data through the API: new credit data changes the company's latest score
within the request that brought it."""

import datetime

import pytest
from django.utils import timezone

from .conftest import GOOD_COMPANY, GOOD_PERSON, company_body

pytestmark = pytest.mark.django_db


def test_new_credit_data_changes_the_latest_score_within_the_request(
    api, products, champions, django_capture_on_commit_callbacks
):
    # given: a company with good credit data of yesterday, scored when it arrived
    today = timezone.localdate()
    body = company_body()
    company = api.post("/api/v1/companies/", body, format="json").json()
    ids = [p["id_number"] for p in body["related_parties"]]

    def post(as_of, company_features, person_features, in_default=False):
        credit = {
            "as_of": as_of.isoformat(),
            "company": company_features,
            "persons": [{"id_number": i, "features": person_features, "in_default": in_default} for i in ids],
        }
        with django_capture_on_commit_callbacks(execute=True):
            r = api.post(f"/api/v1/companies/{company['id']}/credit-data/", credit, format="json")
        assert r.status_code == 201, r.json()
        return api.get(f"/api/v1/companies/{company['id']}/").json()["latest_score"]

    before = post(today - datetime.timedelta(days=1), GOOD_COMPANY, GOOD_PERSON)
    assert before is not None and before["score"] >= 600
    # when: today the legal representative and the shareholder are in default
    after = post(today, GOOD_COMPANY, GOOD_PERSON, in_default=True)
    # then: the same request rescored the company: its latest score fell, the reason given
    assert after["as_of"] == today.isoformat()
    assert after["score"] < before["score"]
    assert after["reasons"][0]["code"] == "R01"
