"""The living demo: simulate_day appends a deterministic day of credit data and repayments;
seed_demo books a portfolio through the services."""

import datetime

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone

from config.demo import starter
from config.demo.credit import (
    COHORT_SHARES,
    GRADUAL,
    IMPROVING,
    SHARP,
    SIMULATED_SOURCE,
    THROUGH_PARTY,
    _write,
    company_cohorts,
)
from config.demo.portfolio import (
    DEMO_PARTNER,
    LATE,
    NEVER,
    ON_TIME,
    book_demo_portfolio,
    demo_partner_file,
    payer_behaviours,
)
from loans.models import Installment, Loan, RelatedParty, Repayment
from scoring.features import COMPANY_FEATURES, PERSON_FEATURES
from scoring.models import CompanyCreditSnapshot, PersonCreditSnapshot

pytestmark = pytest.mark.django_db

SEED = 5
PERSON = {**starter.GOOD_PERSON, "worst_dpd_24m": 0, "payment_regularity": 0.9, "defaults_60m": 0}
COMPANY = {**starter.GOOD_COMPANY, "revenue_trend": 0.05, "overdue_payables_ratio": 0.02, "cashflow_volatility": 0.3,
           "admin_penalties_24m": 0}


def _base():
    return timezone.localdate() - datetime.timedelta(days=60)


@pytest.fixture
def demo():
    """400 demo companies and their people, each with one good snapshot 90 days before the base date."""
    from loans.models import Company, Person

    base = _base()
    call_command("seed_demo", companies=400, seed=SEED, as_of=base, no_scoring=True)
    now = timezone.now()
    p_ids = np.array(sorted(Person.objects.values_list("id", flat=True)))
    c_ids = np.array(sorted(Company.objects.values_list("id", flat=True)))
    _write("scoring_personcreditsnapshot", {"as_of": base - datetime.timedelta(days=90), "source": "demo", "created_at": now},
           {"person_id": p_ids, "in_default": np.zeros(len(p_ids), dtype=bool),
            **{f.name: np.full(len(p_ids), float(PERSON.get(f.name, np.nan))) for f in PERSON_FEATURES}},
           {f.name for f in PERSON_FEATURES if f.integer})
    _write("scoring_companycreditsnapshot", {"as_of": base - datetime.timedelta(days=90), "source": "demo", "created_at": now},
           {"company_id": c_ids,
            **{f.name: np.full(len(c_ids), float(COMPANY.get(f.name, np.nan))) for f in COMPANY_FEATURES}},
           {f.name for f in COMPANY_FEATURES if f.integer})
    return base, c_ids


def _day(as_of):
    companies = list(CompanyCreditSnapshot.objects.filter(as_of=as_of, source=SIMULATED_SOURCE).order_by("company_id")
                     .values_list("company_id", "revenue_trend", "overdue_payables_ratio", "lawsuits_24m"))
    persons = list(PersonCreditSnapshot.objects.filter(as_of=as_of, source=SIMULATED_SOURCE).order_by("person_id")
                   .values_list("person_id", "in_default", "ontime_ratio_24m", "worst_dpd_24m"))
    return companies, persons


def test_the_behaviours_have_their_shares_and_stay_with_a_company():
    ids = np.arange(1, 200_001)
    cohorts = company_cohorts(ids, SEED)
    for name, share in COHORT_SHARES:
        assert abs((cohorts == name).mean() - share) < 0.004, name
    assert abs((cohorts == "").mean() - 0.80) < 0.005  # most are steady
    assert (company_cohorts(ids[:1000], SEED) == cohorts[:1000]).all()  # the same every day
    assert (company_cohorts(ids[:1000], SEED + 1) != cohorts[:1000]).any()  # another seed, another demo
    payers = payer_behaviours(range(1, 50_001), SEED)
    assert abs(payers.count(LATE) / 50_000 - 0.10) < 0.01
    assert abs(payers.count(NEVER) / 50_000 - 0.05) < 0.01
    assert payers.count(ON_TIME) > 0.8 * 50_000


