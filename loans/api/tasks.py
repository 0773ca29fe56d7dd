"""Celery tasks of the partner API.  They take ids, are idempotent (a delivered event is not
sent twice by a redelivered task) and acknowledge late."""

from __future__ import annotations

from celery import shared_task

from . import webhooks
from .models import WebhookDelivery


@shared_task(bind=True, acks_late=True, max_retries=webhooks.MAX_ATTEMPTS - 1, ignore_result=True)
def deliver_webhook(self, delivery_id: int) -> None:
    if webhooks.delivery_attempt(delivery_id):
        return
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).only("status", "attempts").first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return
    if self.request.is_eager:
        # No worker (development): never retry inline inside a request; the due-retry sweep
        # (``manage.py webhooks_retry``) picks it up at next_attempt_at.
        return
    raise self.retry(countdown=webhooks.backoff_seconds(delivery.attempts))


@shared_task(acks_late=True, ignore_result=True)
def retry_due_webhooks() -> int:
    return webhooks.webhooks_retry_due()


@shared_task(acks_late=True)
def purge_idempotency_records() -> int:
    """Scheduled hourly: idempotency records older than IDEMPOTENCY_RETENTION_HOURS go."""
    import datetime

    from django.conf import settings

    from .housekeeping import idempotency_records_purge

    return idempotency_records_purge(older_than=datetime.timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS))
