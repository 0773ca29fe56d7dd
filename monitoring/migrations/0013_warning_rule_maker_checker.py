"""Maker-checker for warning rules (issue 13 item 6): a person's change is a *proposed* version,
approved (published, active) or rejected by another person; the maker is recorded on the row.

Versions published before this were one-step publications: their maker is the person recorded
as ``created_by`` (``user:<id>``) or else the system (``system:migration``).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def record_makers(apps, schema_editor):
    WarningRule = apps.get_model("monitoring", "WarningRule")
    for rule in WarningRule.objects.filter(created_by__isnull=False).only("pk", "created_by_id"):
        WarningRule.objects.filter(pk=rule.pk).update(maker=f"user:{rule.created_by_id}")


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0012_choice_labels_translatable'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalwarningrule',
            name='approved_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='approved at'),
        ),
        migrations.AddField(
            model_name='historicalwarningrule',
            name='approved_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='approved by'),
        ),
        migrations.AddField(
            model_name='historicalwarningrule',
            name='based_on_version',
            field=models.PositiveIntegerField(blank=True, help_text='the active version when this one was proposed; approving is refused once another version was published', null=True, verbose_name='based on version'),
        ),
        migrations.AddField(
            model_name='historicalwarningrule',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='decided at'),
        ),
        migrations.AddField(
            model_name='historicalwarningrule',
            name='decision_note',
            field=models.CharField(blank=True, default='', max_length=500, verbose_name='decision note'),
        ),
        migrations.AddField(
            model_name='historicalwarningrule',
            name='maker',
            field=models.CharField(default='system:migration', help_text='who proposed this version: user:<id> or system:<what>', max_length=64, verbose_name='maker'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='historicalwarningrule',
            name='rejected_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='rejected by'),
        ),
        migrations.AddField(
            model_name='historicalwarningrule',
            name='status',
            field=models.CharField(choices=[('proposed', 'Proposed'), ('published', 'Published'), ('rejected', 'Rejected')], default='published', max_length=12, verbose_name='status'),
        ),
        migrations.AddField(
            model_name='warningrule',
            name='approved_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='approved at'),
        ),
        migrations.AddField(
            model_name='warningrule',
            name='approved_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='approved by'),
        ),
        migrations.AddField(
            model_name='warningrule',
            name='based_on_version',
            field=models.PositiveIntegerField(blank=True, help_text='the active version when this one was proposed; approving is refused once another version was published', null=True, verbose_name='based on version'),
        ),
        migrations.AddField(
            model_name='warningrule',
            name='decided_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='decided at'),
        ),
        migrations.AddField(
            model_name='warningrule',
            name='decision_note',
            field=models.CharField(blank=True, default='', max_length=500, verbose_name='decision note'),
        ),
        migrations.AddField(
            model_name='warningrule',
            name='maker',
            field=models.CharField(default='system:migration', help_text='who proposed this version: user:<id> or system:<what>', max_length=64, verbose_name='maker'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='warningrule',
            name='rejected_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='rejected by'),
        ),
        migrations.AddField(
            model_name='warningrule',
            name='status',
            field=models.CharField(choices=[('proposed', 'Proposed'), ('published', 'Published'), ('rejected', 'Rejected')], default='published', max_length=12, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='historicalwarningrule',
            name='created_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='proposed by'),
        ),
        migrations.AlterField(
            model_name='warningrule',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='proposed by'),
        ),
        migrations.RunPython(record_makers, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='warningrule',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['proposed', 'published', 'rejected'])), name='warning_rule_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='warningrule',
            constraint=models.CheckConstraint(condition=models.Q(('maker', ''), _negated=True), name='warning_rule_maker_recorded'),
        ),
        migrations.AddConstraint(
            model_name='warningrule',
            constraint=models.CheckConstraint(condition=models.Q(('is_active', False), ('status', 'published'), _connector='OR'), name='warning_rule_active_is_published'),
        ),
        migrations.AddConstraint(
            model_name='warningrule',
            constraint=models.CheckConstraint(condition=models.Q(('approved_by__isnull', True), ('created_by__isnull', True), models.Q(('approved_by', models.F('created_by')), _negated=True), _connector='OR'), name='warning_rule_approver_not_proposer'),
        ),
    ]
