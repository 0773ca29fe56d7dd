"""Celery tasks of the loans app: ids and ISO dates in, plain numbers out."""

import datetime

from celery import shared_task


@shared_task(acks_late=True)
def run_daily_servicing(as_of: str | None = None) -> dict:
    """Service the whole book for ``as_of`` (YYYY-MM-DD; default the nightly run's day,
    ``servicing_as_of``).  Idempotent: a re-run of the same day changes nothing, so a
    redelivered task is harmless."""
    from loans.services.servicing import loans_service_daily

    result = loans_service_daily(as_of=datetime.date.fromisoformat(as_of) if as_of else None)
    return {"as_of": result.as_of.isoformat(), "loans_serviced": result.loans_serviced, "loans_read": result.loans_read}


@shared_task(acks_late=True)
def expire_offers(as_of: str | None = None) -> int:
    """Scheduled daily: approvals and referrals not taken up within the policy's offer
    validity expire.  Idempotent: an expired offer is not touched again."""
    from loans.services.applications import applications_expire

    return applications_expire(as_of=datetime.date.fromisoformat(as_of) if as_of else None)


@shared_task(acks_late=True)
def rebuild_borrower_groups(as_of: str | None = None) -> int:
    """Scheduled daily: recompute every company's borrower group (shared related parties);
    returns the number of groups of more than one company."""
    from loans.services.groups import borrower_groups_rebuild

    return borrower_groups_rebuild(as_of=datetime.date.fromisoformat(as_of) if as_of else None)
