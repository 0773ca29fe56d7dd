# The demo's hidden risk per company and person, moved here from the loans app (loans 0015 drops
# loans_synthetictruth).  On a database seeded before the move the rows are copied across, so an
# existing demo keeps simulating days; a fresh database copies nothing.  The data is throwaway:
# seed_demo re-creates it.

from django.db import migrations, models

OLD_TABLE = 'loans_synthetictruth'


def copy_from_loans(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    new_table = apps.get_model('demo', 'SyntheticTruth')._meta.db_table
    quote = schema_editor.quote_name
    columns = ', '.join(quote(c) for c in ('subject_kind', 'subject_id', 'latent_risk'))
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO {quote(new_table)} ({columns}) SELECT {columns} FROM {quote(OLD_TABLE)}')


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('loans', '0001_initial'),  # where loans_synthetictruth was created
    ]
    run_before = [
        ('loans', '0015_synthetic_truth_leaves_loans'),  # which drops it
    ]

    operations = [
        migrations.CreateModel(
            name='SyntheticTruth',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('subject_kind', models.CharField(choices=[('company', 'Company'), ('person', 'Person')], max_length=8)),
                ('subject_id', models.BigIntegerField()),
                ('latent_risk', models.FloatField(help_text='Standard-normal latent risk; higher is riskier.')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('subject_kind', 'subject_id'), name='demo_synthetic_truth_unique_subject')],
            },
        ),
        migrations.RunPython(copy_from_loans, migrations.RunPython.noop),
    ]
