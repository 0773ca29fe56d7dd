"""The periodic jobs: scheduled in django-celery-beat by migrate, each doing its job, each
run's last result kept (ops.jobs) and shown in the admin."""

import datetime
import time

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.ops.models import JobOutcome, JobStatus
from loans.api.models import IdempotencyRecord, WebhookDelivery, WebhookEndpoint
from loans.api.tasks import purge_idempotency_records, retry_due_webhooks
from loans.choices import ApplicationStatus, Role
from loans.models import BorrowerGroupMember, LoanApplication, Partner
from loans.services.applications import application_create, application_submit
from loans.tasks import expire_offers, rebuild_borrower_groups
from tests.api.test_webhooks import Receiver
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory
from tests.loans.conftest import scores_for

pytestmark = pytest.mark.django_db

SCHEDULED = {
    "webhook retry sweep": ("loans.api.tasks.retry_due_webhooks", "every minute"),
    "offer expiry": ("loans.tasks.expire_offers", "30 0 * * * (m/h/dM/MY/d) Asia/Shanghai"),
    "idempotency record cleanup": (
        "loans.api.tasks.purge_idempotency_records",
        "17 * * * * (m/h/dM/MY/d) Asia/Shanghai",
    ),
    "borrower group rebuild": (
        "loans.tasks.rebuild_borrower_groups",
        "30 1 * * * (m/h/dM/MY/d) Asia/Shanghai",
    ),
}


def test_every_job_is_scheduled_after_migrate_and_names_a_real_task():
    from config.celery_app import app

    app.loader.import_default_modules()
    for name, (task, schedule) in SCHEDULED.items():
        periodic = PeriodicTask.objects.get(name=name)
        assert periodic.enabled and periodic.task == task
        assert str(periodic.interval or periodic.crontab) == schedule
        assert task in app.tasks, task
    assert PeriodicTask.objects.filter(name="nightly rescoring").exists()  # monitoring's, untouched


# --- each job does its job -------------------------------------------------------------------


def test_offer_expiry_expires_offers_past_their_validity(company, product, officer):
    app = application_create(
        company_id=company.pk,
        product_id=product.pk,
        requested_amount="500000",
        term_months=12,
        actor=officer,
    )
    application_submit(application_id=app.pk, actor=officer, scores=scores_for(company, 700))
    fresh = application_create(
        company_id=company.pk,
        product_id=product.pk,
        requested_amount="400000",
        term_months=12,
        actor=officer,
    )
    application_submit(application_id=fresh.pk, actor=officer, scores=scores_for(company, 700))
    fresh_status = LoanApplication.objects.get(pk=fresh.pk).status
    assert fresh_status in (
        ApplicationStatus.APPROVED,
        ApplicationStatus.REFERRED,
    )  # both can expire
    LoanApplication.objects.filter(pk=app.pk).update(
        decided_at=timezone.now() - datetime.timedelta(days=31)
    )
    assert expire_offers.delay().get() == 1
    assert LoanApplication.objects.get(pk=app.pk).status == ApplicationStatus.EXPIRED
    assert (
        LoanApplication.objects.get(pk=fresh.pk).status == fresh_status
    )  # still within its validity
    assert expire_offers.delay().get() == 0  # a second run touches nothing


def test_borrower_group_rebuild_joins_companies_sharing_a_person():
    shared = PersonFactory()
    a, b, alone = CompanyFactory(), CompanyFactory(), CompanyFactory()
    RelatedPartyFactory(company=a, person=shared, role=Role.LEGAL_REPRESENTATIVE)
    RelatedPartyFactory(company=b, person=shared, role=Role.ACTUAL_CONTROLLER)
    RelatedPartyFactory(company=alone, person=PersonFactory(), role=Role.LEGAL_REPRESENTATIVE)
    assert rebuild_borrower_groups.delay().get() == 1
    keys = dict(BorrowerGroupMember.objects.values_list("company_id", "group_key"))
    assert keys[a.pk] == keys[b.pk] == min(a.pk, b.pk)
    assert keys[alone.pk] == alone.pk


def test_idempotency_cleanup_deletes_records_past_their_retention(settings):
    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    partner = Partner.objects.create(name="P")
    old = IdempotencyRecord.objects.create(partner=partner, key="old", fingerprint="x")
    kept = IdempotencyRecord.objects.create(partner=partner, key="recent", fingerprint="y")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=49)
    )
    IdempotencyRecord.objects.filter(pk=kept.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=47)
    )
    assert purge_idempotency_records.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]


