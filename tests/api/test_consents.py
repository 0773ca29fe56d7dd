"""A partner registering a company's people says which credit checks each consented to."""

import pytest

from loans.models import CreditCheckConsent

from .conftest import company_body

pytestmark = pytest.mark.django_db


def test_consents_sent_with_the_people_are_recorded_per_source(api, partner):
    body = company_body()
    body["related_parties"][0].update(credit_check_consents=["bureau", "partner"], consent_evidence="esign-123")
    r = api.post("/api/v1/companies/", body, format="json")
    assert r.status_code == 201, r.json()
    consents = CreditCheckConsent.objects.filter(partner=partner).order_by("source")
    assert [(c.source, c.evidence, c.withdrawn_at) for c in consents] == [("bureau", "esign-123", None), ("partner", "esign-123", None)]
    assert {c.person.name for c in consents} == {body["related_parties"][0]["name"]}


def test_an_unknown_consent_source_is_a_field_error(api):
    body = company_body()
    body["related_parties"][1]["credit_check_consents"] = ["gossip"]
    r = api.post("/api/v1/companies/", body, format="json")
    assert r.status_code in (400, 422)
    assert "related_parties" in str(r.json()["error"]["fields"])
    assert not CreditCheckConsent.objects.exists()


def test_a_change_through_the_api_names_the_partner_in_the_history(api, partner):
    from loans.models import Company

    r = api.post("/api/v1/companies/", company_body(), format="json")
    assert r.status_code == 201, r.json()
    record = Company.objects.get(pk=r.json()["id"]).history.get()
    assert record.history_user is None and record.history_change_reason == f"partner API: partner #{partner.pk}"
