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
    proposal = PostLoanAction.objects.get(kind="require_collateral")
    assert proposal.status == ActionStatus.PROPOSED and proposal.credit_line_id == watched.pk
    assert str(proposal.amount_needed) == "20000.00"  # the seeded policy: a fifth of the drawn balance
