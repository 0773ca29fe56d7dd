"""Browser tests: Playwright for Python drives Debian's chromium (never a downloaded browser)
against pytest-django's live server.  Each step saves a screenshot under
``$BROWSER_ARTIFACTS`` (default tests/browser/artifacts, not committed)."""

import os
from pathlib import Path

import pytest

from tests.backoffice.conftest import TODAY, _application, staff

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", Path(__file__).parent / "artifacts"))
PASSWORD = "officer-password-1"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=f"no chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)"))


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls stay
    # synchronous and safe (the live server answers from its own thread).  For this test
    # only: a later test (or subprocess) must not inherit it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def shoot(request):
    """shoot(page, "step"): a full-page screenshot named after the test and the step."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, step: str) -> Path:
        path = folder / f"{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def officer_user(db, django_user_model):
    from django.contrib.auth.models import Permission

    perms = Permission.objects.filter(codename__startswith="view_") | Permission.objects.filter(
        codename__in=["submit_application", "accept_offer", "book_application", "withdraw_application"]
    )
    user = staff(django_user_model, "officer", perms=perms)
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


@pytest.fixture
def world(db, django_user_model):
    """A referred and an approved application, a booked line with a loan, scores and an
    alert: what an officer meets in the morning (a live server's database is flushed
    after each test, so this builds only what the pages need)."""
    from decimal import Decimal

    from loans.choices import ApplicationStatus
    from loans.services.lines import credit_line_draw_down
    from monitoring.models import Alert, ScoringRun
    from scoring import batch
    from tests.factories import LoanProductFactory
    from tests.scoring.helpers import AS_OF, GOOD_COMPANY, GOOD_PERSON, champion, snapshot

    maker = django_user_model.objects.create_user("maker", password="x", is_staff=True)
    product = LoanProductFactory(code="sme-revolving", rate_spread=Decimal("0.010000"))
    referred = _application(maker, product, score=610)
    approved = _application(maker, product, score=700)
    booked = _application(maker, product, score=700, amount="500000", to=ApplicationStatus.BOOKED)
    line = booked.credit_line
    loan = credit_line_draw_down(credit_line_id=line.pk, amount="100000", term_months=3, disbursed_on=TODAY, actor=maker)
    champion("person")
    champion("company")
    person = line.company.related_parties.get().person
    snapshot("person", person.pk, GOOD_PERSON)
    snapshot("company", line.company.pk, GOOD_COMPANY)
    batch.score_person_range(id_from=person.pk, id_to=person.pk + 1, as_of=AS_OF)
    batch.score_company_range(id_from=line.company.pk, id_to=line.company.pk + 1, as_of=AS_OF)
    ScoringRun.objects.create(as_of=AS_OF, status="succeeded", chunks_total=1, chunks_done=1)
    Alert.objects.create(subject_kind="company", subject_id=line.company.pk, company_id=line.company.pk, first_seen_on=AS_OF, last_seen_on=AS_OF, rule="score_drop",
                                severity="high", old_score=700, new_score=560)
    for obj in (referred, approved, line):
        obj.refresh_from_db()
    return {"referred": referred, "approved": approved, "line": line, "loan": loan}


def two_companies_below_minimum():
    """A book with two companies whose scores fell below the minimum on ``DAY`` (540 -> 620 on the
    night before), the night's below_minimum warnings raised: (book, mine, systems, warning id by
    company id).  The cleared-warning walks propose on the first and let the system on the second."""
    from monitoring.models import Alert
    from monitoring.rules import rules_evaluate
    from tests.monitoring.test_rules import DAY, Book

    book = Book()
    mine, systems = book.company(), book.company()
    for c in (mine, systems):
        book.score("company", c.pk, 540, 620, day=DAY)
    rules_evaluate(as_of=DAY, only=["below_minimum"])
    return book, mine, systems, {a.subject_id: a.pk for a in Alert.objects.filter(rule="below_minimum")}
