"""The default action policy (migration 0016): a night after new bad data proposes an action for
each rule a bank's book raises, not only for score drops; a policy already edited keeps its edits."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from loans.choices import Role
from loans.models import Collateral, Guarantee
from monitoring.models import ActionPolicy, ActionStatus, PostLoanAction
from monitoring.proposals import propose_actions
from monitoring.rules import rules_evaluate
from tests.factories import PersonFactory

from .test_rules import DAY, Book, _operating

pytestmark = pytest.mark.django_db

migration = importlib.import_module("monitoring.migrations.0016_action_policy_defaults_for_every_rule")


def test_a_night_after_bad_news_proposes_an_action_for_each_rule_of_the_default_policy():
    book = Book()
    # given, on a book of drawn lines: a tier downgrade (B -> C, a 20-point slip: no score drop)
    tier = book.company(drawn="100000.00")
    book.score("company", tier.pk, 690, 710)
    # new lawsuits
    sued = book.company(drawn="100000.00")
    _operating(sued, DAY - datetime.timedelta(days=30))
    _operating(sued, DAY, lawsuits_24m=2)
    # a legal representative whose score fell 80
    boss_of = book.company(drawn="100000.00")
    book.score("person", book.person_behind(boss_of, role=Role.LEGAL_REPRESENTATIVE).pk, 560, 640)
    # a guarantor whose score fell 90
    guaranteed = book.company(drawn="100000.00")
    weak = PersonFactory()
    Guarantee.objects.create(guarantor_person=weak, amount=Decimal("50000.00"), credit_line=guaranteed.line)
    book.score("person", weak.pk, 520, 610)
    # collateral worth 105,000 after haircut against 200,000 drawn (a line's warning)
    thin = book.company(drawn="200000.00")
    Collateral.objects.create(owner=thin, kind="equipment", description="lathe", appraised_value=Decimal("150000.00"),
                              valued_on=DAY, credit_line=thin.line)
    # a loan 120 days past due (a loan's warning)
    late = book.company(drawn="100000.00")
    loan = book.loan(late, dpd=120, bucket="m3_plus")

    # and the lender's own rows for the two rules the defaults leave to it (high volume)
    assert not ActionPolicy.objects.filter(rule__in=["company_red_flags", "dpd_over"]).exists()
    ActionPolicy.objects.create(rule="company_red_flags", severity="medium", action_kind="reduce_limit", params={"percent": 20})
    ActionPolicy.objects.create(rule="dpd_over", severity="high", action_kind="restructure", params={"term_months": 24})

    # when the night runs its rules, then its proposals
    rules_evaluate(as_of=DAY)
    counts = propose_actions(DAY)

    # then each warning has the default policy's action, on the right line or loan
    proposed = {a.alert.rule: a for a in PostLoanAction.objects.select_related("alert").filter(proposed_by__isnull=True)}
    assert {rule: a.kind for rule, a in proposed.items()} == {
        "tier_downgrade": "require_collateral",
        "company_red_flags": "reduce_limit",
        "related_party_deterioration": "add_guarantee",
        "guarantor_deterioration": "add_guarantee",
        "collateral_coverage": "require_collateral",
        "dpd_over": "restructure",
    }
    assert counts["actions_proposed"] == 6 and counts["actions_skipped"] == 0
    assert (proposed["tier_downgrade"].credit_line_id, proposed["tier_downgrade"].amount_needed) == (tier.line.pk, Decimal("20000.00"))
    assert proposed["company_red_flags"].params["new_limit"] == "400000.00"
    assert proposed["related_party_deterioration"].amount_needed == Decimal("50000.00")
    assert proposed["guarantor_deterioration"].credit_line_id == guaranteed.line.pk
    coverage = proposed["collateral_coverage"]
    assert (coverage.credit_line_id, coverage.company_id, coverage.amount_needed) == (thin.line.pk, thin.pk, Decimal("40000.00"))
    restructure = proposed["dpd_over"]
    assert (restructure.loan_id, restructure.credit_line_id, restructure.company_id) == (loan.pk, late.line.pk, late.pk)
    assert restructure.status == ActionStatus.PENDING_COMMITTEE and restructure.params["term_months"] == 24
    assert counts["committee_cases_opened"] == 1
    # and a rerun of the night proposes nothing more
    rules_evaluate(as_of=DAY)
    assert propose_actions(DAY)["actions_proposed"] == 0


def test_the_defaults_never_overwrite_an_edited_policy_and_the_reverse_removes_only_its_own_rows():
    # given a database whose risk manager already set tier downgrades to a guarantee, and has no other new rows
    seeded = {(r, s) for r, s, _k, _p in migration.DEFAULT_POLICIES}
    ActionPolicy.objects.filter(rule__in=[r for r, _s in seeded]).delete()
    ActionPolicy.objects.create(rule="tier_downgrade", severity="medium", action_kind="add_guarantee",
                                params={"percent_of_drawn": 10, "due_in_days": 60})
    # when the migration runs
    migration.add_defaults(apps, None)
    # then the edited row is untouched and the others are added
    rows = {(p.rule, p.severity): p for p in ActionPolicy.objects.all()}
    assert seeded <= set(rows)
    edited = rows[("tier_downgrade", "medium")]
    assert (edited.action_kind, edited.params) == ("add_guarantee", {"percent_of_drawn": 10, "due_in_days": 60})
    assert rows[("related_party_deterioration", "high")].action_kind == "add_guarantee"
    assert ("company_red_flags", "medium") not in rows and ("dpd_over", "high") not in rows  # left to the lender
    # and every default row passes the policy's own check of its terms
    for rule, severity in seeded:
        rows[(rule, severity)].full_clean()
    # when it is reversed: its own rows go, the edited one and the 0006 rows stay
    migration.remove_defaults(apps, None)
    left = set(ActionPolicy.objects.values_list("rule", "severity"))
    assert left == {("tier_downgrade", "medium"), ("score_drop", "high"), ("score_drop", "medium")}

