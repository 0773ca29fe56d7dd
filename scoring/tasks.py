"""Celery tasks of the scoring app: rescoring the companies behind a person whose credit data
changed, when they are too many for the request (``scoring.rescoring``)."""

from __future__ import annotations

import datetime

from celery import shared_task


@shared_task(name="scoring.tasks.rescore_companies", acks_late=True)
def rescore_companies(company_ids: list[int], as_of: str) -> int:
    """Write the next revision of these companies' scores for ``as_of`` (ISO date): a related
    party's new data moved their composites.  Idempotent enough to retry: a rerun adds a
    revision with the same figures."""
    from . import batch

    return batch.score_companies(company_ids=list(company_ids), as_of=datetime.date.fromisoformat(as_of), force=True)
