"""What waits for a warning that cleared by itself.

When the nightly rules resolve an alert ("condition cleared on <date>"), the system's own
proposal for it that nobody has decided yet is withdrawn by the system (date and reason
recorded, its committee case closed as withdrawn, the owning partner told); a person's
proposal stays for its approver, flagged; decided actions are untouched; a rerun does nothing."""

import datetime

import pytest
from django.urls import reverse

from config.backoffice.roles import RISK_MANAGER
from loans.api.models import WebhookDelivery, WebhookEndpoint
from loans.models import LedgerEntry, Partner
from monitoring.actions import post_loan_action_approve, post_loan_action_execute, post_loan_action_propose
from monitoring.models import ACTION_TRANSITIONS, ActionStatus, Alert, CaseStatus, CommitteeCase, PostLoanAction
from monitoring.proposals import actions_settle_for_cleared_alerts
from monitoring.rules import rules_evaluate, rules_evaluate_detailed
from tests.factories import user_in
from tests.monitoring.test_rules import DAY, Book

pytestmark = pytest.mark.django_db

D1, D2 = DAY, DAY + datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _language_restored():
    """A page asked for in Chinese activates Chinese in this thread (the locale middleware): the
    tests after this one must not inherit it."""
    from django.utils import translation

    with translation.override(translation.get_language()):
        yield


@pytest.fixture
def book():
    return Book()


@pytest.fixture
def people(django_user_model):
    return {
        "officer": user_in(django_user_model, "officer1", RISK_MANAGER),
        "risk": user_in(django_user_model, "risk1", RISK_MANAGER),
    }


def _below_minimum_then_recovered(book, companies, *, recovered):
    """Day 1: every company below the minimum (one alert each); day 2: ``recovered`` back above it."""
    for c in companies:
        book.score("company", c.pk, 540, 620, day=D1)
    rules_evaluate(as_of=D1, only=["below_minimum"])
    return {c.pk: Alert.objects.get(rule="below_minimum", subject_id=c.pk) for c in companies}


def _day_two(book, companies, recovered):
    for c in companies:
        book.score("company", c.pk, 650 if c in recovered else 550, 540, day=D2)
    return rules_evaluate_detailed(as_of=D2, only=["below_minimum"])


def _state():
    return sorted(
        PostLoanAction.objects.values_list(
            "pk", "status", "decided_at", "decision_note", "alert_cleared_on", "updated_at"
        )
    )


def test_a_cleared_warning_withdraws_the_systems_waiting_proposals_and_closes_the_committee_case(book, people):
    # given: four exposed companies below the minimum, one that stays below
    system, escalated, approved, executed, still = companies = [book.company() for _ in range(5)]
    alerts = _below_minimum_then_recovered(book, companies, recovered=companies[:4])
    partner = Partner.objects.create(name="Partner P")
    system.line.partner = partner
    system.line.save(update_fields=["partner"])
    WebhookEndpoint.objects.create(partner=partner, url="https://partner.example/hook")
    # the system's proposals: a cut waiting for a checker, a large cut waiting for the committee,
    # one approved and one executed, and one for the warning that does not clear
    waiting = post_loan_action_propose(
        kind="reduce_limit",
        credit_line_id=system.line.pk,
        params={"percent": "20"},
        alert_id=alerts[system.pk].pk,
        on=D1,
    )
    committee = post_loan_action_propose(
        kind="reduce_limit",
        credit_line_id=escalated.line.pk,
        params={"percent": "60"},
        alert_id=alerts[escalated.pk].pk,
        on=D1,
    )
    decided = post_loan_action_propose(
        kind="reduce_limit",
        credit_line_id=approved.line.pk,
        params={"percent": "20"},
        alert_id=alerts[approved.pk].pk,
        on=D1,
    )
    post_loan_action_approve(action_id=decided.pk, actor=people["risk"], note="agreed")
    done = post_loan_action_propose(
        kind="freeze_line", credit_line_id=executed.line.pk, alert_id=alerts[executed.pk].pk, on=D1
    )
    post_loan_action_approve(action_id=done.pk, actor=people["risk"], note="agreed")
    post_loan_action_execute(action_id=done.pk, actor=people["risk"], on=D1)
    kept = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=still.line.pk, params={"percent": "20"}, alert_id=alerts[still.pk].pk, on=D1
    )
    case = CommitteeCase.objects.get(kind="post_loan_action", subject_id=committee.pk)
    assert committee.status == ActionStatus.PENDING_COMMITTEE and case.status == CaseStatus.OPEN
    ledger_before = LedgerEntry.objects.count()

    # when: four warnings clear on day 2
    _day_two(book, companies, recovered=companies[:4])

    # then: the two undecided system proposals are withdrawn, with date and reason, by nobody
    reason = f"withdrawn by the system: condition cleared on {D2.isoformat()}"
    for action in (waiting, committee):
        action.refresh_from_db()
        assert (action.status, action.decision_note, action.alert_cleared_on) == (ActionStatus.WITHDRAWN, reason, D2)
        assert action.decided_at is not None and action.approved_by is None and action.rejected_by is None
    case.refresh_from_db()
    assert (case.status, case.outcome_reason) == (CaseStatus.WITHDRAWN, reason) and case.closed_at is not None
    closes = LedgerEntry.objects.filter(seq__gt=ledger_before, kind="committee.case_closed")
    assert [(e.subject_type, e.subject_id) for e in closes] == [("monitoring.committeecase", str(case.pk))]
    # the approved and executed ones and the one whose warning persists are untouched
    assert PostLoanAction.objects.get(pk=decided.pk).status == ActionStatus.APPROVED
    assert PostLoanAction.objects.get(pk=done.pk).status == ActionStatus.EXECUTED
    assert PostLoanAction.objects.get(pk=kept.pk).status == ActionStatus.PROPOSED
    assert (
        PostLoanAction.objects.filter(pk__in=[decided.pk, done.pk, kept.pk], alert_cleared_on__isnull=False).count()
        == 0
    )
    # the owning partner is told (only the partner of a line has one here)
    told = WebhookDelivery.objects.get(event_type="post_loan_action.withdrawn")
    assert (told.payload["id"], told.payload["status"], told.payload["alert_cleared_on"]) == (
        waiting.pk,
        "withdrawn",
        D2.isoformat(),
    )

    # and a rerun of the night changes nothing and tells nobody again
    before = _state()
    rules_evaluate_detailed(as_of=D2, only=["below_minimum"])
    assert actions_settle_for_cleared_alerts(as_of=D2) == {
        "actions_withdrawn": 0,
        "actions_flagged": 0,
        "committee_cases_withdrawn": 0,
    }
    assert _state() == before
    assert WebhookDelivery.objects.filter(event_type="post_loan_action.withdrawn").count() == 1
    assert LedgerEntry.objects.filter(seq__gt=ledger_before, kind="committee.case_closed").count() == 1


