"""The score history's periodic jobs in django-celery-beat (created when absent, never
overwritten; edited in the admin afterwards, where each shows its last result):

* "score partitions ahead" — daily at 03:30 Asia/Shanghai, after the nightly run (02:00): this
  month's partition and SCORE_PARTITIONS_AHEAD months after it;
* "score history retention" — daily at 04:30: months past SCORE_HISTORY_RETENTION_MONTHS
  summarised, then detached (a no-op on most days).
"""

import json

from django.db import migrations

SHANGHAI = "Asia/Shanghai"

JOBS = {
    "score partitions ahead": (
        "scoring.tasks.score_partitions_ahead",
        {"minute": "30", "hour": "3"},
        "Create the score history's monthly partitions for this month and SCORE_PARTITIONS_AHEAD months ahead.",
    ),
    "score history retention": (
        "scoring.tasks.score_history_retention",
        {"minute": "30", "hour": "4"},
        "Summarise score months older than SCORE_HISTORY_RETENTION_MONTHS per subject and model, then detach "
        "their partitions (manage.py score_retention --dry-run shows what it would do).",
    ),
}


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, schedule, description) in JOBS.items():
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            day_of_week="*", day_of_month="*", month_of_year="*", timezone=SHANGHAI, **schedule
        )
        PeriodicTask.objects.create(
            name=name, task=task, crontab=crontab, args=json.dumps([]), kwargs=json.dumps({}), enabled=True,
            description=description,
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(JOBS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0008_score_partitioned_by_month"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
