"""Loan.m3_plus_since: the day a loan first went more than 90 days past due, kept after it
cures (vintage curves count cured loans).  Loans past 90 days now get it from their DPD at
their last servicing (one UPDATE on PostgreSQL); a loan that cured before this migration is
not known and stays empty."""

import datetime

from django.db import migrations, models


def backfill(apps, schema_editor):
    Loan = apps.get_model("loans", "Loan")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"UPDATE {Loan._meta.db_table} SET m3_plus_since = GREATEST("
            "COALESCE(serviced_on, CURRENT_DATE) - (days_past_due - 91), disbursed_on + 1) WHERE days_past_due > 90"
        )
        return
    rows = Loan.objects.filter(days_past_due__gt=90).values_list("id", "serviced_on", "days_past_due", "disbursed_on")
    for pk, serviced_on, dpd, disbursed_on in rows:
        since = (serviced_on or datetime.date.today()) - datetime.timedelta(days=dpd - 91)
        Loan.objects.filter(pk=pk).update(m3_plus_since=max(since, disbursed_on + datetime.timedelta(days=1)))


class Migration(migrations.Migration):

    dependencies = [
        ('loans', '0016_credit_policy_maker_checker_and_committee_rules'),
    ]

    operations = [
        migrations.AddField(
            model_name='loan',
            name='m3_plus_since',
            field=models.DateField(blank=True, help_text='the day the loan first went more than 90 days past due (kept after it cures)', null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='loan',
            constraint=models.CheckConstraint(condition=models.Q(('m3_plus_since__isnull', True), ('m3_plus_since__gt', models.F('disbursed_on')), _connector='OR'), name='loan_m3_plus_after_disbursal'),
        ),
    ]
