"""After the night cleared a warning, in Chromium, in English and in Chinese: the committee
member's queue and case page say that the warning behind a person's escalated proposal cleared
(the members decide whether it is still needed), and the run's admin page shows what the night
settled for its cleared warnings."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from config.backoffice.roles import COMMITTEE_MEMBER, RISK_MANAGER, roles_sync
from monitoring.actions import post_loan_action_propose
from monitoring.models import CommitteeCase, Phase, RunStatus, ScoringRun
from monitoring.services import scoring_run_continue
from tests.monitoring.test_rules import DAY

from .conftest import PASSWORD, log_in, two_companies_below_minimum

D2 = DAY + datetime.timedelta(days=1)


@pytest.fixture
def night(db, django_user_model):
    roles_sync()  # the live server's database is flushed after each test, the roles' groups with it
    officer = django_user_model.objects.create_user("officer1", password=PASSWORD, is_staff=True)
    officer.groups.add(Group.objects.get(name=RISK_MANAGER))
    member = django_user_model.objects.create_user("member1", password=PASSWORD, is_staff=True)
    member.groups.add(Group.objects.get(name=COMMITTEE_MEMBER))
    django_user_model.objects.create_superuser("admin1", password=PASSWORD)
    book, mine, systems, alert = two_companies_below_minimum()
    by_person = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=mine.line.pk, params={"percent": "60"}, alert_id=alert[mine.pk],
        actor=officer, reason="score fell below 600", on=DAY,
    )
    post_loan_action_propose(
        kind="reduce_limit", credit_line_id=systems.line.pk, params={"percent": "60"}, alert_id=alert[systems.pk], on=DAY,
    )
    for c in (mine, systems):
        book.score("company", c.pk, 660, 540, day=D2)
    run = ScoringRun.objects.create(as_of=D2, status=RunStatus.RUNNING, phase=Phase.ALERTS,
                                    started_at=timezone.now(), phase_started_at=timezone.now())
    run = scoring_run_continue(run_id=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return CommitteeCase.objects.get(kind="post_loan_action", subject_id=by_person.pk), run


@pytest.mark.parametrize(
    "locale,lang,flag,settled",
    [("en-US", "en", "Warning cleared on", "system proposals withdrawn: 1"), ("zh-CN", "zh", "预警已于", "系统提议撤回:1")],
    ids=["en", "zh"],
)
def test_the_committee_and_the_run_page_tell_of_a_warning_that_cleared(
    browser, live_server, night, shoot, locale, lang, flag, settled
):
    case, run = night
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "member1")
    page.goto(f"{live_server.url}/admin/monitoring/committeecase/queue/")
    assert flag in page.locator("#bo-waiting").inner_text()
    shoot(page, f"committee-queue-{lang}")
    page.goto(f"{live_server.url}/admin/monitoring/committeecase/{case.pk}/case/")
    notice = page.locator("#bo-warning-cleared")
    assert flag in notice.inner_text() and D2.isoformat() in notice.inner_text()
    assert page.locator("button[name=do-vote]").count() == 1
    shoot(page, f"committee-case-{lang}")
    context.close()

    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "admin1")
    page.goto(f"{live_server.url}/admin/monitoring/scoringrun/{run.pk}/change/")
    shoot(page, f"run-page-{lang}")
    assert settled in page.locator("body").inner_text()
    context.close()
