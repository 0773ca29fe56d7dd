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


@shared_task(name="scoring.tasks.score_partitions_ahead")
def score_partitions_ahead() -> str:
    """Periodic job "score partitions ahead": this month's score partition and
    SCORE_PARTITIONS_AHEAD months after it exist (idempotent; a no-op on SQLite)."""
    from . import partitions

    created = partitions.ensure_partitions()
    return f"created {', '.join(created)}" if created else "all partitions present"


@shared_task(name="scoring.tasks.score_history_retention")
def score_history_retention() -> str:
    """Periodic job "score history retention": months older than SCORE_HISTORY_RETENTION_MONTHS
    summarised per subject and model, then their detailed rows removed."""
    from . import partitions

    plan = partitions.retention_plan()
    if not (plan.summarise or plan.expired or plan.rows_to_delete):
        return f"nothing before {plan.cutoff}"
    return partitions.retention_apply(plan).describe()
