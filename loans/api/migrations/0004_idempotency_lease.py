"""An idempotency key in progress is a lease: a retry takes it over once the holder's lease lapsed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("partner_api", "0003_webhook_delivery_failure_class")]

    operations = [
        migrations.AddField(
            model_name="idempotencyrecord",
            name="attempt",
            field=models.PositiveIntegerField(default=1, help_text="which request holds (or completed) the key"),
        ),
        migrations.AddField(
            model_name="idempotencyrecord",
            name="lease_until",
            field=models.DateTimeField(blank=True, help_text="the holder's claim lapses then", null=True),
        ),
    ]
