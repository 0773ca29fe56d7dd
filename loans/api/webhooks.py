"""Partner webhooks: emit inside a transaction, deliver after commit, signed.

Other apps call :func:`webhook_emit` where the change happens, inside their transaction::

    from loans.api.webhooks import webhook_emit
    webhook_emit(partner_id=line.partner_id, event_type="credit_line.changed",
                 payload={"credit_line_id": line.pk, "change": "frozen", "status": line.status})

Events: ``application.decided``, ``credit_line.changed`` (change: limit_cut | limit_raised |
frozen | unfrozen | closed | loan_written_off), ``loan.overdue``, ``post_loan_action.executed``
(sent by ``monitoring.actions`` when an action on the partner's line or loan is executed).  One delivery row per active
endpoint of the partner that wants the event; each is sent by the Celery task
``deliver_webhook`` once the transaction commits (nothing is sent for a rolled-back change).
"""

from __future__ import annotations

import datetime
import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from loans import rawsql

from . import signing, webhook_addresses
from .models import WebhookDelivery, WebhookEndpoint, WebhookEvent

logger = logging.getLogger("loans.api.webhooks")

TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 6 * 60 * 60
USER_AGENT = "sme-lending-webhooks/1"


def backoff_seconds(attempts: int) -> int:
    """30 s, 60 s, 2 min, 4 min … capped at 6 h: exponential in the attempts made."""
    return min(BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


_ENDPOINT_FIELDS = tuple(f.attname for f in WebhookEndpoint._meta.concrete_fields)
_ENDPOINT = rawsql.column_names(WebhookEndpoint)
# Precompiled (see loans/rawsql.py): every application POST looks up its partner's endpoints.
_ENDPOINTS_SQL = (
    f"SELECT {rawsql.columns(WebhookEndpoint, _ENDPOINT_FIELDS, 'e')} FROM \"{WebhookEndpoint._meta.db_table}\" e "
    f"WHERE e.{_ENDPOINT['partner']} = %s AND e.{_ENDPOINT['is_active']} = %s ORDER BY e.{_ENDPOINT['id']} DESC"
)


def webhook_endpoints_for_event(*, partner_id: int | None, event_type: str) -> list[WebhookEndpoint]:
    """The partner's active endpoints that want ``event_type``, newest first."""
    if partner_id is None:
        return []
    with connection.cursor() as cur:
        cur.execute(_ENDPOINTS_SQL, [partner_id, True])
        rows = cur.fetchall()
    convs = rawsql.converters(WebhookEndpoint, _ENDPOINT_FIELDS)
    endpoints = (rawsql.instance(WebhookEndpoint, _ENDPOINT_FIELDS, row, convs) for row in rows)
    return [e for e in endpoints if e.wants(event_type)]


def webhook_emit(
    *, partner_id: int | None, event_type: str, payload: dict, endpoints: list[WebhookEndpoint] | None = None
) -> list[int]:
    """Queue ``event_type`` for the partner's endpoints; returns the delivery ids.  Safe to
    call inside a transaction: delivery is dispatched on commit.  ``endpoints`` may be looked
    up beforehand (:func:`webhook_endpoints_for_event`) to keep a hot transaction short."""
    if event_type not in WebhookEvent.values:
        raise ValueError(f"Unknown webhook event {event_type!r}")
    if partner_id is None:
        return []
    # Round-trip through JSON so Decimals and dates are stored as the partner will read them.
    clean = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    if endpoints is None:
        endpoints = webhook_endpoints_for_event(partner_id=partner_id, event_type=event_type)
    if not endpoints:
        return []
    deliveries = [WebhookDelivery(endpoint=e, event_type=event_type, payload=clean, next_attempt_at=timezone.now()) for e in endpoints]
    rawsql.insert(deliveries)  # one precompiled INSERT: decisions emit inside their transaction
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _dispatch(ids))
    return ids


def _dispatch(delivery_ids: list[int]) -> None:
    from .tasks import deliver_webhook

    for delivery_id in delivery_ids:
        try:
            deliver_webhook.delay(delivery_id)
        except Exception:  # a broker hiccup must not fail the committed request
            logger.exception("Could not enqueue webhook delivery %s; the retry sweep will send it", delivery_id)


def event_body(delivery: WebhookDelivery) -> bytes:
    event = {
        "id": f"evt_{delivery.event_id.hex}",
        "type": delivery.event_type,
        "created": int(delivery.created_at.timestamp()),
        "data": delivery.payload,
    }
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def delivery_attempt(delivery_id: int) -> bool:
    """Send one attempt; record its outcome; True when the partner answered 2xx."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == WebhookDelivery.Status.SUCCEEDED:
        return True
    body = event_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.HEADER: signing.sign(body, delivery.endpoint.secret),
        "Sme-Event-Id": f"evt_{delivery.event_id.hex}",
        "Sme-Event-Type": delivery.event_type,
    }
    now = timezone.now()
    code, failure, error = None, "", ""
    try:
        # Only to the address checked at this attempt; no redirects; the answer's body unread.
        code = webhook_addresses.webhook_post(delivery.endpoint.url, body=body, headers=headers, timeout=TIMEOUT_SECONDS)
        ok = 200 <= code < 300
        if not ok:
            failure, error = WebhookDelivery.Failure.NON_2XX, f"HTTP {code}"
    except webhook_addresses.DeliveryFailed as exc:
        ok, failure, error = False, exc.failure, exc.detail
        log = logger.warning if exc.failure == webhook_addresses.BLOCKED_ADDRESS else logger.info
        log("Webhook delivery %s not sent: %s (%s)", delivery.pk, exc.failure, exc.detail)
    attempts = delivery.attempts + 1
    if ok:
        status, next_at = WebhookDelivery.Status.SUCCEEDED, None
    elif attempts >= MAX_ATTEMPTS:
        status, next_at = WebhookDelivery.Status.FAILED, None
    else:
        status, next_at = WebhookDelivery.Status.PENDING, now + datetime.timedelta(seconds=backoff_seconds(attempts))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts, status=status, next_attempt_at=next_at, last_attempt_at=now,
        last_response_code=code, last_failure=failure, last_error=error, delivered_at=now if ok else None,
    )
    return ok


def webhook_resend(*, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again on demand (admin action, API): a fresh round of attempts."""
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), delivered_at=None
    )
    transaction.on_commit(lambda: _dispatch([delivery_id]))
    return WebhookDelivery.objects.get(pk=delivery_id)


def webhooks_retry_due(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """Re-dispatch pending deliveries whose next attempt is due (a beat task, or
    ``manage.py webhooks_retry`` where no worker runs)."""
    now = now or timezone.now()
    ids = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    )
    _dispatch(ids)
    return len(ids)
