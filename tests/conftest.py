import pytest


@pytest.fixture
def on_postgres(settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)")
    return True


@pytest.fixture
def ledger_anchor(settings, tmp_path):
    """The ledger's anchor file for this test (production keeps it outside the database)."""
    path = tmp_path / "anchor" / "ledger-anchor.json"
    settings.LEDGER_ANCHOR_PATH = str(path)
    return path
