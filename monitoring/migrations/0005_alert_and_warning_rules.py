"""Early warnings become alerts with a lifecycle, and warning rules become versioned data.

* ``EarlyWarning`` is renamed ``Alert``: ``as_of`` becomes ``first_seen_on``, with
  ``last_seen_on``, ``evidence``, the company at stake, the rule version, an assigned officer and
  who acknowledged / closed it, when and why.  At most one open (or acknowledged) alert per
  subject and rule (``alert_one_open_per_subject_rule``): older open duplicates of the same
  subject and rule are folded into the latest one (resolved, naming it).
* status "closed" becomes "resolved"; severity gains "info" (the watch list).
* the alert table keeps room on its pages (fillfactor 70, PostgreSQL) for the nightly refresh;
* ``WarningRule``: versioned settings of each rule, the defaults published as version 1.
"""

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q

LIVE = ("open", "acknowledged")

# The defaults of monitoring.rules.DEFAULT_RULES at the time of this migration (copied: a
# migration must not change when the code does).
DEFAULT_RULES = {
    "score_drop": ("medium", {"points": 50, "days": 1, "high_points": 100}),
    "tier_downgrade": ("medium", {"steps": 1}),
    "below_minimum": ("high", {"min_score": None}),
    "related_party_deterioration": ("high", {"points": 50, "min_ownership_pct": 25}),
    "dpd_over": ("medium", {"days": 30, "high_days": 90}),
    "default_contagion": ("high", {"min_ownership_pct": 25}),
    "line_expiry": ("low", {"days": 30}),
    "company_red_flags": ("medium", {"new_lawsuits": 1, "new_penalties": 1, "revenue_drop_pct": 30, "overdue_payables_ratio": 0.5}),
    "guarantor_deterioration": ("medium", {"points": 50}),
    "collateral_coverage": ("high", {"min_ratio": 1.0}),
}


def fold_alerts(apps, schema_editor):
    Alert = apps.get_model("monitoring", "Alert")
    Alert.objects.update(last_seen_on=models.F("first_seen_on"))
    Alert.objects.filter(status="closed").update(
        status="resolved", closed_at=models.F("created_at"), close_reason="closed before alerts had a lifecycle"
    )
    latest = {}
    for alert in Alert.objects.filter(status__in=LIVE).order_by("subject_kind", "subject_id", "rule", "-first_seen_on", "-id"):
        key = (alert.subject_kind, alert.subject_id, alert.rule)
        keep = latest.get(key)
        if keep is None:
            latest[key] = alert
            continue
        # an older open duplicate: the kept one inherits its first date, the duplicate is resolved
        Alert.objects.filter(pk=keep.pk, first_seen_on__gt=alert.first_seen_on).update(first_seen_on=alert.first_seen_on)
        Alert.objects.filter(pk=alert.pk).update(
            status="resolved", closed_at=alert.created_at, close_reason=f"folded into alert #{keep.pk}"
        )


def alert_fillfactor(apps, schema_editor):
    # Every night refreshes each persisting alert (last_seen_on, evidence): room on the page lets
    # PostgreSQL make those HOT updates (no index entries written) when the severity is unchanged.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE monitoring_alert SET (fillfactor = 70)")


def seed_rules(apps, schema_editor):
    WarningRule = apps.get_model("monitoring", "WarningRule")
    for code, (severity, params) in DEFAULT_RULES.items():
        if not WarningRule.objects.filter(code=code).exists():
            WarningRule.objects.create(
                code=code, version=1, is_active=True, enabled=True, severity=severity, params=params,
                effective_from=datetime.date(2000, 1, 1), note="default",
            )


