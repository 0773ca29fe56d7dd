# SyntheticTruth, the demo's hidden risk, leaves the loans app (and the production schema) for
# the demo app (config/demo, not installed in production).  Where the demo is installed, its
# migration demo 0001 runs first (run_before) and copies the rows across.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('loans', '0014_credit_policy_history_lgd'),
    ]

    operations = [
        migrations.DeleteModel(
            name='SyntheticTruth',
        ),
    ]
