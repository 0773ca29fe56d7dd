"""/metrics: Prometheus text with the product's own gauges and counters; protected by setting."""

import datetime
import os
import subprocess
import sys
import textwrap

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.ops.models import JobOutcome, JobStatus
from loans.api.models import WebhookDelivery, WebhookEndpoint
from loans.models import Partner
from monitoring.models import Alert, Phase, RunStatus, ScoringRun

from .conftest import ROOT

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict:
    r = client.get("/metrics", **headers)
    assert r.status_code == 200, r.content
    assert r["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def open_metrics(settings):
    settings.METRICS_PUBLIC = True


# --- access --------------------------------------------------------------------------------


def test_metrics_need_a_token_or_an_allowed_network_unless_public(client, settings):
    settings.METRICS_PUBLIC = False
    settings.METRICS_BEARER_TOKEN = "s3cret-scrape-token"
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    # the test client comes from 127.0.0.1, outside the allowed network
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    )
    assert client.get("/metrics", REMOTE_ADDR="10.1.4.20").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.4.20").status_code == 403
    settings.METRICS_BEARER_TOKEN = ""  # no token configured: a Bearer header opens nothing
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403
    settings.METRICS_PUBLIC = True
    assert client.get("/metrics").status_code == 200


def test_local_settings_open_metrics_and_production_does_not():
    code = "from django.conf import settings; print(settings.METRICS_PUBLIC)"
    env_base = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "METRICS_PUBLIC")
    }
    local = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env_base, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        timeout=60,
    )
    assert local.stdout.strip() == "True", local.stderr
    from tests.test_settings import GOOD_ENV

    prod = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env_base, **GOOD_ENV},
        timeout=60,
    )
    assert prod.stdout.strip() == "False", prod.stderr
    code = "from django.conf import settings; print(settings.METRICS_ALLOWED_NETWORKS)"
    prod = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env_base, **GOOD_ENV},
        timeout=60,
    )
    assert prod.stdout.strip() == "[]", (
        prod.stderr
    )  # production: the token, unless networks are named


# --- what they say -------------------------------------------------------------------------


def test_gauges_come_from_the_database(client, open_metrics, django_assert_max_num_queries):
    # given: alerts of every status, a webhook given up, a finished nightly run, job results
    day = datetime.date(2026, 11, 1)
    for i, (severity, status) in enumerate(
        [
            ("high", "open"),
            ("high", "open"),
            ("high", "acknowledged"),
            ("medium", "open"),
            ("low", "resolved"),
        ]
    ):
        Alert.objects.create(
            subject_kind="company",
            subject_id=i,
            first_seen_on=day,
            last_seen_on=day,
            rule="score_drop",
            severity=severity,
            status=status,
            **({"closed_at": timezone.now(), "close_reason": "handled"} if status == "resolved" else {}),
        )
    endpoint = WebhookEndpoint.objects.create(
        partner=Partner.objects.create(name="P"), url="https://p.example/h"
    )
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="loan.overdue", status="failed")
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="loan.overdue", status="failed")
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="loan.overdue", status="pending")
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="loan.overdue", status="succeeded")
    finished = timezone.now() - datetime.timedelta(hours=5)
    ScoringRun.objects.create(
        as_of=day,
        status=RunStatus.SUCCEEDED,
        phase=Phase.DONE,
        started_at=finished - datetime.timedelta(seconds=80),
        finished_at=finished,
        counts={"persons": 2_800_000, "companies": 1_000_000},
    )
    ScoringRun.objects.create(as_of=day + datetime.timedelta(days=1), status=RunStatus.RUNNING)
    now = timezone.now()
    JobStatus.objects.create(
        name="offer expiry",
        task="loans.tasks.expire_offers",
        last_status=JobOutcome.SUCCEEDED,
        last_started_at=now,
        last_success_at=now,
        runs=3,
    )
    JobStatus.objects.create(
        name="webhook retry sweep",
        task="loans.api.tasks.retry_due_webhooks",
        last_status=JobOutcome.FAILED,
        last_started_at=now,
        runs=9,
        failures=1,
    )
    # when: one scrape reads them with a handful of queries (one per work queue among them)
    with django_assert_max_num_queries(9):
        samples = scrape(client)
    # then
    assert value(samples, "sme_alerts_open", severity="high") == 3
    assert value(samples, "sme_alerts_open", severity="medium") == 1
    assert value(samples, "sme_alerts_open", severity="low") is None  # closed ones are not open
    assert value(samples, "sme_webhook_deliveries_failed") == 2
    assert value(samples, "sme_webhook_deliveries_pending") == 1
    assert value(samples, "sme_nightly_run_running") == 1
    assert value(samples, "sme_nightly_run_last_duration_seconds") == 80
    assert value(samples, "sme_nightly_run_last_subjects") == 3_800_000
    assert value(samples, "sme_nightly_run_last_subjects_per_second") == 3_800_000 / 80
    assert value(samples, "sme_nightly_run_last_success_timestamp_seconds") == pytest.approx(
        finished.timestamp()
    )
    assert value(samples, "sme_periodic_job_last_succeeded", job="offer expiry") == 1
    assert value(samples, "sme_periodic_job_last_succeeded", job="webhook retry sweep") == 0
    assert value(
        samples, "sme_periodic_job_last_success_timestamp_seconds", job="offer expiry"
    ) == pytest.approx(now.timestamp())
    for source in ("work_queues", "nightly_run", "webhooks", "periodic_jobs", "ledger"):
        assert value(samples, "sme_metrics_source_up", source=source) == 1
    assert value(samples, "sme_ledger_verification_ok") is None  # no hook configured


