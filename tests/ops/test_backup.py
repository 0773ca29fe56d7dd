"""The backup runbook, exercised: pg_dump the database, pg_restore it into a fresh one, and the
restored copy verifies its ledger (``manage.py verify_ledger`` -> ok) with the same rows in
every table and the same sequence positions.  PostgreSQL only."""

import os
import shutil
import subprocess
import sys

import pytest
from django.db import connection

from .conftest import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _libpq_args(db) -> list[str]:
    return ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432), "-U", db["USER"]]


def _row_counts(cur) -> dict[str, int]:
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [t for (t,) in cur.fetchall()]
    counts = {}
    for table in tables:
        cur.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cur.fetchone()[0]
    return counts


def _sequences(cur) -> dict[str, int | None]:
    cur.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
    return dict(cur.fetchall())


def _snapshot(dbname: str, db) -> tuple[dict, dict]:
    import psycopg

    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=dbname
    ) as conn:
        with conn.cursor() as cur:
            return _row_counts(cur), _sequences(cur)


def test_a_dump_restored_into_a_fresh_database_verifies_with_the_same_rows(
    on_postgres, make_line, tmp_path
):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("needs the PostgreSQL client tools pg_dump and pg_restore")
    # given: a book with decisions and their ledger entries, lines opened
    make_line()
    make_line(amount="300000")
    db = connection.settings_dict
    source = db["NAME"]
    restored = f"{source}_restored"
    dump = tmp_path / "backup.dump"
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM loans_ledgerentry")
        assert cur.fetchone()[0] >= 2  # one per decision
    subprocess.run(["dropdb", "--if-exists", *_libpq_args(db), restored], check=True)
    try:
        # when: the runbook's commands
        subprocess.run(
            [
                "pg_dump",
                *_libpq_args(db),
                "--format=custom",
                "--no-owner",
                f"--file={dump}",
                source,
            ],
            check=True,
            timeout=300,
        )
        subprocess.run(["createdb", *_libpq_args(db), restored], check=True)
        subprocess.run(
            [
                "pg_restore",
                *_libpq_args(db),
                "--no-owner",
                "--exit-on-error",
                "--jobs=2",
                f"--dbname={restored}",
                str(dump),
            ],
            check=True,
            timeout=300,
        )
        # then: the restored copy verifies its ledger...
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{restored}"
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
        verified = subprocess.run(
            [sys.executable, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert verified.returncode == 0 and verified.stdout.strip().startswith("ok"), (
            verified.stdout + verified.stderr
        )
        # ...and holds the same rows in every table, its sequences where they were
        assert _snapshot(restored, db) == _snapshot(source, db)
        # and a tampered copy would not verify (the check is not a formality)
        import psycopg

        with psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            dbname=restored,
            autocommit=True,
        ) as conn:
            conn.execute(
                "UPDATE loans_ledgerentry SET payload = replace(payload, '\"approve\"', '\"decline\"')"
            )
        tampered = subprocess.run(
            [sys.executable, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert tampered.returncode != 0 and "broken" in tampered.stdout
    finally:
        subprocess.run(["dropdb", "--if-exists", *_libpq_args(db), restored], check=False)