def test_the_webhook_retry_sweep_sends_what_is_due():
    receiver = Receiver()
    try:
        endpoint = WebhookEndpoint.objects.create(
            partner=Partner.objects.create(name="P"), url=receiver.url
        )
        due = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type="loan.overdue",
            attempts=1,
            next_attempt_at=timezone.now() - datetime.timedelta(seconds=1),
        )
        later = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type="loan.overdue",
            attempts=1,
            next_attempt_at=timezone.now() + datetime.timedelta(minutes=5),
        )
        assert retry_due_webhooks.delay().get() == 1
    finally:
        receiver.close()
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == WebhookDelivery.Status.SUCCEEDED and len(receiver.received) == 1
    assert later.status == WebhookDelivery.Status.PENDING and later.attempts == 1


# --- each run's last result -----------------------------------------------------------------


def test_a_scheduled_run_records_its_last_result():
    expire_offers.apply(headers={"periodic_task_name": "offer expiry"})
    status = JobStatus.objects.get(name="offer expiry")
    assert status.task == "loans.tasks.expire_offers"
    assert status.last_status == JobOutcome.SUCCEEDED and status.last_result == "0"
    assert (
        status.runs == 1
        and status.failures == 0
        and status.last_success_at
        and status.last_seconds is not None
    )
    expire_offers.apply(headers={"periodic_task_name": "offer expiry"})
    assert JobStatus.objects.get(name="offer expiry").runs == 2


def test_a_failed_scheduled_run_records_the_error_and_keeps_the_last_success():
    rebuild_borrower_groups.apply(headers={"periodic_task_name": "borrower group rebuild"})
    succeeded_at = JobStatus.objects.get().last_success_at
    with pytest.raises(ValueError):
        rebuild_borrower_groups.apply(
            args=["not-a-date"], headers={"periodic_task_name": "borrower group rebuild"}
        )
    status = JobStatus.objects.get()
    assert status.last_status == JobOutcome.FAILED
    assert status.last_error.startswith("ValueError: Invalid isoformat string")
    assert status.last_success_at == succeeded_at and (status.runs, status.failures) == (2, 1)


def test_tasks_not_started_by_the_schedule_are_not_recorded():
    expire_offers.delay()
    assert not JobStatus.objects.exists()


def test_the_periodic_task_list_shows_each_jobs_last_result(admin_client):
    expire_offers.apply(headers={"periodic_task_name": "offer expiry"})
    page = admin_client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "Succeeded: 0" in page  # offer expiry's last run expired nothing
    # every other schedule (the housekeeping jobs, the nightly run, the ledger verification)
    assert page.count("not run yet") == PeriodicTask.objects.exclude(name="offer expiry").count() > len(SCHEDULED) - 1
    assert admin_client.get("/admin/ops/jobstatus/").status_code == 200


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:task_always_eager has no effect on send_task")
def test_a_real_worker_records_the_result_of_a_job_sent_by_the_schedule(
    on_postgres, redis_url, celery_worker
):
    from config.celery_app import app

    start, _stop = celery_worker
    worker = start("jobs1")
    partner = Partner.objects.create(name="P")
    record = IdempotencyRecord.objects.create(partner=partner, key="old", fingerprint="x")
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=30)
    )
    # when beat (or the admin's "Run selected tasks") sends the job with its header
    with app.connection_for_write(redis_url) as conn:
        app.send_task(
            "loans.api.tasks.purge_idempotency_records",
            connection=conn,
            headers={"periodic_task_name": "idempotency record cleanup"},
        )
    deadline = time.monotonic() + 120  # a worker's start-up imports the whole product
    while (
        time.monotonic() < deadline
        and worker.poll() is None
        and not JobStatus.objects.filter(last_status=JobOutcome.SUCCEEDED).exists()
    ):
        time.sleep(0.3)
    # then the worker ran it and recorded the result
    status = JobStatus.objects.filter(name="idempotency record cleanup").first()
    assert status is not None, worker.log_path.read_text()[-2000:]
    assert status.last_status == JobOutcome.SUCCEEDED and status.last_result == "1"
    assert not IdempotencyRecord.objects.exists()