def latest_verification_broken():
    return False, datetime.datetime(2026, 11, 30, 2, 30, tzinfo=datetime.UTC)


def test_ledger_verification_comes_through_its_hook(client, open_metrics, settings):
    settings.LEDGER_VERIFICATION_STATUS = "tests.ops.test_metrics.latest_verification_broken"
    samples = scrape(client)
    assert value(samples, "sme_ledger_verification_ok") == 0
    assert (
        value(samples, "sme_ledger_verification_timestamp_seconds")
        == datetime.datetime(2026, 11, 30, 2, 30, tzinfo=datetime.UTC).timestamp()
    )


def test_a_broken_source_is_reported_and_the_others_still_scrape(client, open_metrics, settings):
    settings.LEDGER_VERIFICATION_STATUS = "no.such.module.latest"
    samples = scrape(client)
    assert value(samples, "sme_metrics_source_up", source="ledger") == 0
    assert value(samples, "sme_metrics_source_up", source="webhooks") == 1
    assert value(samples, "sme_webhook_deliveries_failed") == 0


def test_a_new_work_queue_is_one_line(client, open_metrics, monkeypatch):
    from config.ops import metrics

    # given a queue declared like the committee cases will be (here over an existing model)
    queue = metrics.WorkQueue(
        "sme_test_runs_waiting",
        "Runs waiting.",
        "monitoring.ScoringRun",
        metrics.Q(status="running"),
        overdue_after="heartbeat_at",
    )
    missing = metrics.WorkQueue(
        "sme_not_yet",
        "A model another issue adds.",
        "monitoring.NotYetAModel",
        metrics.Q(status="open"),
    )
    monkeypatch.setattr(metrics, "WORK_QUEUES", [*metrics.WORK_QUEUES, queue, missing])
    ScoringRun.objects.create(
        as_of=datetime.date(2026, 1, 1),
        status="running",
        heartbeat_at=timezone.now() - datetime.timedelta(hours=1),
    )
    ScoringRun.objects.create(
        as_of=datetime.date(2026, 1, 2),
        status="running",
        heartbeat_at=timezone.now() + datetime.timedelta(hours=1),
    )
    samples = scrape(client)
    assert value(samples, "sme_test_runs_waiting") == 2
    assert value(samples, "sme_test_runs_waiting_overdue") == 1
    assert not any(
        name == "sme_not_yet" for name, _ in samples
    )  # absent model: skipped, not an error
    assert value(samples, "sme_metrics_source_up", source="work_queues") == 1


