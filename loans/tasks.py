"""Celery tasks of the loans app: ids and ISO dates in, plain numbers out."""

import datetime

from celery import shared_task


@shared_task(acks_late=True)
def run_daily_servicing(as_of: str) -> dict:
    """Service the whole book for ``as_of`` (YYYY-MM-DD).  Idempotent: a re-run of the same
    day changes nothing, so a redelivered task is harmless."""
    from loans.services.servicing import loans_service_daily

    result = loans_service_daily(as_of=datetime.date.fromisoformat(as_of))
    return {"as_of": as_of, "loans_serviced": result.loans_serviced, "loans_read": result.loans_read}
