"""The published OpenAPI contract against the server, with real objects.

A client generated from /api/schema/ crashed on GET /loans/{id}/schedule/ (the schema declared a
page, the server answered a list) and the old contract test never saw it: its generated ids
were all 404s.  So:

- :func:`test_every_operation_answers_as_declared` walks EVERY operation of the schema once with
  a valid request on real objects (a company with credit data, an application, a credit line, a
  booked loan, a repayment, a webhook endpoint and a delivery) and checks each answer against the
  schema; an operation added to the API without a call here fails the test;
- :func:`test_api_contract` lets schemathesis generate requests, valid and invalid, with path
  ids that mostly name those real objects, and checks every answer, errors included: no 5xx,
  a declared status code, a declared content type and headers, a body that conforms.

The example budget is small (CONTRACT_MAX_EXAMPLES per operation and mode, 8 by default) and
the generation seeded (CONTRACT_SEED, 1 by default), so that CI runs the same cases in seconds;
for a deeper search raise the one and vary the other, e.g.
CONTRACT_MAX_EXAMPLES=100 CONTRACT_SEED=$RANDOM.
"""

import contextlib
import datetime
import os

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from loans.api.models import WebhookDelivery
from loans.api.webhook_addresses import DeliveryFailed

from .conftest import GOOD_COMPANY, GOOD_PERSON, company_body, issue_key

MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance,
]

# Loaded at collection from the app itself (schemathesis.pytest.from_fixture relies on a pytest
# internal that pytest 9 removed; the schema endpoint needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
schema.config.seed = int(os.environ.get("CONTRACT_SEED", "1"))
schema.config.generation.update(
    database="none",  # no .hypothesis/ left in the tree
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    # The test sends a valid key itself (a missing or bad key is tests/api/test_auth_and_errors.py's),
    # and unknown query parameters are ignored, as HTTP APIs do.
    with_security_parameters=False,
    allow_extra_parameters=False,
)