def test_decisions_are_counted_by_outcome_with_their_latency_at_commit(
    client, open_metrics, scored_company, api, django_capture_on_commit_callbacks
):
    before = scrape(client)
    count_before = value(before, "sme_decisions_total", kind="automated", outcome="approve") or 0
    latency_before = value(before, "sme_decision_seconds_count", channel="partner") or 0
    company = scored_company()
    # when a partner applies (the API's transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(
            "/api/v1/applications/",
            {
                "company": company["id"],
                "product": "sme-revolving",
                "amount": "200000.00",
                "term_months": 12,
            },
            format="json",
        )
    assert r.status_code == 201 and r.json()["status"] == "approved", r.json()
    after = scrape(client)
    assert (
        value(after, "sme_decisions_total", kind="automated", outcome="approve") == count_before + 1
    )
    assert value(after, "sme_decision_seconds_count", channel="partner") == latency_before + 1
    assert value(after, "sme_decision_seconds_sum", channel="partner") > (
        value(before, "sme_decision_seconds_sum", channel="partner") or 0
    )


def test_a_rolled_back_decision_is_not_counted(client, open_metrics, scored_company, api):
    company = scored_company()
    before = value(scrape(client), "sme_decisions_total", kind="automated", outcome="approve") or 0
    # the test's transaction never commits: on_commit callbacks are dropped
    r = api.post(
        "/api/v1/applications/",
        {
            "company": company["id"],
            "product": "sme-revolving",
            "amount": "200000.00",
            "term_months": 12,
        },
        format="json",
    )
    assert r.status_code == 201
    assert (
        value(scrape(client), "sme_decisions_total", kind="automated", outcome="approve") or 0
    ) == before


def test_http_requests_are_counted_by_route_and_status(client, open_metrics):
    def count(samples, **labels):
        return value(samples, "sme_http_request_seconds_count", **labels) or 0

    before = scrape(client)
    client.get("/health/")
    client.get("/api/v1/companies/")  # no key: 401
    client.get("/no/such/page/")
    after = scrape(client)
    assert (
        count(after, method="GET", route="health/", status="200")
        == count(before, method="GET", route="health/", status="200") + 1
    )
    assert (
        count(after, method="GET", route="api/v1/companies/", status="401")
        == count(before, method="GET", route="api/v1/companies/", status="401") + 1
    )
    assert (
        count(after, method="GET", route="unmatched", status="404")
        == count(before, method="GET", route="unmatched", status="404") + 1
    )


WORKER = textwrap.dedent("""
    import os, sys
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django; django.setup()
    from loans import metrics
    for _ in range(int(sys.argv[1])):
        metrics.decision_recorded(kind="automated", outcome="decline", channel="partner", started=0.0)
""")
SCRAPER = textwrap.dedent("""
    import os
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django; django.setup()
    from config.ops.metrics import exposition
    print(exposition().decode())
""")


def test_several_worker_processes_are_summed_in_multiprocess_mode(tmp_path):
    # given: two gunicorn-like worker processes counting decisions into one multiprocess dir
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DATABASE_URL": "sqlite:////tmp/ops-unused.sqlite3",
    }
    for n in (2, 3):
        done = subprocess.run(
            [sys.executable, "-c", WORKER, str(n)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    # when a third process (whichever worker answers the scrape) renders /metrics
    page = subprocess.run(
        [sys.executable, "-c", SCRAPER],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert page.returncode == 0, page.stderr
    # then it shows the sum of both
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(page.stdout)
        for s in f.samples
    }
    assert samples[("sme_decisions_total", (("kind", "automated"), ("outcome", "decline")))] == 5
    assert samples[("sme_decision_seconds_count", (("channel", "partner"),))] == 5
