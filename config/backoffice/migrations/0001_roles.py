"""The roles of the back office as auth groups (declared in ``config/backoffice/roles.py``).

The same sync runs after every migrate (``BackofficeConfig.ready``), so a permission that
another migration adds later reaches its role without a new migration here."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from config.backoffice.roles import create_all_permissions, roles_sync

    create_all_permissions()
    roles_sync(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("loans", "0012_committee_and_roles"),
        ("monitoring", "0008_committee_and_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
