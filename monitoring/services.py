"""The nightly run: start (or resume) the run of a date, drive it phase by phase, score chunks.

One driver serves both modes.  ``scoring_run_continue`` moves a run forward from its current
phase as far as this process can: in ``--sync`` mode it scores every pending chunk itself; with
workers it hands the pending chunks of a scoring phase to Celery as a chord whose callback
calls it again.  Everything a resume needs is in the database:

* the run row's ``status`` changes only by compare-and-set UPDATEs (``WHERE status = ...``),
  so two processes can never both start or both advance a date;
* each chunk is scored and marked done in one transaction while its row is locked, so a chunk
  is either done with its scores or not done without them, and a duplicate delivery waits and
  then finds it done;
* a phase's effects (alerts, servicing) commit together with the phase change.

A re-run of a finished date does nothing; a failed or abandoned run resumes with the chunks
that are not done.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F, Max, Min, Q, Sum
from django.utils import timezone

from .models import CHUNKED_PHASES, ChunkStatus, Phase, RunStatus, ScoringChunk, ScoringRun
from .process_memory import peak_rss_mb
from .session_tuning import chunk_transaction_tune

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 25_000
DEFAULT_SYNC_THREADS = 2  # rescore --sync: chunks at once in one process (see chunks_execute_here)
PHASE_ORDER = (Phase.PERSONS, Phase.COMPANIES, Phase.SERVICING, Phase.ALERTS, Phase.ANALYTICS, Phase.DONE)

Dispatcher = Callable[[ScoringRun, str, list[int]], None]


class RunRefused(Exception):
    """The run cannot go ahead; the message says why.  ``run`` is the run record, if any."""

    def __init__(self, message: str, run: ScoringRun | None = None):
        super().__init__(message)
        self.run = run


class RunAlreadyRunning(RunRefused):
    pass


class RunFailed(RunRefused):
    """The run was marked failed with this reason."""


@dataclass(frozen=True)
class StartResult:
    run: ScoringRun
    action: str  # started | resumed | already_done


# --- dates ---------------------------------------------------------------------------------


def local_today() -> datetime.date:
    return timezone.localdate()  # settings.TIME_ZONE: Asia/Shanghai


def nightly_as_of() -> datetime.date:
    """The date the 02:00 run scores: yesterday in Asia/Shanghai, the business day that just
    ended (its credit data feeds closed at midnight) — the day servicing closes, one definition
    (loans.services.servicing.servicing_as_of)."""
    from loans.services.servicing import servicing_as_of

    return servicing_as_of()


HEARTBEATS_MISSED = 2  # a run that missed this many heartbeats has lost whoever ran it


def heartbeat_interval() -> float:
    """Seconds between two heartbeats of a run in progress (``NIGHTLY_HEARTBEAT_SECONDS``)."""
    return float(getattr(settings, "NIGHTLY_HEARTBEAT_SECONDS", 30))


def run_lease() -> datetime.timedelta:
    """How long a running run stays its owner's without a heartbeat: two missed heartbeats plus
    one interval of grace for a slow write.  After that a plain rerun takes it over (a dead
    worker holds no lock and renews nothing; a live one renews every interval, see
    ``run_heartbeat``)."""
    return datetime.timedelta(seconds=heartbeat_interval() * (HEARTBEATS_MISSED + 1))


@contextlib.contextmanager
def run_heartbeat(*, run_id: int | None = None, chunk_id: int | None = None, interval: float | None = None):
    """While the body runs, renew the heartbeat of the run (given, or the chunk's) every
    ``interval`` seconds from a thread with its own database session, so that a chunk longer
    than the lease does not look dead.  Costs nothing on the database until the first beat.
    Enter it outside the chunk's transaction: the heartbeat updates the run row, which the
    chunk's transaction locks at its end."""
    interval = heartbeat_interval() if interval is None else interval
    which = Q(pk=run_id) if run_id is not None else Q(chunks__id=chunk_id)
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(interval):
                try:
                    ScoringRun.objects.filter(which, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())
                except DatabaseError as exc:  # the chunk's own errors are what matter; say it and go on
                    log.warning("heartbeat of run %s not written: %s", run_id or f"of chunk #{chunk_id}", exc)
        finally:
            connections.close_all()  # this thread's own session

    thread = threading.Thread(target=beat, name="run-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


# --- start / fail --------------------------------------------------------------------------


def scoring_run_fail(*, run_id: int, reason: str) -> None:
    """Mark a run failed with its reason (in its own transaction: call it outside a broken one)."""
    now = timezone.now()
    # The first reason wins: a failed chunk's precise message is not overwritten by its echo.
    ScoringRun.objects.filter(pk=run_id, status__in=[RunStatus.RUNNING, RunStatus.PENDING]).update(
        status=RunStatus.FAILED, error=reason[:4000], finished_at=now, heartbeat_at=now
    )
    log.error("nightly run #%s failed: %s", run_id, reason)


def _get_or_create_run(as_of: datetime.date, *, mode: str, chunk_size: int) -> ScoringRun:
    run = ScoringRun.objects.filter(as_of=as_of).first()
    if run is not None:
        return run
    try:
        with transaction.atomic():
            return ScoringRun.objects.create(as_of=as_of, mode=mode, chunk_size=chunk_size)
    except DatabaseError:  # created meanwhile by a concurrent start (as_of is unique)
        return ScoringRun.objects.get(as_of=as_of)


def _refuse(run: ScoringRun, reason: str) -> None:
    scoring_run_fail(run_id=run.pk, reason=reason)
    run.refresh_from_db()
    raise RunFailed(reason, run)


def scoring_run_start(
    *, as_of: datetime.date, mode: str = "sync", chunk_size: int = DEFAULT_CHUNK_SIZE, takeover: bool = False
) -> StartResult:
    """Claim the run of ``as_of`` for this caller: create it, or resume it if it failed or was
    abandoned.  Raises ``RunAlreadyRunning`` while another caller owns it and ``RunFailed`` when
    the date cannot be scored (future date, no champion, no credit data)."""
    if chunk_size < 1:
        raise RunRefused("chunk size must be at least 1")
    run = _get_or_create_run(as_of, mode=mode, chunk_size=chunk_size)
    if run.status == RunStatus.SUCCEEDED:
        return StartResult(run, "already_done")

    if connection.vendor == "postgresql":
        # Fail fast (and say so) while another process holds the row in a transaction.
        try:
            with transaction.atomic():
                ScoringRun.objects.select_for_update(nowait=True).filter(pk=run.pk).first()
        except DatabaseError:
            raise RunAlreadyRunning(f"the nightly run for {as_of} is already running (row locked)", run) from None

    now = timezone.now()
    claimable = Q(status__in=[RunStatus.PENDING, RunStatus.FAILED])
    if takeover:
        claimable |= Q(status=RunStatus.RUNNING)
    else:
        claimable |= Q(status=RunStatus.RUNNING, heartbeat_at__lt=now - run_lease())
    was = run.status
    # The compare-and-set: exactly one caller moves the row to running.
    claimed = ScoringRun.objects.filter(claimable, pk=run.pk).update(
        status=RunStatus.RUNNING, mode=mode, error="", finished_at=None, heartbeat_at=now,
        attempts=F("attempts") + 1,
        started_at=now if run.started_at is None else run.started_at,
    )
    run.refresh_from_db()
    if not claimed:
        if run.status == RunStatus.SUCCEEDED:
            return StartResult(run, "already_done")
        beat = f"{timezone.localtime(run.heartbeat_at):%Y-%m-%d %H:%M:%S}" if run.heartbeat_at else "never"
        raise RunAlreadyRunning(
            f"the nightly run for {as_of} is already running (phase {run.phase}, "
            f"{run.chunks_done}/{run.chunks_total} chunks, last heartbeat {beat}); a rerun takes it over once it has missed "
            f"{HEARTBEATS_MISSED} heartbeats ({run_lease().total_seconds():.0f} s without one); "
            "--takeover resumes it at once if its workers are known to be gone",
            run,
        )

    today = local_today()
    if as_of > today:
        _refuse(run, f"as-of date {as_of} is in the future (today is {today} in {settings.TIME_ZONE})")
    _preflight(run)
    if run.phase_started_at is None:
        ScoringRun.objects.filter(pk=run.pk).update(phase_started_at=now)
    _create_chunks(run)
    run.refresh_from_db()
    return StartResult(run, "started" if was == RunStatus.PENDING else "resumed")


def _preflight(run: ScoringRun) -> None:
    from loans.models import Company, Person
    from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot
    from scoring.selectors import champion_ids

    champions = champion_ids()
    missing = [k for k in ("person", "company") if k not in champions]
    if missing:
        _refuse(
            run,
            "no champion scorecard for " + " and ".join(missing)
            + ": train one and promote it (train_scorecard --subject ... --promote)",
        )
    for label, subjects, snapshots in (
        ("person", Person, PersonCreditSnapshot),
        ("company", Company, CompanyCreditSnapshot),
    ):
        if subjects.objects.exists() and not snapshots.objects.filter(as_of__lte=run.as_of).exists():
            first = snapshots.objects.aggregate(first=Min("as_of"))["first"]
            _refuse(
                run,
                f"as-of date {run.as_of} is before the first {label} credit data "
                + (f"(earliest snapshot {first})" if first else "(there is no credit data at all)"),
            )


def _create_chunks(run: ScoringRun) -> None:
    """Id ranges [min, max] of persons and companies, stepped by the chunk size.  Created once
    per run: a resumed run keeps its chunks (and what they did)."""
    from loans.models import Company, Person

    if run.chunks.exists():
        return
    rows = []
    for phase, model in ((Phase.PERSONS, Person), (Phase.COMPANIES, Company)):
        bounds = model.objects.aggregate(lo=Min("id"), hi=Max("id"))
        if bounds["lo"] is None:
            continue
        for start in range(bounds["lo"], bounds["hi"] + 1, run.chunk_size):
            rows.append(ScoringChunk(run=run, phase=phase, id_from=start, id_to=min(start + run.chunk_size, bounds["hi"] + 1)))
    with transaction.atomic():
        ScoringChunk.objects.bulk_create(rows, ignore_conflicts=True)
        total = run.chunks.count()
        ScoringRun.objects.filter(pk=run.pk).update(chunks_total=total)


# --- chunks --------------------------------------------------------------------------------


def _worker_name() -> str:
    """host:pid of the process that scored a chunk, and its thread when not the main one
    (``rescore --sync --threads``)."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    thread = threading.current_thread()
    if thread is not threading.main_thread():
        name += f"/{thread.name}"
    return name[:100]


def chunk_execute(*, chunk_id: int) -> int:
    """Score one chunk and mark it done in the same transaction; returns scores written.
    A chunk already done, or of a run that is not running, is a no-op.  On error the chunk's
    writes roll back, the chunk and its run are marked failed, and the error propagates."""
    from scoring import batch

    # Who holds the chunk now and since when (a duplicate delivery of a done chunk changes nothing).
    ScoringChunk.objects.filter(pk=chunk_id).exclude(status=ChunkStatus.DONE).update(
        attempts=F("attempts") + 1, started_at=timezone.now(), worker=_worker_name()
    )
    started = time.perf_counter()
    try:
        with run_heartbeat(chunk_id=chunk_id), transaction.atomic():
            chunk_transaction_tune()  # no WAL-flush wait, no JIT, no parallel query (session_tuning.py)
            chunk = ScoringChunk.objects.select_for_update().get(pk=chunk_id)
            if chunk.status == ChunkStatus.DONE:
                return 0
            run = ScoringRun.objects.only("id", "as_of", "status").get(pk=chunk.run_id)
            if run.status != RunStatus.RUNNING:
                log.info("chunk %s skipped: run %s is %s", chunk_id, run.as_of, run.status)
                return 0
            score = batch.score_person_range if chunk.phase == Phase.PERSONS else batch.score_company_range
            stats = batch.RunStats()
            written = score(id_from=chunk.id_from, id_to=chunk.id_to, as_of=run.as_of, stats=stats)
            now = timezone.now()
            ScoringChunk.objects.filter(pk=chunk_id).update(
                status=ChunkStatus.DONE, written=written, no_snapshot=stats.no_snapshot,
                seconds=round(time.perf_counter() - started, 3), peak_rss_mb=round(peak_rss_mb(), 1),
                worker=_worker_name(), error="", finished_at=now,
            )
            ScoringRun.objects.filter(pk=run.pk).update(chunks_done=F("chunks_done") + 1, heartbeat_at=now)
        return written
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        chunk = ScoringChunk.objects.filter(pk=chunk_id).first()
        if chunk is None:
            raise
        ScoringChunk.objects.filter(pk=chunk_id).update(status=ChunkStatus.FAILED, error=reason[:4000])
        scoring_run_fail(
            run_id=chunk.run_id, reason=f"{chunk.phase} chunk [{chunk.id_from}, {chunk.id_to}) failed: {reason}"
        )
        raise


def chunks_execute_here(chunk_ids: list[int], *, threads: int = 1) -> None:
    """Score chunks in this process (``--sync``), on ``threads`` threads with a database session
    each.  A chunk is Python work (features to scores to text) then PostgreSQL work (COPY, the
    insert, the pointers); on two threads one chunk's Python runs while another's statements
    run, so a single process keeps both cores of a small machine busy.  Each chunk is still its
    own transaction (``chunk_execute``), exactly as on a Celery worker.  The first error stops
    the other threads from taking new chunks and is raised here; the run is already marked
    failed by then.

    One thread on SQLite (one writer at a time) and inside a transaction (other sessions would
    not see its uncommitted rows)."""
    if threads <= 1 or len(chunk_ids) <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        for chunk_id in chunk_ids:
            chunk_execute(chunk_id=chunk_id)
        return

    todo = iter(chunk_ids)
    take = threading.Lock()
    stop = threading.Event()  # set by the first error: no thread takes another chunk

    def drain(name: str) -> None:
        """One thread: chunks from the shared queue until it is empty or a chunk failed."""
        threading.current_thread().name = name  # the chunks' ``worker``: host:pid/chunk-N
        try:
            while not stop.is_set():
                with take:
                    chunk_id = next(todo, None)
                if chunk_id is None:
                    return
                try:
                    chunk_execute(chunk_id=chunk_id)
                except BaseException:
                    stop.set()
                    raise
        finally:
            connections.close_all()  # this thread's own sessions

    count = min(threads, len(chunk_ids))
    first_error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(drain, f"chunk-{i}") for i in range(count)]
        for future in as_completed(futures):  # in the order the threads end
            if future.exception() is not None:
                first_error = future.exception()
                break
    # Leaving the block waited for the other threads to finish the chunk each had.
    if first_error is not None:
        raise first_error


def pending_chunk_ids(run_id: int, phase: str) -> list[int]:
    return list(
        ScoringChunk.objects.filter(run_id=run_id, phase=phase)
        .exclude(status=ChunkStatus.DONE)
        .order_by("id_from")
        .values_list("id", flat=True)
    )


# --- the driver ----------------------------------------------------------------------------


def _next_phase(phase: str) -> str:
    return PHASE_ORDER[PHASE_ORDER.index(phase) + 1]


def _advance(run: ScoringRun, *, phase: str, counts: dict, seconds: float) -> bool:
    """Compare-and-set the run from ``phase`` to the next; False if someone else did."""
    now = timezone.now()
    nxt = _next_phase(phase)
    timings = {**run.timings, phase: round(seconds, 3)}
    fields = dict(phase=nxt, counts={**run.counts, **counts}, timings=timings, phase_started_at=now, heartbeat_at=now)
    if nxt == Phase.DONE:
        fields.update(status=RunStatus.SUCCEEDED, finished_at=now)
        if run.started_at:
            timings["total"] = round((now - run.started_at).total_seconds(), 3)
    moved = ScoringRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, phase=phase).update(**fields)
    return bool(moved)


def _phase_seconds(run: ScoringRun) -> float:
    return (timezone.now() - run.phase_started_at).total_seconds() if run.phase_started_at else 0.0


def _finish_chunked_phase(run: ScoringRun, phase: str) -> bool:
    agg = run.chunks.filter(phase=phase).aggregate(
        written=Sum("written"), no_snapshot=Sum("no_snapshot"), rss=Max("peak_rss_mb")
    )
    key = "persons" if phase == Phase.PERSONS else "companies"
    # Protective freezes already ran per chunk (scoring sends company_scores_written as each
    # chunk's company scores are written); the alerts phase runs them once more after the rules.
    counts = {key: agg["written"] or 0, f"{key}_no_data": agg["no_snapshot"] or 0}
    rss = max(filter(None, [agg["rss"], run.counts.get("peak_rss_mb")]), default=None)
    if rss is not None:
        counts["peak_rss_mb"] = rss
    return _advance(run, phase=phase, counts=counts, seconds=_phase_seconds(run))


def _run_inline_phase(run_id: int, phase: str) -> None:
    """Alerts and servicing: the phase's effects and the phase change commit together, under the
    run row's lock, so they happen exactly once."""
    from .rules import rules_evaluate_detailed

    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.phase != phase:
            return
        started = time.perf_counter()
        if phase == Phase.ALERTS:
            # The night's scores may sit in a month's partition whose statistics still say
            # "empty" (its first night): the rules below would be planned for that.
            from scoring.api import score_statistics_refresh

            analyzed = score_statistics_refresh(as_of=run.as_of)
            results = rules_evaluate_detailed(as_of=run.as_of)
            counts = {
                "alerts": sum(r.new for r in results.values()),
                "alerts_by_rule": {code: r.new for code, r in results.items()},  # opened
                "alert_hits_by_rule": {code: r.seen for code, r in results.items()},  # opened or refreshed
                "rule_seconds": {code: round(r.seconds, 3) for code, r in results.items()},
                "rule_versions": {code: r.version for code, r in results.items()},
                # what waited for the warnings that cleared: actions_withdrawn, actions_flagged,
                # committee_cases_withdrawn (``proposals.actions_settle_for_cleared_alerts``)
                **results.settled,
            }
            if analyzed:
                counts["score_statistics_refreshed"] = analyzed
            from .proposals import propose_actions
            from .protection import protect_companies

            # After the rules: protective freezes at once, then the policy's proposals.
            mark = time.perf_counter()
            counts["lines_frozen"] = protect_companies(None, run.as_of)
            if counts["lines_frozen"]:  # frozen after the rules: linked to their warnings now
                from .proposals import system_freezes_link_alerts

                system_freezes_link_alerts(as_of=run.as_of)
            counts["protection_seconds"] = round(time.perf_counter() - mark, 3)
            mark = time.perf_counter()
            counts.update(propose_actions(run.as_of))
            counts["proposals_seconds"] = round(time.perf_counter() - mark, 3)
            counts["alerts_resolved_by_rule"] = {code: r.resolved for code, r in results.items()}
        elif phase == Phase.ANALYTICS:
            counts = analytics_run(as_of=run.as_of)
        else:
            counts = servicing_run(as_of=run.as_of)
        _advance(run, phase=phase, counts=counts, seconds=time.perf_counter() - started)


def servicing_run(*, as_of: datetime.date) -> dict:
    """Step 3: the daily loan-book servicing of the underwriting app."""
    from loans.services.servicing import loans_service_daily

    result = loans_service_daily(as_of=as_of)
    # Every integer the servicing reports becomes a count of the run (the result may grow).
    counts = {
        f"servicing_{k}" if not k.startswith("loans_") else k: v
        for k, v in vars(result).items()
        if isinstance(v, int) and not isinstance(v, bool) and k != "policy_version"
    }
    return counts


def analytics_run(*, as_of: datetime.date) -> dict:
    """Step 5: the portfolio snapshot, then model monitoring, each in its own savepoint.  The
    night's scores, alerts and servicing are already done: a failure here is recorded in the
    counts (``analytics_errors``) and logged, and the run still succeeds; ``portfolio_report``
    computes a missing snapshot later.  Each step's seconds go to the counts."""
    from .analytics.portfolio import portfolio_snapshot_compute
    from .analytics.scorecards import model_monitoring_run

    counts: dict = {}
    errors: dict[str, str] = {}
    for name, step in (
        ("snapshot", lambda: {"snapshot_loans": portfolio_snapshot_compute(as_of=as_of).loans_count}),
        ("model_monitoring", lambda: {"model_drift": model_monitoring_run(as_of=as_of)}),
    ):
        started = time.perf_counter()
        try:
            with transaction.atomic():
                counts.update(step())
        except Exception as exc:  # noqa: BLE001 - analytics must not fail the night
            errors[name] = f"{type(exc).__name__}: {exc}"[:1000]
            log.exception("nightly analytics of %s: %s failed", as_of, name)
        counts[f"analytics_{name}_s"] = round(time.perf_counter() - started, 3)
    if errors:
        counts["analytics_errors"] = errors
    return counts


def scoring_run_continue(
    *, run_id: int, dispatcher: Dispatcher | None = None, finished_phase: str | None = None, threads: int = 1
) -> ScoringRun:
    """Drive the run as far as this process can (see the module doc).  ``finished_phase`` is
    given by a chord callback: it only advances that phase, and only if it is still current
    with every chunk done (a stale or duplicate callback is a no-op).  Without a dispatcher the
    chunks run here, on ``threads`` threads (``chunks_execute_here``)."""
    while True:
        run = ScoringRun.objects.get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.phase == Phase.DONE:
            return run
        phase = run.phase
        try:
            if phase in CHUNKED_PHASES:
                pending = pending_chunk_ids(run.pk, phase)
                if finished_phase is not None:
                    if phase != finished_phase or pending:
                        log.info("run %s: callback for %s ignored (phase %s, %d pending)",
                                 run.as_of, finished_phase, phase, len(pending))
                        return run
                    finished_phase = None
                if pending:
                    if dispatcher is not None:
                        dispatcher(run, phase, pending)
                        return ScoringRun.objects.get(pk=run_id)
                    chunks_execute_here(pending, threads=threads)
                    continue
                _finish_chunked_phase(run, phase)
            else:
                _run_inline_phase(run.pk, phase)
        except RunRefused:
            raise
        except Exception as exc:
            reason = f"{phase}: {type(exc).__name__}: {exc}"
            scoring_run_fail(run_id=run_id, reason=reason)
            run = ScoringRun.objects.get(pk=run_id)
            raise RunFailed(run.error, run) from exc


def scoring_run_sync(
    *, as_of: datetime.date, chunk_size: int = DEFAULT_CHUNK_SIZE, takeover: bool = False, threads: int = 1
) -> StartResult:
    """The whole run in this process (no broker), its chunks on ``threads`` threads."""
    started = scoring_run_start(as_of=as_of, mode="sync", chunk_size=chunk_size, takeover=takeover)
    if started.action == "already_done":
        return started
    run = scoring_run_continue(run_id=started.run.pk, threads=threads)
    return StartResult(run, started.action)
