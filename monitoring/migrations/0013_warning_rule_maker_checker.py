"""Maker-checker for warning rules (issue 13 item 6): a person's change is a *proposed* version,
approved (published, active) or rejected by another person; the maker is recorded on the row.

The action policy's rows are changed the same way: a person's change is an
``ActionPolicyChange`` applied only when another person approves it.

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
        migrations.CreateModel(
            name='ActionPolicyChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rule', models.CharField(max_length=32, verbose_name='rule')),
                ('severity', models.CharField(choices=[('info', 'Info (watch list)'), ('low', 'Low'), ('medium', 'Medium'), ('high', 'High')], max_length=8, verbose_name='severity')),
                ('action_kind', models.CharField(choices=[('reduce_limit', 'Reduce limit'), ('increase_limit', 'Increase limit'), ('freeze_line', 'Freeze line'), ('unfreeze_line', 'Unfreeze line'), ('require_collateral', 'Require collateral'), ('add_guarantee', 'Add guarantee'), ('restructure', 'Restructure'), ('recall', 'Recall'), ('write_off', 'Write off')], max_length=20, verbose_name='action')),
                ('params', models.JSONField(blank=True, default=dict, verbose_name='terms')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('note', models.CharField(blank=True, default='', max_length=500, verbose_name='note')),
                ('based_on_updated_at', models.DateTimeField(blank=True, null=True, verbose_name='row as of')),
                ('status', models.CharField(choices=[('proposed', 'Proposed'), ('applied', 'Applied'), ('rejected', 'Rejected')], default='proposed', max_length=12, verbose_name='status')),
                ('maker', models.CharField(help_text='who proposed the change: user:<id>', max_length=64, verbose_name='maker')),
                ('proposed_at', models.DateTimeField(auto_now_add=True, verbose_name='proposed at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('decision_note', models.CharField(blank=True, default='', max_length=500, verbose_name='decision note')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('policy', models.ForeignKey(blank=True, help_text='empty: the change adds a row', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='changes', to='monitoring.actionpolicy', verbose_name='policy row')),
                ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='proposed by')),
            ],
            options={
                'verbose_name': 'action policy change',
                'verbose_name_plural': 'action policy changes',
                'ordering': ['-proposed_at', '-pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['proposed', 'applied', 'rejected'])), name='action_policy_change_status_valid'), models.CheckConstraint(condition=models.Q(('maker', ''), _negated=True), name='action_policy_change_maker_recorded'), models.CheckConstraint(condition=models.Q(('severity__in', ['info', 'low', 'medium', 'high'])), name='action_policy_change_severity_valid'), models.CheckConstraint(condition=models.Q(('action_kind__in', ['reduce_limit', 'increase_limit', 'freeze_line', 'unfreeze_line', 'require_collateral', 'add_guarantee', 'restructure', 'recall', 'write_off'])), name='action_policy_change_kind_valid'), models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), ('proposed_by__isnull', True), models.Q(('decided_by', models.F('proposed_by')), _negated=True), ('status', 'rejected'), _connector='OR'), name='action_policy_change_approver_not_proposer'), models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('status', 'proposed')), models.Q(models.Q(('status', 'proposed'), _negated=True), ('decided_at__isnull', False)), _connector='OR'), name='action_policy_change_decided_has_date')],
            },
        ),
    ]
