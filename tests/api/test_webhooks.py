import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from loans.api import signing
from loans.api.models import WebhookDelivery, WebhookEndpoint
from loans.api.webhooks import backoff_seconds, webhook_emit, webhooks_retry_due

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A partner's webhook endpoint on 127.0.0.1, in a thread."""

    def __init__(self, status=200):
        self.status = status
        self.received: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_sign_and_verify_round_trip():
    body = b'{"a":1}'
    header = signing.sign(body, "whsec_x", timestamp=1_700_000_000)
    assert signing.verify(body, header, "whsec_x", now=1_700_000_100) == 1_700_000_000
    with pytest.raises(signing.SignatureVerificationError):
        signing.verify(body + b" ", header, "whsec_x", now=1_700_000_100)
    with pytest.raises(signing.SignatureVerificationError):
        signing.verify(body, header, "whsec_other", now=1_700_000_100)
    with pytest.raises(signing.SignatureVerificationError):  # outside the 5-minute tolerance
        signing.verify(body, header, "whsec_x", now=1_700_000_301)
    with pytest.raises(signing.SignatureVerificationError):
        signing.verify(body, "garbage", "whsec_x")


def test_backoff_is_exponential_and_capped():
    assert [backoff_seconds(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_seconds(30) == 6 * 60 * 60


def test_application_decided_arrives_signed(api, scored_company, receiver):
    # given an endpoint registered through the API
    r = api.post("/api/v1/webhook-endpoints/", {"url": receiver.url, "events": ["application.decided"]}, format="json")
    assert r.status_code == 201, r.json()
    secret = r.json()["secret"]
    company = scored_company()
    # when an application is decided
    app = api.post(
        "/api/v1/applications/",
        {"company": company["id"], "product": "sme-revolving", "amount": "100000.00", "term_months": 12},
        format="json",
    ).json()
    # then the partner receives one signed event
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    signing.verify(body, headers[signing.HEADER], secret)
    event = json.loads(body)
    assert event["type"] == "application.decided"
    assert event["data"]["application_id"] == app["id"] and event["data"]["status"] == app["status"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.last_response_code == 200
    # and the partner sees it in its delivery log
    log = api.get("/api/v1/webhook-deliveries/").json()["results"]
    assert log[0]["event_type"] == "application.decided" and log[0]["status"] == "succeeded"


def test_failed_delivery_is_retried_with_backoff_and_can_be_resent(partner, api):
    failing = Receiver(status=500)
    try:
        endpoint = WebhookEndpoint.objects.create(partner=partner, url=failing.url)
        # when another app emits (e.g. monitoring freezing a line)
        webhook_emit(partner_id=partner.pk, event_type="credit_line.changed", payload={"credit_line_id": 7, "change": "frozen"})
        delivery = WebhookDelivery.objects.get()
        # then it failed once and waits ~30 s for the next attempt
        assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_response_code == 500
        assert 25 <= (delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() <= 35
        assert webhooks_retry_due() == 0  # not due yet
        # when the partner fixes its endpoint and asks for a re-send
        failing.status = 200
        r = api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend/", format="json")
        assert r.status_code == 202
        delivery.refresh_from_db()
        assert delivery.status == "succeeded"
        assert len(failing.received) == 2
        headers, body = failing.received[-1]
        signing.verify(body, headers[signing.HEADER], endpoint.secret)
    finally:
        failing.close()


def test_emit_inside_a_rolled_back_transaction_sends_nothing(partner, receiver):
    from django.db import transaction

    WebhookEndpoint.objects.create(partner=partner, url=receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        webhook_emit(partner_id=partner.pk, event_type="loan.overdue", payload={"loan_id": 1})
        raise RuntimeError
    time.sleep(0.05)
    assert receiver.received == [] and WebhookDelivery.objects.count() == 0


def test_endpoint_filters_events_and_other_partners(partner, other_partner, receiver):
    WebhookEndpoint.objects.create(partner=partner, url=receiver.url, events=["loan.overdue"])
    webhook_emit(partner_id=partner.pk, event_type="credit_line.changed", payload={})
    webhook_emit(partner_id=other_partner.pk, event_type="loan.overdue", payload={})
    assert receiver.received == []
    webhook_emit(partner_id=partner.pk, event_type="loan.overdue", payload={"loan_id": 3, "days_past_due": 1})
    assert len(receiver.received) == 1


def test_admin_resend_action(admin_client, partner, receiver):
    endpoint = WebhookEndpoint.objects.create(partner=partner, url=receiver.url)
    webhook_emit(partner_id=partner.pk, event_type="post_loan_action.executed", payload={"action": "freeze"})
    d = WebhookDelivery.objects.get(endpoint=endpoint)
    r = admin_client.post("/admin/partner_api/webhookdelivery/", {"action": "resend", "_selected_action": [d.pk]})
    assert r.status_code == 302
    assert len(receiver.received) == 2
    assert admin_client.get("/admin/partner_api/webhookdelivery/").status_code == 200
    assert admin_client.get("/admin/partner_api/partnerapikey/add/").status_code == 200
