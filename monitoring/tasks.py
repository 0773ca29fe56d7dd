"""Celery tasks of the nightly run.  They take ids and ISO dates, never objects; every one is
idempotent (see ``monitoring.services``), acknowledged late, and never waits on another task."""

from __future__ import annotations

import datetime
import logging

from celery import chord, current_app, group, shared_task

from . import services
from .models import ScoringRun

log = logging.getLogger(__name__)



def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError as KombuOperationalError

    errors: list[type[BaseException]] = [KombuOperationalError, ConnectionError, TimeoutError]
    try:
        import redis.exceptions

        errors.append(redis.exceptions.ConnectionError)
        errors.append(redis.exceptions.TimeoutError)
    except ImportError:  # pragma: no cover - redis is in requirements
        pass
    return tuple(errors)


class BrokerUnavailable(services.RunFailed):
    pass


def dispatch_chunks(run: ScoringRun, phase: str, chunk_ids: list[int]) -> None:
    """Send the pending chunks of ``phase`` as one chord; its callback advances the run.  A
    broker (or result backend) that is down marks the run failed with the reason."""
    app = current_app
    try:
        if not app.conf.result_backend:
            raise services.RunRefused(
                "chords need a Celery result backend: set CELERY_RESULT_BACKEND (e.g. redis://...)"
            )
        with app.connection_for_write() as conn:  # fail fast rather than hang on a dead broker
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=5)
        header = group(score_chunk.si(chunk_id) for chunk_id in chunk_ids)
        chord(header, phase_done.si(run.pk, phase)).apply_async(
            retry=True, retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
        )
    except services.RunRefused as exc:
        services.scoring_run_fail(run_id=run.pk, reason=str(exc))
        raise services.RunFailed(str(exc), run) from exc
    except _broker_errors() as exc:
        reason = f"broker unreachable while dispatching {phase}: {type(exc).__name__}: {exc}"
        services.scoring_run_fail(run_id=run.pk, reason=reason)
        raise BrokerUnavailable(reason, run) from exc
    log.info("run %s: dispatched %d %s chunks", run.as_of, len(chunk_ids), phase)


@shared_task(name="monitoring.tasks.score_chunk", acks_late=True, reject_on_worker_lost=True)
def score_chunk(chunk_id: int) -> int:
    return services.chunk_execute(chunk_id=chunk_id)


@shared_task(name="monitoring.tasks.phase_done", acks_late=True)
def phase_done(run_id: int, phase: str) -> str:
    run = services.scoring_run_continue(run_id=run_id, dispatcher=dispatch_chunks, finished_phase=phase)
    return f"{run.as_of} {run.status} {run.phase}"


@shared_task(name="monitoring.tasks.nightly_run", acks_late=True)
def nightly_run(as_of: str | None = None, chunk_size: int = services.DEFAULT_CHUNK_SIZE) -> str:
    """The scheduled entry point (beat, 02:00 Asia/Shanghai): rescore ``as_of`` (ISO date;
    default yesterday in Asia/Shanghai) on the workers."""
    day = datetime.date.fromisoformat(as_of) if as_of else services.nightly_as_of()
    try:
        started = services.scoring_run_start(as_of=day, mode="workers", chunk_size=chunk_size)
    except services.RunAlreadyRunning as exc:
        log.warning("%s", exc)
        return f"{day} already running"
    if started.action == "already_done":
        return f"{day} already done"
    # Without a broker (eager mode) the chunks run right here.
    dispatcher = None if current_app.conf.task_always_eager else dispatch_chunks
    run = services.scoring_run_continue(run_id=started.run.pk, dispatcher=dispatcher)
    return f"{day} {started.action}: {run.status} {run.phase}"


@shared_task(name="monitoring.tasks.verify_ledger", acks_late=True)
def verify_ledger() -> str:
    """The scheduled ledger check (beat, 04:00 Asia/Shanghai): verify the keyed chain against its
    anchor, move the anchor forward, raise a system alert when either fails."""
    from .integrity import ledger_check_nightly

    check = ledger_check_nightly()
    return f"ledger {'ok' if check.problem is None else 'BROKEN'}: {check.entries} entries"


@shared_task(name="monitoring.tasks.committee_deadlines", acks_late=True)
def committee_deadlines() -> dict:
    """Escalate overdue committee cases and lapse those past their lapse time (idempotent)."""
    from .committee import committee_cases_escalate

    return committee_cases_escalate()
