"""The borrower files join the parties app, in Django's state only: their tables exist already
(created by the loans app's migrations, kept under their names by ``Meta.db_table`` and
``History(table_name=...)``), so nothing is created in the database.  loans 0020 removes them from
the loans app's state; 0002 here renames their content types so permissions, roles, admin log
entries and history keep pointing at the same rows."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('loans', '0019_name_search_trigram_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='Partner',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('name', models.CharField(max_length=200, unique=True)),
                    ('is_active', models.BooleanField(default=True)),
                ],
                options={
                    'db_table': 'loans_partner',
                    'ordering': ['name'],
                },
            ),
            migrations.CreateModel(
                name='HistoricalPartner',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('created_at', models.DateTimeField(blank=True, editable=False)),
                    ('updated_at', models.DateTimeField(blank=True, editable=False)),
                    ('name', models.CharField(db_index=True, max_length=200)),
                    ('is_active', models.BooleanField(default=True)),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.CharField(max_length=100, null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'historical partner',
                    'verbose_name_plural': 'historical partners',
                    'db_table': 'loans_historicalpartner',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='HistoricalPerson',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('created_at', models.DateTimeField(blank=True, editable=False)),
                    ('updated_at', models.DateTimeField(blank=True, editable=False)),
                    ('name', models.CharField(max_length=100)),
                    ('resident_id_hash', models.CharField(editable=False, max_length=64)),
                    ('resident_id_masked', models.CharField(editable=False, max_length=18, verbose_name='resident ID')),
                    ('phone_masked', models.CharField(blank=True, default='', editable=False, max_length=11, verbose_name='phone')),
                    ('birth_year', models.PositiveSmallIntegerField(editable=False)),
                    ('is_blocklisted', models.BooleanField(default=False)),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.CharField(max_length=100, null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('partner', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='parties.partner')),
                ],
                options={
                    'verbose_name': 'historical person',
                    'verbose_name_plural': 'historical persons',
                    'db_table': 'loans_historicalperson',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='HistoricalCompany',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('created_at', models.DateTimeField(blank=True, editable=False)),
                    ('updated_at', models.DateTimeField(blank=True, editable=False)),
                    ('legal_name', models.CharField(max_length=200)),
                    ('uscc', models.CharField(max_length=18, verbose_name='USCC')),
                    ('industry', models.CharField(choices=[('A', 'A Agriculture, forestry, animal husbandry, fishery'), ('B', 'B Mining'), ('C', 'C Manufacturing'), ('D', 'D Utilities'), ('E', 'E Construction'), ('F', 'F Wholesale and retail'), ('G', 'G Transport, storage and post'), ('H', 'H Accommodation and catering'), ('I', 'I Information technology'), ('J', 'J Finance'), ('K', 'K Real estate'), ('L', 'L Leasing and business services'), ('M', 'M Research and technical services'), ('N', 'N Water, environment and public facilities'), ('O', 'O Resident and repair services'), ('P', 'P Education'), ('Q', 'Q Health and social work'), ('R', 'R Culture, sports and entertainment'), ('S', 'S Public administration'), ('T', 'T International organisations')], max_length=1)),
                    ('province', models.CharField(choices=[('11', 'Beijing'), ('12', 'Tianjin'), ('13', 'Hebei'), ('14', 'Shanxi'), ('15', 'Inner Mongolia'), ('21', 'Liaoning'), ('22', 'Jilin'), ('23', 'Heilongjiang'), ('31', 'Shanghai'), ('32', 'Jiangsu'), ('33', 'Zhejiang'), ('34', 'Anhui'), ('35', 'Fujian'), ('36', 'Jiangxi'), ('37', 'Shandong'), ('41', 'Henan'), ('42', 'Hubei'), ('43', 'Hunan'), ('44', 'Guangdong'), ('45', 'Guangxi'), ('46', 'Hainan'), ('50', 'Chongqing'), ('51', 'Sichuan'), ('52', 'Guizhou'), ('53', 'Yunnan'), ('54', 'Tibet'), ('61', 'Shaanxi'), ('62', 'Gansu'), ('63', 'Qinghai'), ('64', 'Ningxia'), ('65', 'Xinjiang')], max_length=2)),
                    ('founded_on', models.DateField()),
                    ('registered_capital', models.DecimalField(decimal_places=2, max_digits=18)),
                    ('employees', models.PositiveIntegerField()),
                    ('annual_revenue', models.DecimalField(decimal_places=2, max_digits=18)),
                    ('status', models.CharField(choices=[('active', 'Active'), ('suspended', 'Suspended'), ('deregistered', 'Deregistered')], default='active', max_length=16)),
                    ('is_blocklisted', models.BooleanField(default=False)),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.CharField(max_length=100, null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('partner', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='parties.partner')),
                ],
                options={
                    'verbose_name': 'historical company',
                    'verbose_name_plural': 'historical companies',
                    'db_table': 'loans_historicalcompany',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='Company',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('legal_name', models.CharField(max_length=200)),
                    ('uscc', models.CharField(max_length=18, verbose_name='USCC')),
                    ('industry', models.CharField(choices=[('A', 'A Agriculture, forestry, animal husbandry, fishery'), ('B', 'B Mining'), ('C', 'C Manufacturing'), ('D', 'D Utilities'), ('E', 'E Construction'), ('F', 'F Wholesale and retail'), ('G', 'G Transport, storage and post'), ('H', 'H Accommodation and catering'), ('I', 'I Information technology'), ('J', 'J Finance'), ('K', 'K Real estate'), ('L', 'L Leasing and business services'), ('M', 'M Research and technical services'), ('N', 'N Water, environment and public facilities'), ('O', 'O Resident and repair services'), ('P', 'P Education'), ('Q', 'Q Health and social work'), ('R', 'R Culture, sports and entertainment'), ('S', 'S Public administration'), ('T', 'T International organisations')], max_length=1)),
                    ('province', models.CharField(choices=[('11', 'Beijing'), ('12', 'Tianjin'), ('13', 'Hebei'), ('14', 'Shanxi'), ('15', 'Inner Mongolia'), ('21', 'Liaoning'), ('22', 'Jilin'), ('23', 'Heilongjiang'), ('31', 'Shanghai'), ('32', 'Jiangsu'), ('33', 'Zhejiang'), ('34', 'Anhui'), ('35', 'Fujian'), ('36', 'Jiangxi'), ('37', 'Shandong'), ('41', 'Henan'), ('42', 'Hubei'), ('43', 'Hunan'), ('44', 'Guangdong'), ('45', 'Guangxi'), ('46', 'Hainan'), ('50', 'Chongqing'), ('51', 'Sichuan'), ('52', 'Guizhou'), ('53', 'Yunnan'), ('54', 'Tibet'), ('61', 'Shaanxi'), ('62', 'Gansu'), ('63', 'Qinghai'), ('64', 'Ningxia'), ('65', 'Xinjiang')], max_length=2)),
                    ('founded_on', models.DateField()),
                    ('registered_capital', models.DecimalField(decimal_places=2, max_digits=18)),
                    ('employees', models.PositiveIntegerField()),
                    ('annual_revenue', models.DecimalField(decimal_places=2, max_digits=18)),
                    ('status', models.CharField(choices=[('active', 'Active'), ('suspended', 'Suspended'), ('deregistered', 'Deregistered')], default='active', max_length=16)),
                    ('is_blocklisted', models.BooleanField(default=False)),
                    ('partner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='companies', to='parties.partner')),
                ],
                options={
                    'verbose_name_plural': 'companies',
                    'db_table': 'loans_company',
                    'ordering': ['id'],
                },
            ),
            migrations.CreateModel(
                name='Person',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('name', models.CharField(max_length=100)),
                    ('resident_id_hash', models.CharField(editable=False, max_length=64)),
                    ('resident_id_encrypted', models.TextField(editable=False)),
                    ('resident_id_masked', models.CharField(editable=False, max_length=18, verbose_name='resident ID')),
                    ('phone_encrypted', models.TextField(blank=True, default='', editable=False)),
                    ('phone_masked', models.CharField(blank=True, default='', editable=False, max_length=11, verbose_name='phone')),
                    ('birth_year', models.PositiveSmallIntegerField(editable=False)),
                    ('is_blocklisted', models.BooleanField(default=False)),
                    ('partner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='persons', to='parties.partner')),
                ],
                options={
                    'db_table': 'loans_person',
                    'ordering': ['id'],
                    'permissions': [('reveal_personal_data', 'Can reveal a full resident ID or phone number, with a reason')],
                },
            ),
            migrations.CreateModel(
                name='HistoricalRelatedParty',
                fields=[
                    ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                    ('created_at', models.DateTimeField(blank=True, editable=False)),
                    ('updated_at', models.DateTimeField(blank=True, editable=False)),
                    ('role', models.CharField(choices=[('legal_representative', 'Legal representative'), ('actual_controller', 'Actual controller'), ('shareholder', 'Shareholder'), ('director', 'Director'), ('guarantor', 'Guarantor')], max_length=32)),
                    ('ownership_pct', models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True)),
                    ('valid_from', models.DateField()),
                    ('valid_to', models.DateField(blank=True, null=True)),
                    ('history_id', models.AutoField(primary_key=True, serialize=False)),
                    ('history_date', models.DateTimeField(db_index=True)),
                    ('history_change_reason', models.CharField(max_length=100, null=True)),
                    ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                    ('company', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='parties.company')),
                    ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('person', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='parties.person')),
                ],
                options={
                    'verbose_name': 'historical related party',
                    'verbose_name_plural': 'historical related parties',
                    'db_table': 'loans_historicalrelatedparty',
                    'ordering': ('-history_date', '-history_id'),
                    'get_latest_by': ('history_date', 'history_id'),
                },
                bases=(simple_history.models.HistoricalChanges, models.Model),
            ),
            migrations.CreateModel(
                name='RelatedParty',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('role', models.CharField(choices=[('legal_representative', 'Legal representative'), ('actual_controller', 'Actual controller'), ('shareholder', 'Shareholder'), ('director', 'Director'), ('guarantor', 'Guarantor')], max_length=32)),
                    ('ownership_pct', models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True)),
                    ('valid_from', models.DateField()),
                    ('valid_to', models.DateField(blank=True, null=True)),
                    ('company', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='related_parties', to='parties.company')),
                    ('person', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='roles', to='parties.person')),
                ],
                options={
                    'verbose_name_plural': 'related parties',
                    'db_table': 'loans_relatedparty',
                    'ordering': ['company_id', 'role', 'id'],
                },
            ),
            migrations.AddIndex(
                model_name='company',
                index=models.Index(fields=['partner', 'id'], name='company_partner_idx'),
            ),
            migrations.AddIndex(
                model_name='company',
                index=models.Index(fields=['status'], name='company_status_idx'),
            ),
            migrations.AddIndex(
                model_name='company',
                index=models.Index(fields=['legal_name'], name='company_name_idx'),
            ),
            migrations.AddConstraint(
                model_name='company',
                constraint=models.CheckConstraint(condition=models.Q(('registered_capital__gte', 0)), name='company_capital_non_negative'),
            ),
            migrations.AddConstraint(
                model_name='company',
                constraint=models.CheckConstraint(condition=models.Q(('annual_revenue__gte', 0)), name='company_revenue_non_negative'),
            ),
            migrations.AddConstraint(
                model_name='company',
                constraint=models.CheckConstraint(condition=models.Q(('status__in', ['active', 'suspended', 'deregistered'])), name='company_status_valid'),
            ),
            migrations.AddConstraint(
                model_name='company',
                constraint=models.CheckConstraint(condition=models.Q(('industry__in', ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T'])), name='company_industry_valid'),
            ),
            migrations.AddConstraint(
                model_name='company',
                constraint=models.CheckConstraint(condition=models.Q(('uscc__regex', '^[0-9A-HJ-NP-RTUW-Y]{18}$')), name='company_uscc_format'),
            ),
            migrations.AddConstraint(
                model_name='company',
                constraint=models.UniqueConstraint(fields=('uscc', 'partner'), name='company_uscc_unique_per_partner', violation_error_message='This partner already has a company with this USCC.'),
            ),
            migrations.AddConstraint(
                model_name='company',
                constraint=models.UniqueConstraint(condition=models.Q(('partner__isnull', True)), fields=('uscc',), name='company_uscc_unique_lender', violation_error_message='The lender already has its own company with this USCC.'),
            ),
            migrations.AddIndex(
                model_name='person',
                index=models.Index(fields=['name'], name='person_name_idx'),
            ),
            migrations.AddConstraint(
                model_name='person',
                constraint=models.CheckConstraint(condition=models.Q(('resident_id_masked__regex', '^[0-9]{2}\\*{12}[0-9]{3}[0-9X]$')), name='person_id_masked_format'),
            ),
            migrations.AddConstraint(
                model_name='person',
                constraint=models.CheckConstraint(condition=models.Q(('birth_year__gte', 1900), ('birth_year__lte', 2200)), name='person_birth_year_range'),
            ),
            migrations.AddConstraint(
                model_name='person',
                constraint=models.UniqueConstraint(fields=('resident_id_hash', 'partner'), name='person_id_unique_per_partner', violation_error_message='This partner already has a person with this resident ID.'),
            ),
            migrations.AddConstraint(
                model_name='person',
                constraint=models.UniqueConstraint(condition=models.Q(('partner__isnull', True)), fields=('resident_id_hash',), name='person_id_unique_lender', violation_error_message='The lender already has its own person with this resident ID.'),
            ),
            migrations.AddIndex(
                model_name='relatedparty',
                index=models.Index(fields=['person', 'role'], name='relparty_person_role_idx'),
            ),
            migrations.AddIndex(
                model_name='relatedparty',
                index=models.Index(fields=['company', 'role'], name='relparty_company_role_idx'),
            ),
            migrations.AddConstraint(
                model_name='relatedparty',
                constraint=models.CheckConstraint(condition=models.Q(('role__in', ['legal_representative', 'actual_controller', 'shareholder', 'director', 'guarantor'])), name='relparty_role_valid'),
            ),
            migrations.AddConstraint(
                model_name='relatedparty',
                constraint=models.CheckConstraint(condition=models.Q(('ownership_pct__isnull', True), models.Q(('ownership_pct__gt', 0), ('ownership_pct__lte', 100)), _connector='OR'), name='relparty_ownership_range'),
            ),
            migrations.AddConstraint(
                model_name='relatedparty',
                constraint=models.CheckConstraint(condition=models.Q(models.Q(('role', 'shareholder'), _negated=True), ('ownership_pct__isnull', False), _connector='OR'), name='relparty_shareholder_has_ownership'),
            ),
            migrations.AddConstraint(
                model_name='relatedparty',
                constraint=models.CheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), name='relparty_validity_ordered'),
            ),
            migrations.AddConstraint(
                model_name='relatedparty',
                constraint=models.UniqueConstraint(condition=models.Q(('valid_to__isnull', True)), fields=('company', 'person', 'role'), name='relparty_one_current_role'),
            ),

        ]),
    ]
