"""The schedules of the housekeeping jobs (django-celery-beat), created when absent and never
overwritten: after migrate they are edited in the admin (Periodic tasks), where each shows its
last result (ops.jobs).  The nightly run is scheduled by monitoring/0002; the ledger
verification by the ledger's own migration."""

import json

from django.db import migrations

SHANGHAI = "Asia/Shanghai"

# name -> (task, schedule, description); a schedule is ("every", n, period) or a crontab dict.
JOBS = {
    "webhook retry sweep": (
        "loans.api.tasks.retry_due_webhooks",
        ("every", 1, "minutes"),
        "Send the webhook deliveries whose retry is due (a safety net behind each delivery's own retries).",
    ),
    "offer expiry": (
        "loans.tasks.expire_offers",
        {"minute": "30", "hour": "0"},
        "Expire approvals and committee referrals not taken up within the credit policy's offer validity.",
    ),
    "idempotency record cleanup": (
        "loans.api.tasks.purge_idempotency_records",
        {"minute": "17", "hour": "*"},
        "Delete partner idempotency records older than IDEMPOTENCY_RETENTION_HOURS.",
    ),
    "borrower group rebuild": (
        "loans.tasks.rebuild_borrower_groups",
        {"minute": "30", "hour": "1"},
        "Recompute every company's borrower group from shared related parties.",
    ),
}


def create_schedules(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, schedule, description) in JOBS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        fields = {}
        if isinstance(schedule, tuple):
            _, every, period = schedule
            fields["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=every, period=period
            )
        else:
            fields["crontab"], _ = CrontabSchedule.objects.get_or_create(
                day_of_week="*", day_of_month="*", month_of_year="*", timezone=SHANGHAI, **schedule
            )
        PeriodicTask.objects.create(
            name=name,
            task=task,
            args=json.dumps([]),
            kwargs=json.dumps({}),
            enabled=True,
            description=description,
            **fields,
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(JOBS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_job_status"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
