"""An idempotency key held by a request that died is a lease: retried after it lapses (a few
seconds beyond the request timeout), the request runs exactly once."""

import datetime
import json
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from loans.api.idempotency import _claim, fingerprint, idempotent
from loans.api.models import IdempotencyRecord
from loans.models import LoanApplication, Partner

from .conftest import client_for, issue_key

PATH = "/api/v1/applications/"


def abandoned_claim(partner, key, body, *, seconds_ago):
    """What a server killed mid-request leaves behind: its claim on the key, made
    ``seconds_ago``, never completed."""
    record, created = _claim(partner.pk, key, fingerprint("POST", PATH, body))
    assert created
    made = timezone.now() - datetime.timedelta(seconds=seconds_ago)
    lease = datetime.timedelta(seconds=getattr(settings, "IDEMPOTENCY_LEASE_SECONDS", 35))
    fields = {"created_at": made}
    if hasattr(record, "lease_until"):
        fields["lease_until"] = made + lease
    IdempotencyRecord.objects.filter(pk=record.pk).update(**fields)
    return record


def application_body(company):
    return {"company": company["id"], "product": "sme-revolving", "amount": "100000.00", "term_months": 12}


@pytest.mark.django_db
def test_a_key_left_by_a_killed_request_is_taken_over_once_its_lease_lapsed(api, partner, scored_company):
    # given: the server was killed mid-request 6 s after the lease (request timeout + 5 s) ran out
    body = application_body(scored_company())
    abandoned_claim(partner, "killed-1", body, seconds_ago=settings.REQUEST_TIMEOUT + 5 + 6)
    # when: the partner retries with the same key
    r = api.post(PATH, body, format="json", HTTP_IDEMPOTENCY_KEY="killed-1")
    # then: it is done, exactly once, and the next retry replays it
    assert r.status_code == 201, r.json()
    assert LoanApplication.objects.count() == 1
    record = IdempotencyRecord.objects.get(key="killed-1")
    assert (record.response_status, record.attempt) == (201, 2)
    again = api.post(PATH, body, format="json", HTTP_IDEMPOTENCY_KEY="killed-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.json() == r.json()
    assert LoanApplication.objects.count() == 1


@pytest.mark.django_db
def test_a_key_within_its_lease_answers_409_with_retry_after(api, partner, scored_company):
    body = application_body(scored_company())
    abandoned_claim(partner, "busy-1", body, seconds_ago=1)
    r = api.post(PATH, body, format="json", HTTP_IDEMPOTENCY_KEY="busy-1")
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_in_progress"
    assert 1 <= int(r["Retry-After"]) <= settings.IDEMPOTENCY_LEASE_SECONDS
    assert not LoanApplication.objects.exists()


@pytest.mark.django_db
def test_a_lapsed_key_with_another_body_is_still_refused(api, partner, scored_company):
    body = application_body(scored_company())
    abandoned_claim(partner, "killed-2", body, seconds_ago=600)
    r = api.post(PATH, {**body, "amount": "200000.00"}, format="json", HTTP_IDEMPOTENCY_KEY="killed-2")
    assert r.status_code == 422
    assert not LoanApplication.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_retries_after_the_lapse_execute_once(on_postgres, partner, scored_company):
    # given: a lapsed claim, and four retries of it at the same moment
    body = application_body(scored_company())
    abandoned_claim(partner, "killed-3", body, seconds_ago=600)
    key = issue_key(partner)
    barrier = threading.Barrier(4)
    results = []

    def retry():
        client = client_for(key)
        barrier.wait()
        try:
            r = client.post(PATH, body, format="json", HTTP_IDEMPOTENCY_KEY="killed-3")
            results.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then: one took the key over and did the work; the others saw it in progress or replayed it
    assert LoanApplication.objects.count() == 1
    codes = [code for code, _ in results]
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}, results
    # (the same answer: a replay comes from the stored record, whose JSON PostgreSQL keeps with
    # its keys in its own order, so compare the bodies, not their key order)
    assert len({json.dumps(b, sort_keys=True) for code, b in results if code == 201}) == 1
    assert IdempotencyRecord.objects.filter(key="killed-3", response_status=201, attempt=2).count() == 1


class _SlowCreate(APIView):
    """Creates a row; the first call waits (inside its transaction) until told to go on."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    first_started = threading.Event()
    go_on = threading.Event()
    calls = 0

    @idempotent
    def post(self, request):
        cls = type(self)
        cls.calls += 1
        work = Partner.objects.create(name=f"work of call {cls.calls}")
        if cls.calls == 1:
            cls.first_started.set()
            assert cls.go_on.wait(20)
        return Response({"partner": work.pk}, status=201)


@pytest.mark.django_db(transaction=True)
def test_a_request_that_outlived_its_lease_and_was_taken_over_rolls_its_work_back(on_postgres, settings, partner):
    # given: a lease that lapses at once, and a first request still working under the key
    settings.IDEMPOTENCY_LEASE_SECONDS = 0
    factory = APIRequestFactory()

    def request():
        req = factory.post("/api/v1/slow/", {"n": 1}, format="json", HTTP_IDEMPOTENCY_KEY="slow-1")
        from loans.api.authentication import PartnerPrincipal

        force_authenticate(req, user=PartnerPrincipal(partner.pk, partner.name, "test"))
        return req

    first = {}

    def first_request():
        try:
            first["response"] = _SlowCreate.as_view()(request())
            first["response"].render()
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert _SlowCreate.first_started.wait(20)
    # when: a retry takes the key over and completes while the first still works
    retry = _SlowCreate.as_view()(request())
    retry.render()
    _SlowCreate.go_on.set()
    thread.join(20)
    # then: the retry's work is the only one, and the first request answers with it
    assert retry.status_code == 201
    assert list(Partner.objects.filter(name__startswith="work of call").values_list("name", flat=True)) == [
        "work of call 2"
    ]
    assert first["response"].status_code == 201 and first["response"].data == retry.data
    assert first["response"]["Idempotent-Replayed"] == "true"
