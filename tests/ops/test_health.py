"""/health/ and /ready/: unauthenticated JSON for load balancers."""

import datetime
import time

import pytest
from django.utils import timezone

from monitoring.models import Phase, RunStatus, ScoringRun

pytestmark = pytest.mark.django_db


def finished_run(*, hours_ago: float, as_of=datetime.date(2026, 11, 1)) -> ScoringRun:
    finished = timezone.now() - datetime.timedelta(hours=hours_ago)
    return ScoringRun.objects.create(
        as_of=as_of,
        status=RunStatus.SUCCEEDED,
        phase=Phase.DONE,
        started_at=finished - datetime.timedelta(seconds=80),
        finished_at=finished,
        counts={"persons": 2_670_000, "companies": 1_000_000},
    )


def test_health_answers_from_the_process_alone(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        r = client.get("/health/")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r["Cache-Control"].startswith("max-age=0")


def test_ready_without_a_broker_says_not_configured_and_is_ready(client, settings):
    # given the zero-setup default (no broker: tasks run in-process) and a fresh nightly run
    settings.CELERY_BROKER_URL = ""
    finished_run(hours_ago=3)
    # when
    r = client.get("/ready/", HTTP_ACCEPT="text/html")
    # then: JSON whatever was asked, every check named, all passing
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "ok"
    assert (
        body["checks"]["database"]["status"] == "ok"
        and body["checks"]["database"]["detail"] == "ok"
    )
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["broker"]["detail"] == "not configured"
    assert body["checks"]["worker"]["detail"] == "not configured"
    assert body["checks"]["nightly_run"]["status"] == "ok"
    assert "3.0 h ago" in body["checks"]["nightly_run"]["detail"]


def test_ready_fails_when_the_last_nightly_run_is_too_old(client, settings):
    settings.CELERY_BROKER_URL = ""
    settings.READY_NIGHTLY_RUN_MAX_AGE_HOURS = 26
    # given: the last run finished 27 hours ago; a later one failed
    finished_run(hours_ago=27)
    ScoringRun.objects.create(
        as_of=datetime.date(2026, 11, 2), status=RunStatus.FAILED, error="boom"
    )
    # when
    r = client.get("/ready/")
    # then
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "fail"
    assert body["checks"]["nightly_run"]["status"] == "fail"
    assert "27.0 h ago (limit 26" in body["checks"]["nightly_run"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"  # the others still report


def test_ready_fails_before_any_nightly_run_and_the_check_can_be_switched_off(client, settings):
    settings.CELERY_BROKER_URL = ""
    r = client.get("/ready/")
    assert r.status_code == 503
    assert r.json()["checks"]["nightly_run"]["detail"] == "no nightly run has finished yet"
    settings.READY_NIGHTLY_RUN_MAX_AGE_HOURS = 0
    r = client.get("/ready/")
    assert r.status_code == 200
    assert r.json()["checks"]["nightly_run"]["detail"] == "not checked"


def test_ready_fails_quickly_when_the_broker_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    finished_run(hours_ago=1)
    r = client.get("/ready/")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert (
        checks["broker"]["status"] == "fail" and "broker unreachable" in checks["broker"]["detail"]
    )
    # the worker check says why at once, rather than timing out on a publish that retries
    assert (
        checks["worker"]["status"] == "fail" and "broker unreachable" in checks["worker"]["detail"]
    )
    assert checks["database"]["status"] == "ok"


def test_ready_sees_a_real_worker_on_redis_and_its_death(
    client, settings, redis_url, celery_worker
):
    from config.celery_app import app

    start, stop = celery_worker
    # the product's app already has its producer pool, bound to the broker it was configured with
    # (none: the local default), as after other tests or in a process that started without one
    app.pool  # noqa: B018
    settings.CELERY_BROKER_URL = redis_url
    finished_run(hours_ago=1)
    # given: no worker yet
    r = client.get("/ready/")
    assert r.status_code == 503
    assert r.json()["checks"]["broker"]["status"] == "ok"
    assert r.json()["checks"]["worker"]["detail"] == "no Celery worker answered"
    # when a real worker starts, /ready/ turns green once it answers pings
    worker = start("ready1")
    deadline = time.monotonic() + 120  # a worker's start-up imports the whole product
    while time.monotonic() < deadline and worker.poll() is None:
        r = client.get("/ready/")
        if r.status_code == 200:
            break
        time.sleep(0.5)
    assert r.status_code == 200, (r.content, worker.log_path.read_text()[-2000:])
    assert r.json()["checks"]["worker"]["detail"].startswith("ok (ready1@")
    # when it dies, the worker check fails again
    stop(worker)
    r = client.get("/ready/")
    assert r.status_code == 503
    assert r.json()["checks"]["worker"]["status"] == "fail"
