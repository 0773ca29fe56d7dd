"""A company's current shareholdings add up to at most 100 % — enforced by PostgreSQL too.

The rule spans rows, so no CHECK constraint can hold it.  Services validate it with the
company row locked; this statement-level trigger (one query per statement over the companies
it touched, so COPY and bulk inserts stay fast) is the backstop for every other writer.
Other databases (SQLite in development) rely on the services alone.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION loans_relatedparty_ownership_total() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT rp.company_id, SUM(rp.ownership_pct) AS total INTO bad
      FROM loans_relatedparty AS rp
     WHERE rp.company_id IN (SELECT company_id FROM touched)
       AND rp.valid_to IS NULL
       AND rp.ownership_pct IS NOT NULL
     GROUP BY rp.company_id
    HAVING SUM(rp.ownership_pct) > 100
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'relparty_ownership_total_max_100: current shareholdings of company % add up to % %%, more than 100 %%',
            bad.company_id, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER relparty_ownership_total_on_insert
    AFTER INSERT ON loans_relatedparty REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION loans_relatedparty_ownership_total();
CREATE TRIGGER relparty_ownership_total_on_update
    AFTER UPDATE ON loans_relatedparty REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION loans_relatedparty_ownership_total();
"""

DROP = """
DROP TRIGGER IF EXISTS relparty_ownership_total_on_insert ON loans_relatedparty;
DROP TRIGGER IF EXISTS relparty_ownership_total_on_update ON loans_relatedparty;
DROP FUNCTION IF EXISTS loans_relatedparty_ownership_total();
"""


def _run(sql):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: % is plpgsql's

    return apply


class Migration(migrations.Migration):
    dependencies = [("loans", "0004_repayment_parts_tolerance")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