def test_a_persons_proposal_stays_for_the_approver_and_the_queue_says_the_warning_cleared(book, people, client):
    c = book.company()
    alerts = _below_minimum_then_recovered(book, [c], recovered=[c])
    action = post_loan_action_propose(
        kind="reduce_limit",
        credit_line_id=c.line.pk,
        params={"percent": "20"},
        alert_id=alerts[c.pk].pk,
        actor=people["officer"],
        on=D1,
    )
    escalated = post_loan_action_propose(
        kind="reduce_limit",
        credit_line_id=c.line.pk,
        params={"percent": "60"},
        alert_id=alerts[c.pk].pk,
        actor=people["officer"],
        on=D1,
    )

    counts = _day_two(book, [c], recovered=[c])

    assert counts["below_minimum"].resolved == 1
    for a in (action, escalated):
        a.refresh_from_db()
        assert (
            a.status in (ActionStatus.PROPOSED, ActionStatus.PENDING_COMMITTEE),
            a.alert_cleared_on,
            a.decided_at,
        ) == (True, D2, None)
    assert CommitteeCase.objects.get(subject_id=escalated.pk).status == CaseStatus.OPEN
    client.force_login(people["risk"])
    page = client.get(reverse("admin:monitoring_postloanaction_approvals")).content.decode()
    assert f'id="bo-action-{action.pk}"' in page and f"Warning cleared on {D2.isoformat()}" in page
    # the approver may still decide it
    post_loan_action_approve(action_id=action.pk, actor=people["risk"], note="still cutting: the drawn balance is high")
    assert PostLoanAction.objects.get(pk=action.pk).status == ActionStatus.APPROVED


def test_a_warning_closed_by_a_person_withdraws_nothing(book, people):
    from monitoring.alerts import alert_resolve

    c = book.company()
    alerts = _below_minimum_then_recovered(book, [c], recovered=[])
    action = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=c.line.pk, params={"percent": "20"}, alert_id=alerts[c.pk].pk, on=D1
    )
    alert_resolve(alert_id=alerts[c.pk].pk, actor=people["officer"], reason="paid up")
    assert actions_settle_for_cleared_alerts(as_of=D2)["actions_withdrawn"] == 0
    assert PostLoanAction.objects.get(pk=action.pk).status == ActionStatus.PROPOSED


def test_only_undecided_actions_may_be_withdrawn():
    assert set(ACTION_TRANSITIONS) == set(ActionStatus.values)
    assert {s for s, moves in ACTION_TRANSITIONS.items() if ActionStatus.WITHDRAWN in moves} == {
        ActionStatus.PROPOSED,
        ActionStatus.PENDING_COMMITTEE,
    }


