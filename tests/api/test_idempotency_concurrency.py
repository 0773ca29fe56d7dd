import threading

import pytest

from loans.api.idempotency import fingerprint
from loans.api.models import IdempotencyRecord
from loans.models import LoanApplication

from .conftest import client_for, issue_key


def test_fingerprint_ignores_key_order_but_not_values():
    a = fingerprint("POST", "/api/v1/applications/", {"amount": "1", "company": 2})
    b = fingerprint("post", "/api/v1/applications/", {"company": 2, "amount": "1"})
    c = fingerprint("POST", "/api/v1/applications/", {"company": 2, "amount": "2"})
    d = fingerprint("POST", "/api/v1/loans/1/repayments/", {"company": 2, "amount": "1"})
    assert a == b and len({a, c, d}) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["k" * 256, "a\x00b", "tab\there"])
def test_bad_keys_are_400(api, key):
    r = api.post("/api/v1/applications/", {}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]["fields"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_execute_once(on_postgres, partner, scored_company):
    # given
    company = scored_company()
    key = issue_key(partner)
    body = {"company": company["id"], "product": "sme-revolving", "amount": "100000.00", "term_months": 12}
    results = []
    barrier = threading.Barrier(4)

    def fire():
        from django.db import connection

        client = client_for(key)
        barrier.wait()
        try:
            r = client.post("/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY="same-key")
            results.append((r.status_code, r.json()))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=fire) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly one application; every answer is the first one or "in progress"
    assert LoanApplication.objects.count() == 1
    codes = sorted(code for code, _ in results)
    assert codes.count(201) >= 1 and set(codes) <= {201, 409}
    first = [body for code, body in results if code == 201]
    assert all(b == first[0] for b in first)
    assert IdempotencyRecord.objects.get().response_status == 201
