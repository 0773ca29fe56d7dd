"""The OpenAPI contract, checked by schemathesis against the WSGI app with a valid key:
no 5xx, and every response matches the schema for its status.  Small example budget."""

import contextlib
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from config.wsgi import application
from loans.api.webhook_addresses import DeliveryFailed

from .conftest import GOOD_COMPANY, GOOD_PERSON, company_body, issue_key

MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "30"))


# Loaded at collection from the app itself (schemathesis.pytest.from_fixture relies on a pytest
# internal that pytest 9 removed; the schema endpoint needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
schema.config.generation.update(database="none")  # no .hypothesis/ left in the tree


@pytest.fixture
def no_outbound_webhooks(monkeypatch):
    # Endpoints registered by generated requests must never be called: nothing leaves the machine.
    def refuse(*args, **kwargs):
        raise DeliveryFailed("connection_refused", "webhooks are not sent in the contract test")

    monkeypatch.setattr("loans.api.webhook_addresses.webhook_post", refuse)


@contextlib.contextmanager
def keep_test_connection():
    # Like Django's test client: calling the WSGI app must not close the test's connection
    # (that would end the test transaction on PostgreSQL).
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(partner, api, products, champions, no_outbound_webhooks):
    # Some real objects so that not every generated id is a 404.
    from django.utils import timezone

    body = company_body()
    cid = api.post("/api/v1/companies/", body, format="json").json()["id"]
    api.post(
        f"/api/v1/companies/{cid}/credit-data/",
        {"as_of": timezone.localdate().isoformat(), "company": GOOD_COMPANY,
         "persons": [{"id_number": p["id_number"], "features": GOOD_PERSON} for p in body["related_parties"]]},
        format="json",
    )
    return issue_key(partner)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_contract(case, api_key):
    with keep_test_connection():
        response = case.call(headers={"Authorization": f"Api-Key {api_key}"})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