def test_a_day_is_deterministic_for_a_seed_and_appended_once(demo):
    base, c_ids = demo
    day = base + datetime.timedelta(days=1)
    call_command("simulate_day", as_of=day, seed=SEED)
    first = _day(day)
    cohorts = dict(zip(c_ids.tolist(), company_cohorts(c_ids, SEED).tolist()))
    # only the companies that move got new data; steady ones none
    assert first[0] and {cohorts[c[0]] for c in first[0]} <= {SHARP, GRADUAL, IMPROVING, THROUGH_PARTY}
    assert len(first[0]) == sum(1 for v in cohorts.values() if v)
    # sharp ones fell hard, improving ones got better
    good_trend = COMPANY["revenue_trend"]
    for cid, trend, _, _ in first[0]:
        if cohorts[cid] == SHARP:
            assert trend < good_trend - 0.1
        if cohorts[cid] == IMPROVING:
            assert trend > good_trend
    # the people who moved are the legal representatives of the companies sliding through them
    reps = set(RelatedParty.objects.filter(
        company_id__in=[c for c, v in cohorts.items() if v == THROUGH_PARTY], role="legal_representative"
    ).values_list("person_id", flat=True))
    assert {p[0] for p in first[1]} == reps
    # running the day again appends nothing
    call_command("simulate_day", as_of=day, seed=SEED)
    assert CompanyCreditSnapshot.objects.filter(as_of=day).count() == len(first[0])
    # and the same seed gives the same day from the same start
    CompanyCreditSnapshot.objects.filter(as_of=day).delete()
    PersonCreditSnapshot.objects.filter(as_of=day).delete()
    call_command("simulate_day", as_of=day, seed=SEED)
    assert _day(day) == first


def test_related_parties_slide_into_default_over_a_few_days(demo):
    base, _ = demo
    for n in range(1, 5):
        call_command("simulate_day", as_of=base + datetime.timedelta(days=n), seed=SEED)
    last = _day(base + datetime.timedelta(days=4))[1]
    assert last and all(dflt for _, dflt, _, _ in last)  # 28+ days past due a day: past 90 by day 4


def test_seed_demo_books_loans_through_the_services_and_days_bring_repayments(demo):
    base, _ = demo
    starter.promote_starter_champions()
    counts = book_demo_portfolio(seed=SEED, as_of=base, share=0.1)
    assert counts["loans"] > 10 and counts["loans"] == Loan.objects.count()
    # when: every day until the first installments are all due and a week past
    first_due = Installment.objects.filter(number=1).order_by("due_date")
    start, end = first_due.first().due_date, first_due.last().due_date + datetime.timedelta(days=8)
    assert end <= timezone.localdate()
    day = start
    while day <= end:
        call_command("simulate_day", as_of=day, seed=SEED)
        day += datetime.timedelta(days=1)
    # then: on-time payers paid their first installment on its due date, late payers a week
    # later, the others not at all
    loans = sorted(Loan.objects.values_list("id", flat=True))
    for loan_id, behaviour in zip(loans, payer_behaviours(loans, SEED)):
        first = Installment.objects.get(loan_id=loan_id, number=1)
        if behaviour == ON_TIME:
            assert first.paid_on == first.due_date
        elif behaviour == LATE:
            assert first.paid_on == first.due_date + datetime.timedelta(days=7)
        else:
            assert first.paid_on is None
    # and a day run twice records nothing twice
    before = Repayment.objects.count()
    call_command("simulate_day", as_of=start, seed=SEED)
    assert Repayment.objects.count() == before


def test_part_of_the_demo_portfolio_is_the_demo_partners_so_its_events_reach_a_partner(demo):
    # given: the demo population with a share moved into the demo partner's file
    from loans.models import Company, CreditLine, Partner

    starter.promote_starter_champions()
    partner = demo_partner_file(seed=SEED)
    # then: whole files moved, a company and its people in one file
    assert partner.name == DEMO_PARTNER and partner.companies.count() >= 60
    assert not RelatedParty.objects.exclude(person__partner_id=F("company__partner_id")).exclude(
        person__partner__isnull=True, company__partner__isnull=True).exists()
    assert Company.objects.filter(partner__isnull=True).exists()
    # when: the portfolio is booked
    book_demo_portfolio(seed=SEED, as_of=demo[0], share=0.3)
    # then: the partner's companies' lines and loans are the partner's (events go to it), the others the lender's
    ours = CreditLine.objects.filter(company__partner=partner)
    assert ours.exists() and not ours.exclude(partner=partner).exists()
    assert Loan.objects.filter(partner=partner).exists()
    assert not CreditLine.objects.filter(company__partner__isnull=True).exclude(partner__isnull=True).exists()
    # and a second call moves no one else
    moved = partner.companies.count()
    again = demo_partner_file(seed=SEED)
    assert again.pk == partner.pk and again.companies.count() == moved
    assert Partner.objects.filter(name=DEMO_PARTNER).count() == 1


def test_a_day_the_nightly_run_would_refuse_is_not_simulated(demo):
    # given: tomorrow, which the value dates' tolerance accepts but the nightly run refuses
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    # when / then: refused, naming the date, and nothing appended
    with pytest.raises(CommandError, match=f"--as-of {tomorrow} is in the future"):
        call_command("simulate_day", as_of=tomorrow, seed=SEED)
    assert not CompanyCreditSnapshot.objects.filter(as_of=tomorrow).exists()
    assert not PersonCreditSnapshot.objects.filter(as_of=tomorrow).exists()
