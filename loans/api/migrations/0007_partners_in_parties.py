"""Partners are the parties app's now (loans.parties, its 0001): the partner API's foreign keys
change in Django's state only; the tables and constraints stay."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('parties', '0001_initial'),
        ('partner_api', '0006_webhook_event_action_withdrawn'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name='historicalwebhookendpoint',
                name='partner',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='parties.partner'),
            ),
            migrations.AlterField(
                model_name='idempotencyrecord',
                name='partner',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='parties.partner'),
            ),
            migrations.AlterField(
                model_name='partnerapikey',
                name='partner',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='parties.partner'),
            ),
            migrations.AlterField(
                model_name='webhookendpoint',
                name='partner',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to='parties.partner'),
            ),

        ]),
    ]
