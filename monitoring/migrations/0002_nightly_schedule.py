"""The default nightly schedule: 02:00 Asia/Shanghai, task monitoring.tasks.nightly_run.
Schedules live in the database (django-celery-beat) and are edited in the admin afterwards;
this migration only creates them when absent and never overwrites an edited one."""

import json

from django.db import migrations

TASK_NAME = "nightly rescoring"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task="monitoring.tasks.nightly_run",
        crontab=crontab,
        args=json.dumps([]),
        kwargs=json.dumps({}),
        enabled=True,
        description="Rescore every person and company for yesterday (Asia/Shanghai), evaluate the "
        "early-warning rules, service the loan book.",
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