def test_the_night_records_what_it_settled_for_the_warnings_that_cleared(book, people, admin_client):
    from django.utils import timezone

    from monitoring.management.commands.rescore import summary
    from monitoring.models import Phase, RunStatus, ScoringRun
    from monitoring.services import scoring_run_continue

    # given: two warnings of day 1; the system proposed a large cut for one (a committee case)
    # and a person proposed a cut for the other
    system, person = companies = [book.company(), book.company()]
    alerts = _below_minimum_then_recovered(book, companies, recovered=companies)
    escalated = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=system.line.pk, params={"percent": "60"}, alert_id=alerts[system.pk].pk, on=D1
    )
    flagged = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=person.line.pk, params={"percent": "20"}, alert_id=alerts[person.pk].pk,
        actor=people["officer"], on=D1,
    )
    for c in companies:
        book.score("company", c.pk, 650, 540, day=D2)

    # when: the night of day 2 runs its rules, in which both warnings clear
    run = ScoringRun.objects.create(as_of=D2, status=RunStatus.RUNNING, phase=Phase.ALERTS,
                                    started_at=timezone.now(), phase_started_at=timezone.now())
    run = scoring_run_continue(run_id=run.pk)

    # then: the run's counts say what was settled
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert PostLoanAction.objects.get(pk=escalated.pk).status == ActionStatus.WITHDRAWN
    assert PostLoanAction.objects.get(pk=flagged.pk).alert_cleared_on == D2
    assert run.counts["alerts_resolved_by_rule"]["below_minimum"] == 2
    assert (run.counts["actions_withdrawn"], run.counts["committee_cases_withdrawn"], run.counts["actions_flagged"]) == (
        1, 1, 1)
    # the rescore command's summary prints them
    assert ("after warnings cleared: system proposals withdrawn: 1 · committee cases closed as withdrawn: 1 · "
            "people's proposals flagged for their approver: 1") in summary(run)
    # and the run's admin page shows them, in both languages
    url = reverse("admin:monitoring_scoringrun_change", args=[run.pk])
    en = admin_client.get(url, headers={"accept-language": "en"}).content.decode()
    assert "After warnings cleared" in en and "system proposals withdrawn: 1" in en
    assert "people&#x27;s proposals flagged for their approver: 1" in en
    zh = admin_client.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    assert "预警解除后" in zh and "系统提议撤回:1" in zh and "贷审会案件以撤回结案:1" in zh and "人员提议标记待审批人决定:1" in zh


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_committee_sees_that_the_warning_behind_a_persons_proposal_cleared(book, people, client, language,
                                                                                django_user_model):
    from config.backoffice.roles import COMMITTEE_MEMBER

    # given: a person's large cut for a warning, waiting for the committee, and one for a warning
    # that does not clear
    cleared, still = companies = [book.company(), book.company()]
    alerts = _below_minimum_then_recovered(book, companies, recovered=[cleared])
    cases = {}
    for c in companies:
        action = post_loan_action_propose(
            kind="reduce_limit", credit_line_id=c.line.pk, params={"percent": "60"}, alert_id=alerts[c.pk].pk,
            actor=people["officer"], on=D1,
        )
        cases[c.pk] = CommitteeCase.objects.get(kind="post_loan_action", subject_id=action.pk)
    member = user_in(django_user_model, "member1", COMMITTEE_MEMBER)
    client.force_login(member)
    case_url = reverse("admin:monitoring_committeecase_case", args=[cases[cleared.pk].pk])
    headers = {"accept-language": language}
    said = ("Warning cleared on", "decide whether this action is still needed") if language == "en" else (
        "预警已于", "请判断此措施是否仍有必要")
    assert said[0] not in client.get(case_url, headers=headers).content.decode()  # nothing cleared yet

    # when: the warning behind one clears on day 2
    _day_two(book, companies, recovered=[cleared])

    # then: its case page says so, with the day, and that the members decide whether it is still needed
    assert CommitteeCase.objects.get(pk=cases[cleared.pk].pk).status == CaseStatus.OPEN
    page = client.get(case_url, headers=headers).content.decode()
    notice = page[page.index('id="bo-warning-cleared"'):]
    notice = notice[:notice.index("</div></div>")]
    day = D2.isoformat()
    assert said[0] in notice and day in notice and said[1] in notice
    assert 'name="do-vote"' in page  # the member can still vote
    # the other case's page says nothing of the kind
    other = client.get(reverse("admin:monitoring_committeecase_case", args=[cases[still.pk].pk]), headers=headers)
    assert said[0] not in other.content.decode()
    # and the member's queue marks the case whose warning cleared, and only that one
    queue = client.get(reverse("admin:monitoring_committeecase_queue"), headers=headers).content.decode()
    assert queue.count(said[0]) == 1
    row = queue[queue.index(f"/{cases[cleared.pk].pk}/case/"):]
    assert said[0] in row[:row.index("</tr>")]
