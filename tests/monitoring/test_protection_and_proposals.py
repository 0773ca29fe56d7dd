"""Protective freezes at once, the drawdown guard, and the nightly proposals from the policy."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from loans.choices import CreditLineStatus
from loans.errors import DomainError
from loans.models import CreditLine, LedgerEntry
from loans.services.lines import credit_line_draw_down
from monitoring.models import ActionPolicy, ActionStatus, Alert, PostLoanAction
from monitoring.proposals import propose_actions
from monitoring.protection import protect_companies
from scoring.models import LatestScore, Score
from scoring.signals import company_scores_written
from tests.loans.conftest import TODAY, company, make_line, officer, product  # noqa: F401

pytestmark = pytest.mark.django_db


def scored(kind, subject_id, score, *, in_default=False, as_of=TODAY):
    from scoring.models import ScoreModel
    from tests.scoring.helpers import champion

    model = ScoreModel.objects.filter(subject_kind=kind).first() or champion(kind)  # PostgreSQL checks the model exists
    s = Score.objects.create(subject_kind=kind, subject_id=subject_id, as_of=as_of, model_id=model.pk, model_version=model.version,
                             score=score, pd=0.2, tier="E" if score < 600 else "B", in_default=in_default)
    LatestScore.objects.update_or_create(
        subject_kind=kind, subject_id=subject_id,
        defaults={"score_id": s.pk, "as_of": as_of, "data_as_of": as_of, "scored_through": as_of, "score": score, "tier": s.tier, "in_default": in_default},
    )


@pytest.fixture
def line(make_line):  # noqa: F811
    return make_line(amount="500000")


def warning(company_id, severity="high", rule="score_drop"):
    return Alert.objects.create(subject_kind="company", subject_id=company_id, company_id=company_id, first_seen_on=TODAY, last_seen_on=TODAY, rule=rule,
                                       severity=severity, old_score=740, new_score=533)


def test_a_score_below_the_minimum_freezes_the_line_by_the_system_at_once(line):
    # given the company's latest score fell to 533
    scored("company", line.company_id, 533)
    ledger_before = LedgerEntry.objects.count()
    # when the new scores are announced
    company_scores_written.send(sender=None, company_ids=[line.company_id], as_of=TODAY)
    # then
    line.refresh_from_db()
    assert line.status == CreditLineStatus.FROZEN
    action = PostLoanAction.objects.get()
    assert (action.kind, action.status, action.proposed_by, action.approved_by, action.executed_by) == ("freeze_line", ActionStatus.EXECUTED, None, None, None)
    assert "below the policy minimum 600" in action.reason
    assert LedgerEntry.objects.filter(seq__gt=ledger_before, kind="post_loan_action.executed").count() == 1
    # and a rerun freezes nothing more
    assert protect_companies([line.company_id], TODAY) == 0
    assert PostLoanAction.objects.count() == 1


def test_the_system_s_freeze_is_one_short_transaction_with_every_record(line, django_assert_num_queries):
    # The protective freeze runs in the request that wrote the score (event-driven rescoring):
    # written already approved and carried out with the line locked once, no savepoint around
    # its effect.  Before: proposed, approved, re-read, the line locked twice (23 statements).
    from django.db import connection

    from monitoring.actions import post_loan_action_system_execute

    history_before = line.history.count()
    # savepoint, line lock, action insert, line update, line history, ledger (lock, tail, insert)
    # for the line, action update, ledger for the action, release (SQLite: no advisory lock)
    with django_assert_num_queries(13 if connection.vendor == "postgresql" else 11):
        action = post_loan_action_system_execute(kind="freeze_line", credit_line_id=line.pk, reason="a test", on=TODAY)
    line.refresh_from_db()
    action.refresh_from_db()
    assert line.status == CreditLineStatus.FROZEN
    assert (action.status, action.proposed_by, action.approved_by, action.executed_by) == (ActionStatus.EXECUTED, None, None, None)
    assert action.approved_at is not None and action.executed_at is not None
    assert action.result == {"status_before": "active", "status_after": "frozen", "line_changed": True}
    assert line.history.count() == history_before + 1
    assert line.history.first().history_change_reason == f"post-loan action #{action.pk} (freeze_line) by the system: a test"
    assert list(LedgerEntry.objects.order_by("-seq").values_list("kind", flat=True)[:2]) == [
        "post_loan_action.executed", "credit_line.status_changed"]


def test_a_frozen_line_is_not_frozen_again_by_the_system(line):
    from monitoring.actions import post_loan_action_system_execute

    post_loan_action_system_execute(kind="freeze_line", credit_line_id=line.pk, reason="first", on=TODAY)
    with pytest.raises(DomainError):
        post_loan_action_system_execute(kind="freeze_line", credit_line_id=line.pk, reason="again", on=TODAY)
    assert PostLoanAction.objects.count() == 1  # the refused one left nothing behind


def test_a_key_person_in_default_freezes_the_line(line):
    rep = line.company.related_parties.get()
    scored("company", line.company_id, 700)
    scored("person", rep.person_id, 400, in_default=True)
    assert protect_companies(None, TODAY) == 1
    line.refresh_from_db()
    assert line.status == CreditLineStatus.FROZEN
    assert "in default" in PostLoanAction.objects.get().reason


def test_a_healthy_company_is_left_alone(line):
    scored("company", line.company_id, 700)
    assert protect_companies(None, TODAY) == 0
    assert not PostLoanAction.objects.exists()


def test_a_drawdown_is_refused_when_the_latest_score_is_below_the_minimum(line):
    scored("company", line.company_id, 533)
    with pytest.raises(DomainError, match="latest score 533 .* below the policy minimum 600") as exc:
        credit_line_draw_down(credit_line_id=line.pk, amount="50000", term_months=12, disbursed_on=TODAY)
    assert exc.value.code == "drawdown_blocked"
    line.refresh_from_db()
    assert line.drawn_principal == Decimal("0.00") and not line.loans.exists()


def test_a_drawdown_is_refused_while_a_blocking_warning_is_open(line):
    w = warning(line.company_id)
    with pytest.raises(DomainError, match="open blocking warning \\(Score drop of "):
        credit_line_draw_down(credit_line_id=line.pk, amount="50000", term_months=12, disbursed_on=TODAY)
    Alert.objects.filter(pk=w.pk).update(status="resolved", closed_at=timezone.now(), close_reason="test")
    credit_line_draw_down(credit_line_id=line.pk, amount="50000", term_months=12, disbursed_on=TODAY)


def test_the_policy_proposes_one_action_per_warning_and_a_rerun_adds_nothing(line):
    credit_line_draw_down(credit_line_id=line.pk, amount="100000", term_months=12, disbursed_on=TODAY)
    high, medium = warning(line.company_id, "high"), warning(line.company_id, "medium", rule="tier_downgrade")
    # (migration 0016 seeds a row for tier_downgrade medium: this test's policy replaces its terms)
    ActionPolicy.objects.update_or_create(rule="tier_downgrade", severity="medium", defaults={
        "action_kind": "add_guarantee", "params": {"percent_of_drawn": 50, "due_in_days": 14}})
    # when
    assert propose_actions(TODAY) == {"actions_proposed": 2, "actions_skipped": 0, "actions_already_waiting": 0,
                                      "committee_cases_opened": 0}
    # then: the seeded policy cuts 30 % on a high score drop, the new one asks for a guarantee
    cut = PostLoanAction.objects.get(alert=high)
    assert (cut.kind, cut.status, cut.proposed_by, cut.params["new_limit"]) == ("reduce_limit", ActionStatus.PROPOSED, None, "350000.00")
    guarantee = PostLoanAction.objects.get(alert=medium)
    assert guarantee.amount_needed == Decimal("50000.00") and guarantee.due_date == TODAY + datetime.timedelta(days=14)
    # and a rerun proposes nothing new, even after the proposal was rejected
    assert propose_actions(TODAY) == {"actions_proposed": 0, "actions_skipped": 0, "actions_already_waiting": 0,
                                      "committee_cases_opened": 0}
    PostLoanAction.objects.filter(pk=cut.pk).update(status=ActionStatus.REJECTED)
    assert propose_actions(TODAY)["actions_proposed"] == 0
    assert PostLoanAction.objects.count() == 2


def test_a_policy_whose_terms_do_not_fit_the_line_skips_the_warning(line):
    credit_line_draw_down(credit_line_id=line.pk, amount="450000", term_months=12, disbursed_on=TODAY)
    warning(line.company_id, "high")  # a 30 % cut would go below the drawn 450,000
    assert propose_actions(TODAY) == {"actions_proposed": 0, "actions_skipped": 1, "actions_already_waiting": 0,
                                      "committee_cases_opened": 0}


def test_two_warnings_asking_for_the_same_measure_get_it_once_for_the_more_severe(line):
    # given: a medium score drop (policy: collateral) and a medium tier downgrade (migration
    # 0016: collateral too) on the same company, and a high red flag asking for a collateral too
    credit_line_draw_down(credit_line_id=line.pk, amount="100000", term_months=12, disbursed_on=TODAY)
    ActionPolicy.objects.update_or_create(rule="company_red_flags", severity="high", defaults={
        "action_kind": "require_collateral", "params": {"percent_of_drawn": 30, "due_in_days": 30}})
    drop, downgrade = warning(line.company_id, "medium"), warning(line.company_id, "medium", rule="tier_downgrade")
    flags = warning(line.company_id, "high", rule="company_red_flags")
    # when
    counts = propose_actions(TODAY)
    # then: one collateral request, for the high warning; the other two wait
    assert (counts["actions_proposed"], counts["actions_already_waiting"]) == (1, 2)
    only = PostLoanAction.objects.get()
    assert (only.kind, only.alert_id, only.amount_needed) == ("require_collateral", flags.pk, Decimal("30000.00"))
    # and once that request is decided, the next live warning gets its own
    PostLoanAction.objects.filter(pk=only.pk).update(status=ActionStatus.REJECTED)
    assert propose_actions(TODAY)["actions_proposed"] == 1
    assert PostLoanAction.objects.exclude(pk=only.pk).get().alert_id == min(drop.pk, downgrade.pk)


def test_a_policy_with_bad_terms_cannot_be_saved():
    policy = ActionPolicy(rule="dpd", severity="high", action_kind="reduce_limit", params={"percent": 130})
    with pytest.raises(ValidationError, match="at most 100"):
        policy.full_clean()
    assert CreditLine.objects.count() == 0


def test_a_protective_freeze_cannot_be_lifted_while_the_score_is_below_the_minimum(line, officer):  # noqa: F811
    scored("company", line.company_id, 533)
    protect_companies([line.company_id], TODAY)
    with pytest.raises(DomainError, match="below the policy minimum") as exc:
        from monitoring.actions import post_loan_action_propose

        post_loan_action_propose(kind="unfreeze_line", credit_line_id=line.pk, actor=officer, on=TODAY)
    assert exc.value.code == "score_below_minimum"
    assert PostLoanAction.objects.count() == 1


@pytest.mark.parametrize("params", [{"percent": "abc"}, {"percent": 150}, {"percent": 10, "new_limit": "1000"}, {}])
def test_a_policy_with_bad_cut_terms_is_refused_on_its_params_field(params):
    policy = ActionPolicy(rule="score_drop", severity="low", action_kind="reduce_limit", params=params)
    with pytest.raises(ValidationError) as caught:
        policy.clean()
    assert list(caught.value.message_dict) == ["params"]


def test_a_nightly_chunk_of_ids_protects_the_same_lines_as_the_whole_book(line, make_line):  # noqa: F811
    # given two companies' lines: one below the minimum, one whose key person is in default
    from monitoring.protection import JIT_OFF_FROM, lines_to_protect
    from tests.factories import CompanyFactory, RelatedPartyFactory

    other = CompanyFactory()
    RelatedPartyFactory(company=other, role="legal_representative")
    second = make_line(target=other)
    scored("company", line.company_id, 533)
    scored("company", other.pk, 700)
    scored("person", other.related_parties.get().person_id, 400, in_default=True)
    # when a chunk as large as the night's (its statement runs without JIT) names them among others
    ids = sorted({line.company_id, other.pk, *range(10**6, 10**6 + JIT_OFF_FROM)})
    # then it finds the same lines as the whole book, and a chunk without them finds none
    assert [i for i, *_ in lines_to_protect(company_ids=ids, as_of=TODAY)] == sorted([line.pk, second.pk])
    assert [i for i, *_ in lines_to_protect(company_ids=None, as_of=TODAY)] == sorted([line.pk, second.pk])
    assert lines_to_protect(company_ids=range(10**6, 10**6 + JIT_OFF_FROM), as_of=TODAY) == []
