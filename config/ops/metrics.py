"""Prometheus metrics at ``/metrics``.

Two kinds, exposed together:

* **Events counted in the process** — HTTP requests (``HTTP_REQUEST_SECONDS``, observed by the
  access-log middleware) and credit decisions with their latency (``loans.metrics``).  Under gunicorn each worker counts its own;
  with ``PROMETHEUS_MULTIPROC_DIR`` set (``config/gunicorn_ops.py`` sets it) every worker
  writes its counts to files there and a scrape, whichever worker answers it, sums them all.
* **State read from the database at scrape time** — open alerts, work waiting, webhook
  deliveries given up, the last nightly run, the last result of each periodic job, the ledger
  verification.  Every worker reads the same database, so these need no multiprocess
  bookkeeping and cannot drift; each is one small indexed query.

Work queues are declared in :data:`WORK_QUEUES`; a new queue is one line (alerts, post-loan
actions and committee cases are there).  (``overdue_after`` adds ``<name>_overdue``: waiting rows whose deadline has passed.)
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

# Every request, observed by ops.middleware.RequestLogMiddleware (which times it for the access
# log anyway): one histogram, by method, route pattern and status — a handful of label values,
# and a few microseconds per request.
HTTP_REQUEST_SECONDS = Histogram(
    "sme_http_request_seconds",
    "Server time of HTTP requests, by method, route (URL pattern) and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_request_observed(*, method: str, route: str | None, status: int, seconds: float) -> None:
    HTTP_REQUEST_SECONDS.labels(
        method if method in _METHODS else "other", route or "unmatched", str(status)
    ).observe(seconds)


@dataclass(frozen=True)
class WorkQueue:
    """Rows of ``model`` that wait for someone (``waiting``), counted by the ``by`` field."""

    metric: str
    help: str
    model: str  # "app_label.ModelName"
    waiting: Q
    by: str | None = None
    overdue_after: str | None = None  # a datetime field: waiting rows past it are overdue


WORK_QUEUES: list[WorkQueue] = [
    WorkQueue(
        "sme_alerts_open",
        "Alerts not yet resolved or dismissed (open or acknowledged), by severity.",
        "monitoring.Alert",
        Q(status__in=["open", "acknowledged"]),
        by="severity",
    ),
    WorkQueue(
        "sme_post_loan_actions_waiting",
        "Post-loan actions awaiting approval, execution or the committee, by kind.",
        "monitoring.PostLoanAction",
        Q(status__in=["proposed", "approved", "pending_committee"]),
        by="kind",
    ),
    WorkQueue(
        "sme_committee_cases_waiting",
        "Credit committee cases awaiting a decision, by kind.",
        "monitoring.CommitteeCase",
        Q(status="open"),
        by="kind",
        overdue_after="due_at",
    ),
]


def _queue_families(queue: WorkQueue):
    try:
        model = apps.get_model(queue.model)
    except LookupError:  # the model is not installed (yet): nothing to report
        return
    labels = [queue.by] if queue.by else []
    waiting = GaugeMetricFamily(queue.metric, queue.help, labels=labels)
    rows = model.objects.filter(queue.waiting)
    if queue.by:
        for row in rows.order_by().values(queue.by).annotate(n=Count("pk")):
            waiting.add_metric([str(row[queue.by])], row["n"])
    else:
        waiting.add_metric([], rows.count())
    yield waiting
    if queue.overdue_after:
        overdue = GaugeMetricFamily(
            f"{queue.metric}_overdue", f"{queue.help} Past their deadline.", labels=[]
        )
        overdue.add_metric(
            [], rows.filter(**{f"{queue.overdue_after}__lt": timezone.now()}).count()
        )
        yield overdue


def _nightly_run_families():
    from monitoring.models import RunStatus, ScoringRun

    last = (
        ScoringRun.objects.filter(status=RunStatus.SUCCEEDED)
        .order_by("-as_of")
        .only("as_of", "started_at", "finished_at", "counts")
        .first()
    )
    running = ScoringRun.objects.filter(status=RunStatus.RUNNING).count()
    g = GaugeMetricFamily("sme_nightly_run_running", "Nightly runs in progress.")
    g.add_metric([], running)
    yield g
    if last is None or last.finished_at is None:
        return
    subjects = int(last.counts.get("persons", 0) or 0) + int(last.counts.get("companies", 0) or 0)
    seconds = last.seconds
    for name, help_text, value in (
        (
            "sme_nightly_run_last_success_timestamp_seconds",
            "When the last successful nightly run finished (Unix time).",
            last.finished_at.timestamp(),
        ),
        (
            "sme_nightly_run_last_duration_seconds",
            "Wall time of the last successful nightly run.",
            seconds,
        ),
        (
            "sme_nightly_run_last_subjects",
            "Persons and companies scored by the last successful nightly run.",
            subjects,
        ),
        (
            "sme_nightly_run_last_subjects_per_second",
            "Throughput of the last successful nightly run.",
            subjects / seconds if seconds else None,
        ),
    ):
        if value is not None:
            g = GaugeMetricFamily(name, help_text)
            g.add_metric([], value)
            yield g


def _webhook_families():
    from loans.api.models import WebhookDelivery

    g = GaugeMetricFamily(
        "sme_webhook_deliveries_failed", "Webhook deliveries given up after every retry (all time)."
    )
    g.add_metric([], WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).count())
    yield g
    g = GaugeMetricFamily(
        "sme_webhook_deliveries_pending", "Webhook deliveries not yet delivered, still retrying."
    )
    g.add_metric([], WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).count())
    yield g


def _job_families():
    from .models import JobOutcome, JobStatus

    ok = GaugeMetricFamily(
        "sme_periodic_job_last_succeeded", "1 when the job's last run succeeded.", labels=["job"]
    )
    when = GaugeMetricFamily(
        "sme_periodic_job_last_success_timestamp_seconds",
        "When the job last succeeded (Unix time).",
        labels=["job"],
    )
    for name, status, success_at in JobStatus.objects.values_list(
        "name", "last_status", "last_success_at"
    ):
        if status != JobOutcome.RUNNING:
            ok.add_metric([name], 1 if status == JobOutcome.SUCCEEDED else 0)
        if success_at is not None:
            when.add_metric([name], success_at.timestamp())
    yield ok
    yield when


def _ledger_families():
    """The ledger verification, through the ``LEDGER_VERIFICATION_STATUS`` hook: a dotted path
    to a callable returning ``(ok: bool, checked_at: datetime)`` of the latest verification,
    or ``None`` when there has been none.  Unset: no ledger metrics."""
    path = getattr(settings, "LEDGER_VERIFICATION_STATUS", "")
    if not path:
        return
    latest = import_string(path)()
    if latest is None:
        return
    ok, checked_at = latest
    g = GaugeMetricFamily(
        "sme_ledger_verification_ok",
        "1 when the latest ledger verification found the chain intact.",
    )
    g.add_metric([], 1 if ok else 0)
    yield g
    g = GaugeMetricFamily(
        "sme_ledger_verification_timestamp_seconds",
        "When the ledger was last verified (Unix time).",
    )
    g.add_metric([], checked_at.timestamp())
    yield g


SOURCES = {
    "work_queues": lambda: (f for q in WORK_QUEUES for f in _queue_families(q)),
    "nightly_run": _nightly_run_families,
    "webhooks": _webhook_families,
    "periodic_jobs": _job_families,
    "ledger": _ledger_families,
}


class ProductCollector:
    """The database-derived gauges.  A source that fails is reported in
    ``sme_metrics_source_up`` and logged; the others are still exposed."""

    def collect(self):
        up = GaugeMetricFamily(
            "sme_metrics_source_up", "1 when the source's gauges could be read.", labels=["source"]
        )
        for name, source in SOURCES.items():
            try:
                families = list(source())
            except Exception:  # noqa: BLE001 - one broken source must not blank the scrape
                log.exception("metrics source %s failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up


_product_registry = CollectorRegistry(auto_describe=False)
_product_registry.register(ProductCollector())


def exposition() -> bytes:
    """The whole page: the process metrics (summed over workers in multiprocess mode), then
    the database-derived gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_product_registry)


def _client_allowed(request) -> bool:
    if getattr(settings, "METRICS_PUBLIC", False):
        return True
    token = getattr(settings, "METRICS_BEARER_TOKEN", "")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
    try:
        addr = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        addr in ipaddress.ip_network(net, strict=False)
        for net in getattr(settings, "METRICS_ALLOWED_NETWORKS", ())
    )


@never_cache
def metrics_view(request):
    if not _client_allowed(request):
        return HttpResponseForbidden(
            "metrics: bearer token or an allowed network required\n", content_type="text/plain"
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
