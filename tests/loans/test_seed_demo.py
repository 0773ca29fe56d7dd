import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from stdnum.cn import ric, uscc

from config.demo import borrowers
from config.demo.models import SyntheticTruth
from loans.choices import Role
from loans.models import Company, LoanProduct, Person, RelatedParty

AS_OF = datetime.date(2026, 11, 1)


def test_generation_is_deterministic_for_a_seed():
    a = borrowers.generate(companies=300, seed=5, as_of=AS_OF)
    b = borrowers.generate(companies=300, seed=5, as_of=AS_OF)
    c = borrowers.generate(companies=300, seed=6, as_of=AS_OF)
    assert a.companies == b.companies and a.persons == b.persons and a.roles == b.roles
    assert a.companies != c.companies


def test_generated_population_is_valid_and_has_shared_people():
    pop = borrowers.generate(companies=800, seed=3, as_of=AS_OF)
    assert all(uscc.is_valid(c[2]) for c in pop.companies)
    assert all(ric.is_valid(p[2]) for p in pop.persons)
    assert len({c[2] for c in pop.companies}) == 800
    assert len({p[2] for p in pop.persons}) == len(pop.persons)
    # about three people per company, some controlling persons shared between companies
    assert 2.2 < len(pop.persons) / 800 < 3.5
    legal_reps = Counter(p for c, p, role, pct, since in pop.roles if role == Role.LEGAL_REPRESENTATIVE)
    assert sum(1 for n in legal_reps.values() if n > 1) > 20
    held = Counter()
    for c, _p, _role, pct, _since in pop.roles:
        if pct is not None:
            held[c] += pct
    assert max(held.values()) <= Decimal("100")


@pytest.mark.django_db
def test_seed_demo_loads_everything(capsys):
    call_command("seed_demo", companies=150, seed=11, as_of=AS_OF, no_scoring=True)
    out = capsys.readouterr().out
    assert "companies_per_s:" in out
    assert Company.objects.count() == 150
    assert LoanProduct.objects.filter(code="sme-revolving").exists()
    assert SyntheticTruth.objects.count() == 150 + Person.objects.count()
    over = (
        RelatedParty.objects.filter(ownership_pct__isnull=False)
        .values("company").annotate(t=Sum("ownership_pct")).filter(t__gt=100)
    )
    assert not over.exists()
    shared = Person.objects.annotate(n=Count("roles__company", distinct=True)).filter(n__gt=1)
    assert shared.exists()
    # a second run with --if-empty does nothing
    call_command("seed_demo", companies=150, seed=11, as_of=AS_OF, if_empty=True, no_scoring=True)
    assert Company.objects.count() == 150
    # and a person's personal data is encrypted and masked
    person = Person.objects.first()
    assert ric.is_valid(person.reveal_resident_id())
    assert person.resident_id_masked == person.reveal_resident_id()[:2] + "*" * 12 + person.reveal_resident_id()[-4:]
    assert person.birth_year == int(person.reveal_resident_id()[6:10])


@pytest.mark.django_db(transaction=True)
def test_the_living_demo_ends_yesterday_so_its_next_day_can_be_simulated_and_rescored(capsys):
    # given: make run's seed, with one simulated day
    from django.utils import timezone

    from monitoring.models import RunStatus, ScoringRun

    today = timezone.localdate()
    call_command("seed_demo", companies=400, seed=7, simulate_days=1)
    # then: the simulated day is yesterday, and the seed says which day comes next
    assert list(ScoringRun.objects.values_list("as_of", flat=True)) == [today - datetime.timedelta(days=1)]
    assert f"next day: manage.py simulate_day --as-of {today}" in capsys.readouterr().out
    # when: the newcomer's next day, simulate_day then rescore
    call_command("simulate_day", as_of=today, seed=7)
    call_command("rescore", as_of=today, sync=True)
    # then: the nightly run for it succeeded
    assert ScoringRun.objects.get(as_of=today).status == RunStatus.SUCCEEDED
