import datetime
import time

from celery import current_app
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from monitoring import services, wording
from monitoring.models import RunStatus, ScoringRun


def summary(run: ScoringRun) -> str:
    c = run.counts
    parts = [
        f"run #{run.pk} {run.as_of}: {run.status} (phase {run.phase})",
        f"chunks {run.chunks_done}/{run.chunks_total}",
        f"persons {c.get('persons', 0)}  companies {c.get('companies', 0)}  alerts {c.get('alerts', 0)}"
        f"  loans_serviced {c.get('loans_serviced', 0)}",
    ]
    cleared = wording.cleared_warning_text(c)
    if cleared:
        parts.append(_("after warnings cleared: %(counts)s") % {"counts": cleared})
    no_data = c.get("persons_no_data", 0) + c.get("companies_no_data", 0)
    if no_data:
        parts.append(f"subjects without credit data on or before the date (not scored): {no_data}")
    if run.timings:
        parts.append("seconds " + "  ".join(f"{k} {v:.2f}" for k, v in run.timings.items()))
    if run.error:
        parts.append(f"error: {run.error}")
    return "\n".join(parts)


class Command(BaseCommand):
    help = (
        "The nightly run for a date: rescore persons, then companies, evaluate the early-warning "
        "rules, service the loan book.  Dispatches chunks to Celery workers, or runs in-process with --sync."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=None,
                            help="YYYY-MM-DD; default yesterday in Asia/Shanghai (what the 02:00 run scores)")
        parser.add_argument("--sync", action="store_true", help="Run every step in this process (no broker).")
        parser.add_argument("--chunk-size", type=int, default=services.DEFAULT_CHUNK_SIZE,
                            help="subjects per chunk (10k-50k in production; a resumed run keeps its chunks)")
        parser.add_argument("--threads", type=int, default=services.DEFAULT_SYNC_THREADS,
                            help="with --sync on PostgreSQL: chunks scored at once, each on its own database "
                                 "session, so one chunk's Python work overlaps another's database work "
                                 f"(default {services.DEFAULT_SYNC_THREADS}; SQLite always uses 1; beyond 2-3 "
                                 "the GIL is the limit: add Celery workers instead)")
        parser.add_argument("--wait", action="store_true", help="With workers: wait until the run ends.")
        parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds --wait waits at most")
        parser.add_argument("--takeover", action="store_true",
                            help="Resume a run still marked running whose workers are known to be gone.")

    def handle(self, *args, as_of, sync, chunk_size, threads, wait, timeout, takeover, **options):
        as_of = as_of or services.nightly_as_of()
        if not sync and current_app.conf.task_always_eager:
            self.stdout.write("no CELERY_BROKER_URL: running in-process (--sync)")
            sync = True
        if threads < 1:
            raise CommandError("--threads must be at least 1")
        try:
            if sync:
                result = services.scoring_run_sync(
                    as_of=as_of, chunk_size=chunk_size, takeover=takeover, threads=threads
                )
                run = result.run
            else:
                from monitoring.tasks import dispatch_chunks

                result = services.scoring_run_start(
                    as_of=as_of, mode="workers", chunk_size=chunk_size, takeover=takeover
                )
                run = result.run
                if result.action != "already_done":
                    run = services.scoring_run_continue(run_id=run.pk, dispatcher=dispatch_chunks)
                    self.stdout.write(f"{result.action}: run #{run.pk} for {as_of} dispatched to the workers")
                    if wait:
                        run = self._wait(run, timeout)
        except services.RunRefused as exc:
            if exc.run is not None:
                exc.run.refresh_from_db()
                self.stderr.write(summary(exc.run))
            raise CommandError(str(exc)) from None
        if result.action == "already_done":
            self.stdout.write(f"the run for {as_of} already succeeded; nothing to do")
        self.stdout.write(summary(run))
        if run.status == RunStatus.FAILED:
            raise CommandError(f"the run for {as_of} failed: {run.error}")

    def _wait(self, run: ScoringRun, timeout: float) -> ScoringRun:
        deadline = time.monotonic() + timeout
        while run.status == RunStatus.RUNNING:
            if time.monotonic() > deadline:
                raise CommandError(f"run for {run.as_of} still running after {timeout:.0f}s (it goes on)")
            time.sleep(0.5)
            run.refresh_from_db()
        return run