class Migration(migrations.Migration):

    dependencies = [
        ("loans", "0008_ledger_keyed_chain"),
        ("monitoring", "0004_open_alerts_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="earlywarning", name="early_warning_unique_hit"),
        migrations.RemoveConstraint(model_name="earlywarning", name="early_warning_severity_valid"),
        migrations.RemoveConstraint(model_name="earlywarning", name="early_warning_status_valid"),
        migrations.RemoveIndex(model_name="earlywarning", name="early_warning_date_rule_idx"),
        migrations.RemoveIndex(model_name="earlywarning", name="early_warning_status_idx"),
        migrations.RenameModel(old_name="EarlyWarning", new_name="Alert"),
        migrations.RenameField(model_name="alert", old_name="as_of", new_name="first_seen_on"),
        migrations.AddField(
            model_name="alert", name="last_seen_on", field=models.DateField(default=datetime.date(2000, 1, 1)),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="alert", name="company",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING,
                                    related_name="alerts", to="loans.company"),
        ),
        migrations.AddField(
            model_name="alert", name="rule_version",
            field=models.PositiveIntegerField(blank=True, help_text="the WarningRule version that raised it", null=True),
        ),
        migrations.AddField(model_name="alert", name="evidence", field=models.JSONField(blank=True, db_default={}, default=dict)),
        migrations.AddField(
            model_name="alert", name="assigned_to",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name="alert", name="acknowledged_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(model_name="alert", name="acknowledged_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="alert", name="closed_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(model_name="alert", name="closed_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="alert", name="close_reason", field=models.CharField(blank=True, db_default="", default="", max_length=500)
        ),
        migrations.AlterField(
            model_name="alert", name="subject_kind",
            field=models.CharField(choices=[("person", "Person 个人"), ("company", "Company 企业"), ("line", "Credit line 授信"), ("loan", "Loan 贷款"), ("system", "System 系统")], max_length=8),
        ),
        migrations.AlterField(
            model_name="alert", name="severity",
            field=models.CharField(choices=[("info", "Info (watch list)"), ("low", "Low"), ("medium", "Medium"), ("high", "High")], max_length=8),
        ),
        migrations.AlterField(
            model_name="alert", name="status",
            field=models.CharField(choices=[("open", "Open"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved"), ("dismissed", "Dismissed")], default="open", max_length=12),
        ),
        migrations.RunPython(fold_alerts, migrations.RunPython.noop),
        migrations.AlterModelOptions(
            name="alert",
            options={
                "ordering": ["-last_seen_on", "subject_kind", "subject_id"],
                "permissions": [
                    ("acknowledge_alert", "Can acknowledge an alert"),
                    ("resolve_alert", "Can resolve an alert"),
                    ("dismiss_alert", "Can dismiss an alert"),
                    ("assign_alert", "Can assign an alert to an officer"),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.UniqueConstraint(condition=Q(status__in=LIVE), fields=("subject_kind", "subject_id", "rule"), name="alert_one_open_per_subject_rule"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(condition=Q(severity__in=["info", "low", "medium", "high"]), name="alert_severity_valid"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(condition=Q(status__in=["open", "acknowledged", "resolved", "dismissed"]), name="alert_status_valid"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(condition=Q(subject_kind__in=["person", "company", "line", "loan", "system"]), name="alert_subject_kind_valid"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(condition=Q(last_seen_on__gte=models.F("first_seen_on")), name="alert_seen_dates_ordered"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(condition=Q(status__in=LIVE) | (Q(closed_at__isnull=False) & ~Q(close_reason="")), name="alert_closed_has_reason"),
        ),
        migrations.AddIndex(model_name="alert", index=models.Index(fields=["rule", "status"], name="alert_rule_status_idx")),
        migrations.AddIndex(model_name="alert", index=models.Index(fields=["status", "severity"], name="alert_status_severity_idx")),
        migrations.AddIndex(model_name="alert", index=models.Index(fields=["company", "status"], name="alert_company_status_idx")),
        migrations.CreateModel(
            name="WarningRule",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=32)),
                ("version", models.PositiveIntegerField()),
                ("is_active", models.BooleanField(default=False)),
                ("enabled", models.BooleanField(default=True)),
                ("severity", models.CharField(choices=[("info", "Info (watch list)"), ("low", "Low"), ("medium", "Medium"), ("high", "High")], max_length=8)),
                ("params", models.JSONField(blank=True, default=dict)),
                ("effective_from", models.DateField(help_text="the first nightly run date this version applies to")),
                ("note", models.CharField(blank=True, default="", max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["code", "-version"],
                "permissions": [("publish_warning_rule", "Can publish a new version of a warning rule")],
                "constraints": [
                    models.UniqueConstraint(fields=("code", "version"), name="warning_rule_unique_version"),
                    models.UniqueConstraint(condition=Q(is_active=True), fields=("code",), name="warning_rule_one_active_per_code"),
                    models.CheckConstraint(condition=Q(version__gte=1), name="warning_rule_version_positive"),
                    models.CheckConstraint(condition=Q(severity__in=["info", "low", "medium", "high"]), name="warning_rule_severity_valid"),
                ],
            },
        ),
        migrations.RunPython(alert_fillfactor, migrations.RunPython.noop),
        migrations.RunPython(seed_rules, migrations.RunPython.noop),
    ]
