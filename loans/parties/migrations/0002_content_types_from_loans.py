"""The moved models' content types follow them: ``loans.company`` becomes ``parties.company``
(and so on, history models too), the same rows renamed.

A permission points at its content type by id, and so do the roles' (groups') and users'
permissions and the admin's log entries: renaming the row keeps every one of them, so
``loans.view_company`` granted yesterday is ``parties.view_company`` today, held by the same
groups and users.

A database may already hold a ``parties`` content type next to the ``loans`` one (a
``migrate`` that created the parties app's permissions before this migration ran, e.g. the
roles' migration on a fresh database).  Then the two are merged into the ``parties`` row: each
old permission's holders get the new permission of the same codename (or the old permission
itself moves), log entries move, and the emptied ``loans`` row goes.
"""

from django.db import migrations

MODELS = (
    "partner",
    "company",
    "person",
    "relatedparty",
    "historicalpartner",
    "historicalcompany",
    "historicalperson",
    "historicalrelatedparty",
)


def _move(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    LogEntry = apps.get_model("admin", "LogEntry")
    User = apps.get_model("auth", "User")
    for model in MODELS:
        old = ContentType.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(update_fields=["app_label"])
            continue
        for perm in Permission.objects.filter(content_type=old):
            twin = Permission.objects.filter(content_type=new, codename=perm.codename).first()
            if twin is None:
                perm.content_type = new
                perm.save(update_fields=["content_type"])
                continue
            for group in perm.group_set.all():
                group.permissions.add(twin)
            for user in User.objects.filter(user_permissions=perm):
                user.user_permissions.add(twin)
            perm.delete()
        LogEntry.objects.filter(content_type=old).update(content_type=new)
        old.delete()


def forwards(apps, schema_editor):
    _move(apps, "loans", "parties")


def backwards(apps, schema_editor):
    _move(apps, "parties", "loans")


class Migration(migrations.Migration):
    dependencies = [
        ("parties", "0001_initial"),
        ("loans", "0020_borrower_files_move_to_parties"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
