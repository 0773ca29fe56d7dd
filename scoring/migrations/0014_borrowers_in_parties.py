"""Credit snapshots' companies and persons are the parties app's now (loans.parties, its 0001):
the foreign keys change in Django's state only; the tables and constraints stay."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('parties', '0001_initial'),
        ('scoring', '0013_monthly_summary_admin'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='companycreditsnapshot',
                name='company',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='credit_snapshots', to='parties.company'),
            ),
            migrations.AlterField(
                model_name='personcreditsnapshot',
                name='person',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='credit_snapshots', to='parties.person'),
            ),

        ]),
    ]
