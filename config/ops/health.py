"""``/health/`` (liveness) and ``/ready/`` (readiness) for load balancers and orchestrators.

``/health/`` answers from the process alone: no database, no broker.  A failure means the
process is wedged and should be restarted.

``/ready/`` runs its checks concurrently (django-health-check's runner, each check with its
own time budget) and answers 200 when every one passes, 503 otherwise, with one JSON entry per
check.  Without a broker (the zero-setup default: tasks run in-process) the broker and worker
checks say "not configured" and pass: there is nothing to wait for.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

NOT_CONFIGURED = "not configured"


def _broker_url() -> str:
    return getattr(settings, "CELERY_BROKER_URL", "") or ""


class _Noted:
    """A check that passed may say more than "ok" (e.g. "not configured", the worker's name)."""

    note: str | None = None

    def pretty_status(self) -> str:
        return self.note or "ok"


@dataclasses.dataclass
class Broker(_Noted, HealthCheck):
    """The Celery broker accepts a connection."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=2), repr=False
    )

    def run(self):
        url = _broker_url()
        if not url:
            self.note = NOT_CONFIGURED
            return
        from config.celery_app import app

        try:
            with app.connection_for_write(url) as conn:
                conn.ensure_connection(
                    max_retries=1,
                    interval_start=0,
                    interval_step=0.2,
                    timeout=self.timeout.total_seconds(),
                )
        except Exception as exc:  # noqa: BLE001 - any failure to connect is "unavailable"
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from exc


_control_apps: dict = {}


def _control_app(url: str):
    """A Celery app of its own for pinging the workers on ``url``: the product's app publishes
    control messages through its producer pool, bound to the broker it was configured with,
    which need not be the one this check is asked about."""
    app = _control_apps.get(url)
    if app is None:
        from celery import Celery

        app = Celery("sme-lending-ready", broker=url, set_as_current=False)
        app.conf.update(accept_content=["json"], task_serializer="json", result_serializer="json")
        _control_apps[url] = app
    return app


@dataclasses.dataclass
class Worker(_Noted, HealthCheck):
    """At least one Celery worker answers a ping on the broker."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=1), repr=False
    )

    def run(self):
        url = _broker_url()
        if not url:
            self.note = NOT_CONFIGURED
            return
        app = _control_app(url)
        try:
            with app.connection_for_write() as conn:
                # Connect first, without retries: the ping's publish would retry a dead broker
                # for seconds.  limit=1: done as soon as one worker replies.
                conn.ensure_connection(
                    max_retries=1, interval_start=0, interval_step=0.2, timeout=2
                )
            replies = app.control.ping(timeout=self.timeout.total_seconds(), limit=1)
        except Exception as exc:  # noqa: BLE001
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from exc
        alive = [
            name
            for reply in replies or []
            for name, answer in reply.items()
            if answer == {"ok": "pong"}
        ]
        if not alive:
            raise ServiceUnavailable("no Celery worker answered")
        self.note = f"ok ({alive[0]})"


@dataclasses.dataclass
class NightlyRun(_Noted, HealthCheck):
    """The last finished nightly run is not older than READY_NIGHTLY_RUN_MAX_AGE_HOURS."""

    async def run(self):
        max_age_hours = getattr(settings, "READY_NIGHTLY_RUN_MAX_AGE_HOURS", 26)
        if not max_age_hours:
            self.note = "not checked"
            return
        from monitoring.models import RunStatus, ScoringRun

        # Async ORM: runs on the request's own thread and database connection.
        finished_at = await (
            ScoringRun.objects.filter(status=RunStatus.SUCCEEDED)
            .order_by("-as_of")
            .values_list("finished_at", flat=True)
            .afirst()
        )
        if finished_at is None:
            raise ServiceUnavailable("no nightly run has finished yet")
        age = timezone.now() - finished_at
        hours = age.total_seconds() / 3600
        if hours > max_age_hours:
            raise ServiceUnavailable(
                f"last nightly run finished {hours:.1f} h ago (limit {max_age_hours} h)"
            )
        self.note = f"ok (finished {hours:.1f} h ago)"


@dataclasses.dataclass
class _OwnConnectionDatabase(_Noted, Database):
    """The library's ``SELECT 1``, run as a coroutine on the request's thread so that it uses
    the request's connection (the library's runs it on a pool thread with a new one)."""

    async def run(self):
        await sync_to_async(super().run)()


READY_CHECKS = {
    "database": _OwnConnectionDatabase,
    "broker": Broker,
    "worker": Worker,
    "nightly_run": NightlyRun,
}


class ReadyView(HealthCheckView):
    """200 when every check passes, 503 otherwise; JSON whatever the Accept header says."""

    async def get(self, request, *args, **kwargs):
        checks = [(name, cls()) for name, cls in READY_CHECKS.items()]
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for _, check in checks))
        body = {}
        for (name, check), result in zip(checks, results, strict=True):
            body[name] = {
                "status": "fail" if result.error else "ok",
                "detail": str(result.error.message) if result.error else check.pretty_status(),
                "ms": round(result.time_taken * 1000, 1),
            }
        ok = not any(r.error for r in results)
        return JsonResponse(
            {"status": "ok" if ok else "fail", "checks": body}, status=200 if ok else 503
        )


@never_cache
def health(request):
    """Liveness: the process answers.  Touches nothing else."""
    return JsonResponse({"status": "ok"})


ready = ReadyView.as_view()
