"""The nightly run, after its rules: protective freezes at once, then the policy's proposals."""

import pytest
from django.utils import timezone

from loans.choices import CreditLineStatus
from monitoring.models import ActionStatus, Alert, Phase, PostLoanAction, RunStatus, ScoringRun
from monitoring.services import scoring_run_continue
from tests.loans.conftest import TODAY, company, make_line, officer, product  # noqa: F401

from .test_protection_and_proposals import scored

pytestmark = pytest.mark.django_db


def test_after_the_rules_the_night_freezes_and_proposes(make_line, django_user_model):  # noqa: F811
    from loans.models import Company, RelatedParty
    from loans.services.lines import credit_line_draw_down
    from tests.factories import CompanyFactory, PersonFactory

    # given two borrowers: one fell below the minimum, one has a medium score-drop warning
    falling = make_line()
    other = CompanyFactory()
    RelatedParty.objects.create(company=other, person=PersonFactory(), role="legal_representative", valid_from=TODAY)
    watched = make_line(target=Company.objects.get(pk=other.pk))
    credit_line_draw_down(credit_line_id=watched.pk, amount="100000", term_months=12, disbursed_on=TODAY)
    scored("company", falling.company_id, 533)
    scored("company", watched.company_id, 650)
    Alert.objects.create(subject_kind="company", subject_id=watched.company_id, company_id=watched.company_id, first_seen_on=TODAY, last_seen_on=TODAY, rule="score_drop",
                                severity="medium", old_score=720, new_score=650)
    run = ScoringRun.objects.create(as_of=TODAY, status=RunStatus.RUNNING, phase=Phase.ALERTS,
                                    started_at=timezone.now(), phase_started_at=timezone.now())
    # when the run goes on from its rules
    run = scoring_run_continue(run_id=run.pk)
    # then
    assert run.status == RunStatus.SUCCEEDED
    assert (run.counts["lines_frozen"], run.counts["actions_proposed"]) == (1, 1)
    falling.refresh_from_db()
    assert falling.status == CreditLineStatus.FROZEN
    freeze = PostLoanAction.objects.get(kind="freeze_line")
    assert freeze.status == ActionStatus.EXECUTED and freeze.proposed_by is None
    # frozen after the rules: linked at once to the warning that explains it
    assert freeze.alert.rule == "below_minimum"
    proposal = PostLoanAction.objects.get(kind="require_collateral")
    assert proposal.status == ActionStatus.PROPOSED and proposal.credit_line_id == watched.pk
    assert str(proposal.amount_needed) == "20000.00"  # the seeded policy: a fifth of the drawn balance


def test_a_loan_reaching_m3_plus_in_tonights_servicing_puts_its_sister_companies_on_watch_the_same_night(
        make_line, officer):  # noqa: F811
    # given: a borrower that stopped paying 100 days ago (its loan still marked current, as
    # booked) and a sister company with a line sharing its legal representative
    import datetime

    from loans.models import Company, Loan, RelatedParty
    from loans.services.lines import credit_line_draw_down
    from monitoring.services import PHASE_ORDER
    from tests.factories import CompanyFactory

    bad_line = make_line(on=TODAY - datetime.timedelta(days=200))
    loan = credit_line_draw_down(credit_line_id=bad_line.pk, amount="100000", term_months=12,
                                 disbursed_on=TODAY - datetime.timedelta(days=200), actor=officer)
    assert Loan.objects.get(pk=loan.pk).bucket == "current"
    rep = RelatedParty.objects.get(company_id=bad_line.company_id, role="legal_representative").person
    sister = CompanyFactory()
    RelatedParty.objects.create(company=sister, person=rep, role="legal_representative", valid_from=TODAY)
    sister_line = make_line(target=Company.objects.get(pk=sister.pk))
    # when: the night goes on after its rescoring phases
    first_inline = PHASE_ORDER[2]
    run = ScoringRun.objects.create(as_of=TODAY, status=RunStatus.RUNNING, phase=first_inline,
                                    started_at=timezone.now(), phase_started_at=timezone.now())
    run = scoring_run_continue(run_id=run.pk)
    # then: servicing moved the loan to M3+, and the rules of the same night saw it
    assert run.status == RunStatus.SUCCEEDED
    assert Loan.objects.get(pk=loan.pk).bucket == "m3_plus"
    alert = Alert.objects.get(rule="default_contagion", subject_id=sister.pk)
    assert alert.first_seen_on == TODAY and alert.severity == "high" and alert.evidence["source_loans"] == [loan.pk]
    assert sister_line.company_id == sister.pk
    # and the loan itself is past due over 90 days on the same night
    assert Alert.objects.filter(rule="dpd_over", subject_kind="loan", subject_id=loan.pk, severity="high").exists()
