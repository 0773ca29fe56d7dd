"""Borrower files per partner; a resident-ID mask and birth year that do not give the number away.

* USCC and resident-ID hash become unique per partner (and among the lender's own records),
  no longer across the whole database.  Today's rows stay valid: they were unique overall.
* A person whose record one partner created but who also sits in another file's company
  (another partner's, or the lender's own) gets a record in that file: the roles there are
  moved to it, and it starts with the original record's credit data (the partner that sent a
  snapshot was not recorded, so every snapshot is kept on both; new data attaches to one
  file only).  Its scores come from the next scoring, on demand or nightly.
* The masked resident ID keeps the province and the last four characters
  (``440305********0810`` becomes ``44************0810``), computed from the old mask, so
  nothing is decrypted; the full birth date gives way to the birth year.

Reversible while no resident ID or USCC is held twice.
"""

from django.db import connection, migrations, models
from django.db.models import Q, Value
from django.db.models.functions import Concat, ExtractYear, Right, Substr

_LENDER = Q(partner__isnull=True)


def _remask_and_birth_year(apps):
    Person = apps.get_model("loans", "Person")
    # One set-based statement (millions of rows in a large book); the old mask already holds
    # the two characters and the last four that the new one keeps.
    Person.objects.update(
        resident_id_masked=Concat(Substr("resident_id_masked", 1, 2), Value("*" * 12), Right("resident_id_masked", 4)),
        birth_year=ExtractYear("birth_date"),
    )


_PERSON_FIELDS = (
    "name", "resident_id_hash", "resident_id_encrypted", "resident_id_masked", "phone_encrypted",
    "phone_masked", "birth_date", "birth_year", "is_blocklisted",
)
_SNAPSHOT_SKIP = {"id", "person", "person_id"}


def _split_shared_persons(apps):
    Person = apps.get_model("loans", "Person")
    RelatedParty = apps.get_model("loans", "RelatedParty")
    PersonCreditSnapshot = apps.get_model("scoring", "PersonCreditSnapshot")
    crossing = (
        RelatedParty.objects.filter(Q(company__partner__isnull=False) | Q(person__partner__isnull=False))
        .values_list("id", "person_id", "person__partner_id", "company__partner_id")
        .order_by("id")
    )
    moves: dict[tuple[int, int | None], list[int]] = {}
    for role_id, person_id, person_partner, company_partner in crossing.iterator(chunk_size=5000):
        if person_partner != company_partner:
            moves.setdefault((person_id, company_partner), []).append(role_id)
    snapshot_fields = [f.attname for f in PersonCreditSnapshot._meta.concrete_fields if f.attname not in _SNAPSHOT_SKIP]
    for (person_id, partner_id), role_ids in sorted(moves.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        original = Person.objects.get(pk=person_id)
        clone = Person(partner_id=partner_id, **{f: getattr(original, f) for f in _PERSON_FIELDS})
        clone.save(force_insert=True)
        RelatedParty.objects.filter(pk__in=role_ids).update(person_id=clone.pk)
        PersonCreditSnapshot.objects.bulk_create([
            PersonCreditSnapshot(person_id=clone.pk, **dict(zip(snapshot_fields, row)))
            for row in PersonCreditSnapshot.objects.filter(person_id=person_id).order_by("as_of").values_list(*snapshot_fields)
        ])
    if moves and connection.vendor == "postgresql":
        # The new rows' deferred foreign-key checks would otherwise still be pending when the
        # operations below alter the table, which PostgreSQL refuses.
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")


def forwards(apps, schema_editor):
    _remask_and_birth_year(apps)
    _split_shared_persons(apps)


def backwards(apps, schema_editor):
    # The old mask and the birth date need the number itself: decrypt (with the key in the
    # settings).  Two records of one person or company stop the way back at the old unique
    # indexes, which is the honest outcome.
    from loans import identity

    Person = apps.get_model("loans", "Person")
    for person in Person.objects.only("id", "resident_id_encrypted").iterator(chunk_size=2000):
        compact = identity.decrypt(person.resident_id_encrypted)
        Person.objects.filter(pk=person.pk).update(
            resident_id_masked=f"{compact[:6]}{'*' * 8}{compact[-4:]}",
            birth_date=f"{compact[6:10]}-{compact[10:12]}-{compact[12:14]}",
        )


class Migration(migrations.Migration):

    dependencies = [
        ("loans", "0006_admin_action_permissions"),
        ("scoring", "0004_score_documents_json"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="person", name="person_id_masked_format"),
        migrations.AddField(
            model_name="person", name="birth_year",
            field=models.PositiveSmallIntegerField(null=True, editable=False),
        ),
        migrations.AlterField(model_name="person", name="birth_date", field=models.DateField(null=True, editable=False)),
        migrations.AlterField(model_name="company", name="uscc", field=models.CharField(max_length=18, verbose_name="USCC")),
        migrations.AlterField(model_name="person", name="resident_id_hash", field=models.CharField(editable=False, max_length=64)),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(model_name="person", name="birth_year", field=models.PositiveSmallIntegerField(editable=False)),
        migrations.RemoveField(model_name="person", name="birth_date"),
        migrations.AddConstraint(
            model_name="company",
            constraint=models.UniqueConstraint(
                fields=("uscc", "partner"), name="company_uscc_unique_per_partner",
                violation_error_message="This partner already has a company with this USCC.",
            ),
        ),
        migrations.AddConstraint(
            model_name="company",
            constraint=models.UniqueConstraint(
                condition=_LENDER, fields=("uscc",), name="company_uscc_unique_lender",
                violation_error_message="The lender already has its own company with this USCC.",
            ),
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.CheckConstraint(
                condition=Q(resident_id_masked__regex=r"^[0-9]{2}\*{12}[0-9]{3}[0-9X]$"), name="person_id_masked_format",
            ),
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.CheckConstraint(
                condition=Q(birth_year__gte=1900) & Q(birth_year__lte=2200), name="person_birth_year_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(
                fields=("resident_id_hash", "partner"), name="person_id_unique_per_partner",
                violation_error_message="This partner already has a person with this resident ID.",
            ),
        ),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(
                condition=_LENDER, fields=("resident_id_hash",), name="person_id_unique_lender",
                violation_error_message="The lender already has its own person with this resident ID.",
            ),
        ),
    ]
