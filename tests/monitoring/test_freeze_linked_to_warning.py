"""The system's protective freeze, taken when the scores are written (before the night's rules),
is linked after the rules to the warning that explains it: below_minimum for a score below the
minimum, related_party_deterioration for a key person in default."""

import datetime

import pytest
from django.utils import timezone, translation

from loans.choices import CreditLineStatus
from monitoring.actions import post_loan_action_system_execute
from monitoring.models import Alert, PostLoanAction
from monitoring.proposals import propose_actions, system_freezes_link_alerts
from monitoring.rules import rules_evaluate
from scoring.signals import company_scores_written
from tests.loans.conftest import TODAY, company, make_line, officer, product  # noqa: F401

from .test_protection_and_proposals import scored

pytestmark = pytest.mark.django_db


def test_a_freeze_below_the_minimum_is_linked_to_the_below_minimum_warning_raised_after_it(make_line, client, admin_user):  # noqa: F811
    line = make_line()
    # given the company's score fell to 533: the line is frozen the moment the score is written
    scored("company", line.company_id, 533)
    company_scores_written.send(sender=None, company_ids=[line.company_id], as_of=TODAY)
    freeze = PostLoanAction.objects.get(kind="freeze_line")
    assert freeze.alert_id is None
    # when the night's rules run
    rules_evaluate(as_of=TODAY)
    # then the freeze answers the below_minimum warning
    freeze.refresh_from_db()
    warning = Alert.objects.get(rule="below_minimum", subject_id=line.company_id)
    assert freeze.alert_id == warning.pk
    # and the alert page lists it among its actions
    client.force_login(admin_user)
    page = client.get(f"/admin/monitoring/alert/{warning.pk}/change/").content.decode()
    assert f"/admin/monitoring/postloanaction/{freeze.pk}/change/" in page
    # and the night's proposals do not answer that warning a second time
    propose_actions(TODAY)
    assert list(PostLoanAction.objects.filter(alert=warning)) == [freeze]


def test_a_freeze_for_a_key_person_in_default_worded_in_chinese_is_linked_to_the_related_party_warning(make_line):  # noqa: F811
    line = make_line()
    rep = line.company.related_parties.get()
    scored("company", line.company_id, 700)
    scored("person", rep.person_id, 400, in_default=True)
    # given the freeze was taken in a request in Chinese (event-driven rescoring)
    with translation.override("zh-hans"):
        company_scores_written.send(sender=None, company_ids=[line.company_id], as_of=TODAY)
    freeze = PostLoanAction.objects.get(kind="freeze_line")
    assert "违约" in freeze.reason and freeze.params == {"cause": "related_party_deterioration"}
    # when the rules run
    rules_evaluate(as_of=TODAY)
    # then
    freeze.refresh_from_db()
    assert freeze.alert == Alert.objects.get(rule="related_party_deterioration", subject_id=line.company_id)


def test_two_frozen_lines_of_one_company_link_once_and_a_rerun_links_nothing_more(make_line):  # noqa: F811
    first, second = make_line(amount="300000"), make_line(amount="200000")
    assert first.company_id == second.company_id
    scored("company", first.company_id, 533)
    company_scores_written.send(sender=None, company_ids=[first.company_id], as_of=TODAY)
    assert set(PostLoanAction.objects.values_list("credit_line_id", flat=True)) == {first.pk, second.pk}
    rules_evaluate(as_of=TODAY)
    # one alert keeps one system action (pla_one_system_proposal_per_alert): the first freeze
    warning = Alert.objects.get(rule="below_minimum")
    linked = PostLoanAction.objects.filter(alert=warning)
    assert list(linked.values_list("credit_line_id", flat=True)) == [first.pk]
    assert system_freezes_link_alerts(as_of=TODAY) == 0


def test_an_older_freeze_or_an_alert_already_answered_by_the_system_is_left_alone(make_line):  # noqa: F811
    line = make_line()
    scored("company", line.company_id, 533)
    freeze = post_loan_action_system_execute(
        kind="freeze_line", credit_line_id=line.pk, on=TODAY,
        reason="the company's latest score is below the policy minimum 600", cause="below_minimum")
    # a freeze three days before the night's date: not the day's
    three_days_before = timezone.make_aware(datetime.datetime.combine(TODAY - datetime.timedelta(days=3), datetime.time(12)))
    PostLoanAction.objects.filter(pk=freeze.pk).update(executed_at=three_days_before)
    rules_evaluate(as_of=TODAY)
    freeze.refresh_from_db()
    assert freeze.alert_id is None
    assert type(line).objects.get(pk=line.pk).status == CreditLineStatus.FROZEN
    # an alert that already has the system's action keeps it alone
    warning = Alert.objects.get(rule="below_minimum")
    other = post_loan_action_system_execute(kind="freeze_line", credit_line_id=make_line(amount="100000").pk, on=TODAY,
                                            reason="the company's latest score is below the policy minimum 600", cause="below_minimum")
    PostLoanAction.objects.filter(pk=freeze.pk).update(alert=warning)
    assert system_freezes_link_alerts(as_of=TODAY) == 0
    other.refresh_from_db()
    assert other.alert_id is None
