"""Alerts' and post-loan actions' companies are the parties app's now (loans.parties, its 0001):
the foreign keys change in Django's state only; the tables and constraints stay."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0014_action_withdrawn_when_warning_cleared'),
        ('parties', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='alert',
                name='company',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='alerts', to='parties.company'),
            ),
            migrations.AlterField(
                model_name='postloanaction',
                name='company',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='post_loan_actions', to='parties.company'),
            ),

        ]),
    ]
