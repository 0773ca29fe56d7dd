"""Partners, companies, persons and related parties (and their history) now belong to the
parties app (loans.parties, its 0001): here they leave the loans app's state and loans' foreign
keys point at parties.  State only: the tables and the foreign-key constraints stay as they are.

Runs after the other apps have re-pointed their own foreign keys (scoring, monitoring, the partner
API), so that no state ever names a loans model that is gone."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0014_borrowers_in_parties'),
        ('monitoring', '0015_borrowers_in_parties'),
        ('partner_api', '0007_partners_in_parties'),
        ('loans', '0019_name_search_trigram_indexes'),
        ('parties', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.RemoveField(
                model_name='relatedparty',
                name='company',
            ),
            migrations.AlterField(
                model_name='guarantee',
                name='guarantor_company',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='guarantees_given', to='parties.company'),
            ),
            migrations.RemoveField(
                model_name='historicalrelatedparty',
                name='company',
            ),
            migrations.AlterField(
                model_name='borrowergroupmember',
                name='company',
                field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='group_member', serialize=False, to='parties.company'),
            ),
            migrations.AlterField(
                model_name='creditline',
                name='company',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_lines', to='parties.company'),
            ),
            migrations.AlterField(
                model_name='historicalcreditline',
                name='company',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='parties.company'),
            ),
            migrations.AlterField(
                model_name='loan',
                name='company',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='loans', to='parties.company'),
            ),
            migrations.AlterField(
                model_name='loanapplication',
                name='company',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='parties.company'),
            ),
            migrations.AlterField(
                model_name='collateral',
                name='owner',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='collateral', to='parties.company'),
            ),
            migrations.RemoveField(
                model_name='historicalcompany',
                name='history_user',
            ),
            migrations.RemoveField(
                model_name='historicalcompany',
                name='partner',
            ),
            migrations.RemoveField(
                model_name='historicalpartner',
                name='history_user',
            ),
            migrations.RemoveField(
                model_name='historicalperson',
                name='history_user',
            ),
            migrations.RemoveField(
                model_name='historicalperson',
                name='partner',
            ),
            migrations.RemoveField(
                model_name='historicalrelatedparty',
                name='history_user',
            ),
            migrations.RemoveField(
                model_name='historicalrelatedparty',
                name='person',
            ),
            migrations.AlterField(
                model_name='historicalcreditline',
                name='partner',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='parties.partner'),
            ),
            migrations.RemoveField(
                model_name='person',
                name='partner',
            ),
            migrations.AlterField(
                model_name='loanapplication',
                name='partner',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='parties.partner'),
            ),
            migrations.AlterField(
                model_name='creditcheckconsent',
                name='partner',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='parties.partner'),
            ),
            migrations.AlterField(
                model_name='creditline',
                name='partner',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_lines', to='parties.partner'),
            ),
            migrations.AlterField(
                model_name='loan',
                name='partner',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='loans', to='parties.partner'),
            ),
            migrations.AlterField(
                model_name='persondatarequest',
                name='person',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='data_requests', to='parties.person'),
            ),
            migrations.AlterField(
                model_name='guarantee',
                name='guarantor_person',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='guarantees', to='parties.person'),
            ),
            migrations.AlterField(
                model_name='creditcheckconsent',
                name='person',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_check_consents', to='parties.person'),
            ),
            migrations.AlterField(
                model_name='personaldatareveal',
                name='person',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reveals', to='parties.person'),
            ),
            migrations.RemoveField(
                model_name='relatedparty',
                name='person',
            ),
            migrations.DeleteModel(
                name='Company',
            ),
            migrations.DeleteModel(
                name='HistoricalCompany',
            ),
            migrations.DeleteModel(
                name='HistoricalPartner',
            ),
            migrations.DeleteModel(
                name='HistoricalPerson',
            ),
            migrations.DeleteModel(
                name='HistoricalRelatedParty',
            ),
            migrations.DeleteModel(
                name='Partner',
            ),
            migrations.DeleteModel(
                name='Person',
            ),
            migrations.DeleteModel(
                name='RelatedParty',
            ),

        ]),
    ]