@pytest.fixture(autouse=True)
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


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One of everything a partner can reach, made through the API as a partner makes it.  Made
    once for the module, in a transaction rolled back at its end; each test runs in a savepoint
    inside it (pytest-django's), so what one test changes the next does not see."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield make_world()
        transaction.set_rollback(True)


def make_world() -> dict:
    from config.demo import starter
    from config.demo.borrowers import ensure_products
    from loans.models import Partner

    from .conftest import client_for

    def ok(response, status=201):
        assert response.status_code == status, response.content
        return response.json()

    ensure_products()
    starter.promote_starter_champions()
    partner = Partner.objects.create(name="Contract partner")
    key = issue_key(partner)
    api = client_for(key)
    endpoint = ok(api.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:9/hooks"}, format="json"))
    body = company_body()
    company = ok(api.post("/api/v1/companies/", body, format="json"))
    ok(api.post(
        f"/api/v1/companies/{company['id']}/credit-data/",
        {"as_of": timezone.localdate().isoformat(), "company": GOOD_COMPANY,
         "persons": [{"id_number": p["id_number"], "features": GOOD_PERSON} for p in body["related_parties"]]},
        format="json",
    ))
    applied = {"company": company["id"], "product": "sme-revolving", "amount": "200000.00", "term_months": 12}
    app = ok(api.post("/api/v1/applications/", applied, format="json"))
    offer = ok(api.post("/api/v1/applications/", applied, format="json"))  # left for the walk to accept
    assert app["status"] == offer["status"] == "approved", (app, offer)
    line = ok(api.post(f"/api/v1/applications/{app['id']}/accept/", format="json"))
    loan = ok(api.post(f"/api/v1/credit-lines/{line['id']}/drawdowns/", {"amount": "50000.00", "term_months": 6}, format="json"))
    repayment = ok(api.post(f"/api/v1/loans/{loan['id']}/repayments/", {"amount": "1000.00", "external_ref": "bank-1"}, format="json"))
    # A collateral request on the line, sent (for the post-loan actions' operations).
    from django.contrib.auth import get_user_model

    from monitoring.actions import post_loan_action_approve, post_loan_action_execute, post_loan_action_propose

    request = post_loan_action_propose(
        kind="require_collateral", credit_line_id=line["id"],
        params={"amount_needed": "10000.00", "due_date": (timezone.localdate() + datetime.timedelta(days=30)).isoformat()},
    )
    checker = get_user_model().objects.create_user("contract-checker", password="x")
    post_loan_action_approve(action_id=request.pk, actor=checker)
    post_loan_action_execute(action_id=request.pk, actor=checker)
    # The decision's webhook: queued in the module's transaction, which never commits: never sent.
    delivery = WebhookDelivery.objects.filter(endpoint_id=endpoint["id"]).first()
    assert delivery is not None
    return {
        "key": key, "company": company["id"], "application": app["id"], "offer": offer["id"], "credit_line": line["id"],
        "loan": loan["id"], "repayment": repayment["id"], "webhook_endpoint": endpoint["id"], "delivery": delivery.pk,
        "action": request.pk,
    }


# Which real object an operation's {id} names, by path prefix.
ID_OF = {
    "/api/v1/companies/": "company", "/api/v1/applications/": "application", "/api/v1/credit-lines/": "credit_line",
    "/api/v1/loans/": "loan", "/api/v1/webhook-endpoints/": "webhook_endpoint", "/api/v1/webhook-deliveries/": "delivery",
    "/api/v1/post-loan-actions/": "action",
}


def real_id(path: str, world: dict) -> int:
    return world[next(v for k, v in ID_OF.items() if path.startswith(k))]


def valid_calls(world: dict) -> list[tuple[str, dict]]:
    """One valid request per operation, in an order that leaves each one's object usable."""
    today = timezone.localdate()
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    today = today.isoformat()
    second = company_body()
    return [
        ("companies_list", {"query": {"page_size": 1}}),
        ("companies_create", {"body": second}),
        ("companies_retrieve", {}),
        ("companies_credit_data_create", {"body": {"as_of": yesterday, "company": GOOD_COMPANY, "source": "partner"}}),
        ("applications_list", {"query": {"status": "approved"}}),
        ("applications_retrieve", {}),
        ("applications_create", {"body": {"company": world["company"], "product": "sme-revolving", "amount": "10000.00",
                                          "term_months": 6}, "headers": {"Idempotency-Key": "contract-app"}}),
        ("applications_accept", {"path": {"id": world["offer"]}}),
        ("credit_lines_list", {"query": {"company": world["company"]}}),
        ("credit_lines_retrieve", {}),
        ("credit_lines_drawdowns_create", {"body": {"amount": "1000.00", "term_months": 3}}),
        ("loans_list", {"query": {"status": "active"}}),
        ("loans_retrieve", {}),
        ("loans_schedule", {}),
        ("loans_repayments_create", {"body": {"amount": "500.00", "external_ref": "bank-2", "received_on": today}}),
        ("webhook_endpoints_list", {}),
        ("webhook_endpoints_create", {"body": {"url": "http://127.0.0.1:9/other", "events": ["loan.overdue"]}}),
        ("webhook_deliveries_list", {}),
        ("webhook_deliveries_resend", {}),
        ("webhook_endpoints_destroy", {}),
        ("post_loan_actions_list", {"query": {"company": world["company"], "status": "executed"}}),
        ("post_loan_actions_retrieve", {}),
        ("post_loan_actions_pledge", {"body": {"collateral": {"kind": "equipment", "description": "lathe",
                                                              "appraised_value": "20000.00", "valued_on": today}}}),
    ]


@pytest.mark.django_db
def test_every_operation_answers_as_declared(world):
    # given every operation the schema publishes
    operations = {op.ok().definition.raw["operationId"]: op.ok() for op in schema.get_all_operations()}
    calls = valid_calls(world)
    assert sorted(name for name, _ in calls) == sorted(operations), "every operation needs a valid call here"
    for name, call in calls:
        operation = operations[name]
        path = dict(call.get("path", {}))
        if "{id}" in operation.path and "id" not in path:
            path["id"] = real_id(operation.path, world)
        kwargs = {"body": call["body"]} if "body" in call else {}
        case = operation.Case(path_parameters=path, query=call.get("query"), headers=call.get("headers"), **kwargs)
        # when a partner makes it on real objects
        with keep_test_connection():
            response = case.call(headers={"Authorization": f"Api-Key {world['key']}"})
        # then it succeeds and the answer is the one declared
        assert 200 <= response.status_code < 300, (name, response.status_code, response.text)
        case.validate_response(response, checks=CHECKS)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_contract(case, world):
    # Most generated ids name the real object, so that requests get past the 404; the rest stay
    # as generated (mostly 404s, which must conform too).
    generated = case.path_parameters.get("id")
    if isinstance(generated, int) and generated % 4 != 3:
        case.path_parameters["id"] = real_id(case.operation.path, world)
    with keep_test_connection():
        response = case.call(headers={"Authorization": f"Api-Key {world['key']}"})
    case.validate_response(response, checks=[*CHECKS, negative_data_rejection])
