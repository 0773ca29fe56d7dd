"""Scores follow the data: rescoring when new credit data arrives.

``credit_snapshot_record`` (every writer of a snapshot: the partner API, the trusted sources,
the admin and imports going through it) calls :func:`rescore_on_commit`; when the transaction
commits, :func:`rescore` scores the subjects again for today:

* a person, then every company whose composite depends on that person (its current related
  parties), the companies rescored as the next revision even though their own data did not
  change (the composite moves with the party);
* a company itself.

One company (or a few, up to ``SCORING_INLINE_RESCORE_COMPANIES``) is rescored in the request;
a person behind more companies has their companies rescored on a Celery worker
(``scoring.tasks.rescore_companies``, in batches).  Writing company scores sends
``signals.company_scores_written`` (from ``batch``).

On PostgreSQL an event's statements travel in four round trips (``batch.score_event``, psycopg's
pipeline mode): the champions' and dependents' read with the persons' snapshots, the persons'
write with the companies' reads, the companies' write, the protective check (a receiver of the
signal).  Elsewhere, and for a rescoring too large to be an event, they go one by one.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import batch, selectors
from .errors import ScoringUnavailable

log = logging.getLogger(__name__)

DEFAULT_INLINE_COMPANIES = 10
TASK_BATCH = 1_000  # companies per worker task


def inline_limit() -> int:
    return int(getattr(settings, "SCORING_INLINE_RESCORE_COMPANIES", DEFAULT_INLINE_COMPANIES))


@dataclass
class RescoreResult:
    as_of: datetime.date
    persons_written: int = 0
    companies_written: int = 0
    companies_inline: list[int] = field(default_factory=list)
    companies_queued: list[int] = field(default_factory=list)


@functools.lru_cache(maxsize=64)
def _dependents_sql(n_ids: int) -> str:
    from loans.parties.models import RelatedParty, role_current_on_sql

    return (
        f"SELECT DISTINCT rp.company_id FROM {RelatedParty._meta.db_table} rp "
        f"WHERE rp.person_id IN ({', '.join(['%s'] * n_ids)}) AND {role_current_on_sql('rp')} ORDER BY rp.company_id"
    )


def dependent_companies(person_ids: Iterable[int], as_of: datetime.date) -> list[int]:
    """Companies of which any of these persons is a current related party at ``as_of``
    (one precompiled statement: this is on the request's path)."""
    person_ids = list(person_ids)
    if not person_ids:
        return []
    day = connection.ops.adapt_datefield_value(as_of)
    with connection.cursor() as cursor:
        cursor.execute(_dependents_sql(len(person_ids)), [*person_ids, day, day])
        return [r[0] for r in cursor.fetchall()]


@functools.lru_cache(maxsize=64)
def _champions_and_dependents_sql(n_ids: int) -> str:
    # UNION ALL: the champions' rows, then one row per dependent company (kind "dep")
    return (
        f"{selectors.CHAMPIONS_SQL} UNION ALL SELECT 'dep', d.company_id, NULL, NULL FROM ("
        + _dependents_sql(n_ids).replace(" ORDER BY rp.company_id", "")
        + ") d"
    )


# The person champion's id as last read by this process: event-driven rescoring sends the
# persons' snapshot read (which needs that id) beside the champions' read, and uses its rows
# only when the champions' read confirms the id (else it reads them again: a promotion, or the
# process's first event).
_person_champion_seen: list[int | None] = [None]


def _champions_and_dependents(person_ids: list[int], as_of: datetime.date):
    """The champions, the companies depending on ``person_ids`` at ``as_of`` (None: not read)
    and the persons' latest snapshots as ``batch`` reads them (None: not read).  On PostgreSQL
    one round trip: the champions and dependents in one statement (the dependents' read does
    not depend on the persons' scores; it is used only when one of them was written) and the
    snapshots in a second statement of the same pipeline, for the champion's id this process
    saw last — kept only if the champions' read confirms it.  On a loaded machine each round
    trip of the request waits for a core."""
    if connection.vendor != "postgresql" or not person_ids:
        return selectors.champions(), None, None
    day = connection.ops.adapt_datefield_value(as_of)
    statements = [(_champions_and_dependents_sql(len(person_ids)), [*selectors.CHAMPIONS_PARAMS, *person_ids, day, day])]
    guess = _person_champion_seen[0]
    if guess is not None:
        cols, sql, params = selectors.latest_snapshots_statement("person", as_of=as_of, ids=person_ids, scored_by_model=guess)
        statements.append((sql, params))
    results = batch.pipelined(statements)
    rows = results[0]
    champions = {kind: selectors.Champion(mid, ver, created) for kind, mid, ver, created in rows if kind != "dep"}
    person = champions.get("person")
    _person_champion_seen[0] = person.model_id if person is not None else None
    snapshots = (cols, results[1]) if guess is not None and person is not None and person.model_id == guess else None
    return champions, sorted(mid for kind, mid, _v, _c in rows if kind == "dep"), snapshots


def rescore(*, person_ids: Iterable[int] = (), company_ids: Iterable[int] = (), as_of: datetime.date | None = None,
            inline: int | None = None) -> RescoreResult:
    """Score these persons and companies again for ``as_of`` (default today) from their latest
    data, and every company depending on a person whose score was written.  Subjects whose
    latest score already reads their latest snapshot are left alone (nothing new), except
    companies behind a rescored person.  Companies beyond ``inline`` (default
    ``SCORING_INLINE_RESCORE_COMPANIES``) go to a worker."""
    as_of = as_of or timezone.localdate()
    inline = inline_limit() if inline is None else inline
    result = RescoreResult(as_of=as_of)
    person_ids = sorted(set(person_ids))
    direct = sorted(set(company_ids))
    champions, dependents_read, person_snapshots = _champions_and_dependents(person_ids, as_of)  # once for both kinds
    for kind in ("person", "company"):
        if kind not in champions:
            raise ScoringUnavailable(f"no champion {kind} scorecard: train one and promote it")
    if connection.vendor == "postgresql" and max(len(person_ids), len(direct) + inline) < batch.COPY_THRESHOLD:
        # an event (a company and its people): the same work in fewer round trips
        return _rescore_pipelined(result, person_ids, direct, dependents_read or [], inline, champions, person_snapshots)
    if person_ids:
        result.persons_written = batch.score_persons(person_ids=person_ids, as_of=as_of, champion=champions["person"])
    dependents = []
    if result.persons_written:
        dependents = dependents_read if dependents_read is not None else dependent_companies(person_ids, as_of)
    if direct:
        # the company's own new data: a new revision only when it reads a new snapshot
        own = [c for c in direct if c not in set(dependents)]
        if own:
            result.companies_written += batch.score_companies(
                company_ids=own, as_of=as_of, champion=champions["company"]
            )
            result.companies_inline += own
    if dependents:
        if len(dependents) <= inline:
            result.companies_written += batch.score_companies(
                company_ids=dependents, as_of=as_of, force=True, champion=champions["company"]
            )
            result.companies_inline += dependents
        else:
            from .tasks import rescore_companies

            for start in range(0, len(dependents), TASK_BATCH):
                part = dependents[start:start + TASK_BATCH]
                rescore_companies.delay(part, as_of.isoformat())
            result.companies_queued = dependents
    return result


def _rescore_pipelined(result: RescoreResult, person_ids, direct, dependents, inline, champions,
                       person_snapshots) -> RescoreResult:
    """``rescore`` on PostgreSQL for an event: ``batch.score_event`` (the same statements, fewer
    round trips); dependents beyond ``inline`` go to a worker as in ``rescore``."""
    result.persons_written, result.companies_inline, result.companies_written = batch.score_event(
        person_ids=person_ids, direct=direct, dependents=dependents, inline=inline, as_of=result.as_of,
        champions=champions, person_snapshots=person_snapshots,
    )
    if result.persons_written and len(dependents) > inline:
        from .tasks import rescore_companies

        for start in range(0, len(dependents), TASK_BATCH):
            part = dependents[start:start + TASK_BATCH]
            rescore_companies.delay(part, result.as_of.isoformat())
        result.companies_queued = dependents
    return result


# --- after a snapshot is written ------------------------------------------------------------


class _Pending:
    """Subjects whose new data awaits the commit; flushed once per transaction."""

    def __init__(self):
        self.persons: set[int] = set()
        self.companies: set[int] = set()

    def __call__(self):
        if connection.__dict__.get("_scoring_pending") is self:
            del connection.__dict__["_scoring_pending"]
        if not (self.persons or self.companies):
            return
        try:
            rescore(person_ids=self.persons, company_ids=self.companies)
        except ScoringUnavailable as exc:  # no champion yet: the nightly run scores them later
            log.info("new credit data not rescored: %s", exc)


def rescore_on_commit(*, subject_kind: str, subject_ids: Iterable[int]) -> None:
    """Rescore these subjects once the current transaction commits (at once outside one).
    Several snapshots in one transaction (a company and its people) make one rescore."""
    pending = connection.__dict__.get("_scoring_pending")
    alive = pending is not None and any(func is pending for _, func, _ in connection.run_on_commit)
    if not alive:
        pending = _Pending()
        target = pending.persons if subject_kind == "person" else pending.companies
        target.update(subject_ids)
        if connection.in_atomic_block:
            connection.__dict__["_scoring_pending"] = pending
        transaction.on_commit(pending, robust=True)
        return
    (pending.persons if subject_kind == "person" else pending.companies).update(subject_ids)
