"""Record the last result of every scheduled job, and carry the request id into tasks.

django-celery-beat sends each scheduled task with a ``periodic_task_name`` header (so does the
admin's "Run selected tasks"); Celery's task signals see it on ``task.request``.  A run of such
a task upserts its :class:`~config.ops.models.JobStatus` row at start and at the end, so the admin's
periodic task list shows each job's last result whatever the task is — no decorator, no change
to the task.  Tasks started any other way (a chord's chunks, a webhook delivery) are not
recorded.

Why not django-celery-results: it records results by being the result backend, and the
nightly run's chords need Redis as the result backend (a database backend would put every
chunk's chord counter through PostgreSQL); it would also store every chunk's result.
"""

from __future__ import annotations

import logging
import sys
import time

from celery import signals
from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from . import logs
from .models import JobOutcome, JobStatus

log = logging.getLogger(__name__)

# task id -> what the start left for the end (a task id runs once at a time in a process)
_started: dict[str, float] = {}
_log_tokens: dict[str, object] = {}


def periodic_task_name(task) -> str | None:
    request = getattr(task, "request", None)
    if request is None:
        return None
    name = getattr(request, "periodic_task_name", None)
    if name is None:
        # Eager runs (no broker) keep the headers as a dict.
        name = (getattr(request, "headers", None) or {}).get("periodic_task_name")
    return name


def _summary(value) -> str:
    return logs.redact(str(value))[:500] if value is not None else ""


@signals.before_task_publish.connect(dispatch_uid="ops.request_id_to_task")
def _request_id_to_task(sender=None, headers=None, **kwargs):
    request_id = logs.context_get().get("request_id")
    if request_id and headers is not None:
        headers.setdefault("request_id", request_id)


@signals.task_prerun.connect(dispatch_uid="ops.task_prerun")
def _task_prerun(sender=None, task_id=None, task=None, **kwargs):
    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None) or logs.context_get().get("request_id")
    _log_tokens[task_id] = logs.context_set(request_id=request_id, task_id=task_id, task=task.name)
    name = periodic_task_name(task)
    if name is None:
        return
    _started[task_id] = time.perf_counter()
    now = timezone.now()
    try:
        JobStatus.objects.bulk_create(
            [
                JobStatus(
                    name=name, task=task.name, last_status=JobOutcome.RUNNING, last_started_at=now
                )
            ],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["task", "last_status", "last_started_at"],
        )
    except DatabaseError:  # the record must never stop the job itself
        log.exception("could not record the start of periodic task %s", name)


@signals.task_postrun.connect(dispatch_uid="ops.task_postrun")
def _task_postrun(sender=None, task_id=None, task=None, retval=None, state=None, **kwargs):
    token = _log_tokens.pop(task_id, None)
    name = periodic_task_name(task)
    try:
        if name is None or state == "RETRY":
            return
        started = _started.pop(task_id, None)
        # An eager run that propagates its error (no broker) reaches here without state or
        # return value, while the exception is still on its way out.
        error = sys.exc_info()[1] if state is None else None
        seconds = round(time.perf_counter() - started, 3) if started is not None else None
        now = timezone.now()
        failed = state != "SUCCESS" or error is not None
        fields = {
            "last_status": JobOutcome.FAILED if failed else JobOutcome.SUCCEEDED,
            "last_finished_at": now,
            "last_seconds": seconds,
            "runs": F("runs") + 1,
        }
        if failed:
            error = error if error is not None else retval
            fields.update(
                last_error=_summary(f"{type(error).__name__}: {error}"), failures=F("failures") + 1
            )
        else:
            fields.update(last_result=_summary(retval), last_error="", last_success_at=now)
        try:
            JobStatus.objects.filter(name=name).update(**fields)
        except DatabaseError:
            log.exception("could not record the end of periodic task %s", name)
        log.log(
            logging.ERROR if failed else logging.INFO,
            "periodic task %s %s in %ss",
            name,
            "failed" if failed else "succeeded",
            seconds,
            extra={"event": "periodic_job", "job": name, "state": state, "seconds": seconds},
        )
    finally:
        if token is not None:
            try:
                logs.context_reset(token)
            except ValueError:  # set in another context (should not happen): leave it
                pass
