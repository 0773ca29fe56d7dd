"""Counters of the loan book's own events for Prometheus (exposed at ``/metrics`` by ``ops``).

Plain ``prometheus_client`` metrics, so the loan book depends on a library, not on the
operations app.  Under several gunicorn workers they are kept per process in
``PROMETHEUS_MULTIPROC_DIR`` and summed at scrape time (see ``config/gunicorn_ops.py``).
A decision is counted when its transaction commits: a rolled-back one never happened.
"""

from __future__ import annotations

import time

from django.db import transaction
from prometheus_client import Counter, Histogram

DECISIONS = Counter(
    "sme_decisions",
    "Credit decisions recorded, by kind (automated, committee) and outcome (approve, decline, refer).",
    ["kind", "outcome"],
)
DECISION_SECONDS = Histogram(
    "sme_decision_seconds",
    "Server time of an automated decision: from the service call to its commit.",
    ["channel"],
    buckets=(0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def decision_recorded(
    *, kind: str, outcome: str, channel: str = "", started: float | None = None
) -> None:
    """Count a decision (and, with ``started`` from ``time.perf_counter()``, observe its
    latency) once the surrounding transaction commits."""

    def record() -> None:
        DECISIONS.labels(kind, outcome).inc()
        if started is not None:
            DECISION_SECONDS.labels(channel).observe(time.perf_counter() - started)

    transaction.on_commit(record)
