"""The nightly ledger verification (a system alert when it fails) and the nightly run's lease.

* EarlyWarning: subject kind "system" and a ``detail`` in words, for system-level alerts;
* ScoringChunk: when its latest attempt began (``worker`` already says who took it);
* the periodic task "ledger verification" at 04:00 Asia/Shanghai (after the 02:00 run), created
  when absent and never overwriting an edited one, like the nightly schedule in 0002.
"""

import json

from django.db import migrations, models

TASK_NAME = "ledger verification"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="4", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task="monitoring.tasks.verify_ledger",
        crontab=crontab,
        args=json.dumps([]),
        kwargs=json.dumps({}),
        enabled=True,
        description="Verify the ledger's keyed chain against its signed anchor, move the anchor to the "
        "verified head, raise the system alert ledger_verification_failed when either fails.",
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0002_nightly_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="earlywarning",
            name="subject_kind",
            field=models.CharField(
                choices=[("person", "Person 个人"), ("company", "Company 企业"), ("system", "System 系统")], max_length=8
            ),
        ),
        migrations.AddField(
            model_name="earlywarning",
            name="detail",
            field=models.TextField(blank=True, db_default="", help_text="what the rule found, in words (system alerts)"),
        ),
        migrations.AddField(
            model_name="scoringchunk",
            name="started_at",
            field=models.DateTimeField(blank=True, help_text="when the latest attempt began", null=True),
        ),
        migrations.AlterField(
            model_name="scoringchunk",
            name="worker",
            field=models.CharField(blank=True, help_text="host:pid that took the latest attempt", max_length=100),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
