"""Trigram indexes for the admin's name search (PostgreSQL only).

The company and person lists search ``legal_name`` / ``name`` (and the masked resident ID)
with ``icontains``, which PostgreSQL runs as ``UPPER(col) LIKE UPPER('%term%')``: without an
index, a scan of every row (360 ms for 100,000 companies on a loaded machine).  A GIN trigram
index on the same expression answers in under a millisecond, Chinese names included (pg_trgm
hashes CJK trigrams under a UTF-8 ctype).  The company list's exact USCC search (``=uscc``,
``UPPER(uscc) = UPPER(term)``) gets an expression index too, so the OR of both stays a bitmap
scan.

Built CONCURRENTLY (no write lock on a live table), hence ``atomic = False``.  Not declared in
the models' Meta: SQLite has neither GIN nor pg_trgm, and the migration state need not know.
"""

from django.db import DatabaseError, migrations

# (index, table, method, expression)
INDEXES = [
    ("company_name_trgm_idx", "loans_company", "gin", "UPPER(legal_name::text) gin_trgm_ops"),
    ("company_uscc_upper_idx", "loans_company", "btree", "UPPER(uscc::text)"),
    ("person_name_trgm_idx", "loans_person", "gin", "UPPER(name::text) gin_trgm_ops"),
    ("person_masked_id_trgm_idx", "loans_person", "gin", "UPPER(resident_id_masked::text) gin_trgm_ops"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        print(f"\n  pg_trgm not available ({exc}): name search stays a scan; see README 'Speed at scale'")
        return
    for name, table, method, expression in INDEXES:
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} USING {method} ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, *_rest in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("loans", "0018_choice_labels_translatable")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
