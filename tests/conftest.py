import pytest


@pytest.fixture
def on_postgres(settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://... (CI does)")
    return True


@pytest.fixture
def clock(time_machine):
    """Set the wall clock to a business day (noon in the lender's time zone), for tests that
    live through a loan's schedule: value dates may not lie in the real future, so a test that
    repays in March 2027 must be in March 2027."""
    import datetime
    from zoneinfo import ZoneInfo

    from django.conf import settings

    def at(day: datetime.date) -> None:
        time_machine.move_to(datetime.datetime.combine(day, datetime.time(12), tzinfo=ZoneInfo(settings.TIME_ZONE)), tick=False)

    return at


@pytest.fixture
def ledger_anchor(settings, tmp_path):
    """The ledger's anchor file for this test (production keeps it outside the database)."""
    path = tmp_path / "anchor" / "ledger-anchor.json"
    settings.LEDGER_ANCHOR_PATH = str(path)
    return path


@pytest.fixture(autouse=True)
def _language_restored():
    """Each test starts and ends in the default language.  A page asked for in Chinese through
    the test client leaves Chinese active in the thread (the locale middleware activates the
    request's language), and the tests that ran after such a test read lazy labels in Chinese."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
